"""The whole RabbitMQ topology of the adapter, declared in one place.

dezo.commands (topic) --order.*--> [dezo.commands] (quorum, delivery limit)
                                     consumed by the replica that holds the commands ownership
     rejected past the delivery limit, or dead-lettered by the consumer with the reason in headers
dezo.dead (fanout) ----------------> [dezo.commands.dead]
(default exchange) --> [dezo.commands.retry.<TTL>ms] --dead-letter--> [dezo.commands]
                       one per retry delay, and one for the hand-over delay
dezo.events (topic): order.received, command.succeeded.<command>, command.failed.<command>
[dezo.poller.leadership]  (quorum, single active consumer): whoever holds its token polls ONCOR
[dezo.commands.ownership] (quorum, single active consumer): whoever holds its token consumes
                          dezo.commands, so that one replica at a time handles an order

Every queue is a quorum queue, replicated on `quorum_replicas` nodes (RabbitMQ takes every node
when the cluster has fewer), so that the loss of any one node of three loses no message and
stops no queue: a new leader is elected among the replicas left, in seconds, and consumers and
publishers carry on through their connections to the surviving nodes. With a majority of a
queue's replicas gone it has no leader: publishes to it are not confirmed (the adapter waits,
its order stays unmarked), nothing is delivered, and acknowledgements wait (a command already
handled is redelivered and recognised by its id); all of it resumes once a majority is back.
Nothing is lost either way: a quorum queue confirms a message once a majority has it on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    ExchangeType,
)
from pamqp.common import FieldTable

EVENTS_EXCHANGE = "dezo.events"
COMMANDS_EXCHANGE = "dezo.commands"
DEAD_EXCHANGE = "dezo.dead"
COMMANDS_QUEUE = "dezo.commands"
DEAD_QUEUE = "dezo.commands.dead"
RETRY_QUEUE_PREFIX = "dezo.commands.retry."
# Quorum since the cluster work: a classic queue lives on one node and stops with it, which would
# stop the polling. A new name, since a queue cannot change its type (README, Deployment).
LEADER_QUEUE = "dezo.poller.leadership"
# A token, not a single active consumer on dezo.commands itself: that queue's arguments are
# fixed since its first release, and RabbitMQ ignores `exclusive` consumers on quorum queues.
COMMANDS_OWNER_QUEUE = "dezo.commands.ownership"
#: Queues of an earlier release, by order id; emptied into dezo.commands (consumer.legacy).
LEGACY_PARTITION_PREFIX = "dezo.commands.partition."

ORDER_RECEIVED = "order.received"
COMMAND_TYPES = (
    "order.associate-dicom",
    "order.reject",
    "order.conclusion",
    "order.expertise-dicom",
    "order.expertise-protocol",
)


def succeeded_key(command: str) -> str:
    return f"command.succeeded.{command}"


def failed_key(command: str) -> str:
    return f"command.failed.{command}"


def retry_queue_name(delay: float) -> str:
    """`dezo.commands.retry.5000ms`: the name carries the TTL, so changing the configured delays
    makes new queues instead of clashing with the arguments of existing ones."""
    return f"{RETRY_QUEUE_PREFIX}{round(delay * 1000)}ms"


@dataclass(frozen=True)
class TopologySettings:
    """Knobs of the topology; the names themselves are fixed by the bus contract."""

    delivery_limit: int = 5
    # Replicas of each quorum queue (`x-quorum-initial-group-size`): 3 survives one node lost.
    # More replicas survive more losses but slow every confirm; RabbitMQ uses every node when
    # the cluster has fewer (a single broker: one replica, no fault tolerance).
    quorum_replicas: int = 3
    retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 600.0)
    # A redelivered command waits this long in a retry queue before it is handled again (see
    # consumer.service); the queue is shared with a retry delay of the same length.
    handover_delay: float = 35.0


@dataclass
class DeclaredTopology:
    events: AbstractExchange
    commands: AbstractExchange
    dead: AbstractExchange
    commands_queue: AbstractQueue
    dead_queue: AbstractQueue
    leader_queue: AbstractQueue
    commands_owner_queue: AbstractQueue
    retry_queues: list[AbstractQueue] = field(default_factory=list)


async def declare_topology(
    channel: AbstractChannel, settings: TopologySettings | None = None
) -> DeclaredTopology:
    """Declare every exchange, queue and binding; idempotent, so it runs at every (re)connect."""
    settings = settings or TopologySettings()
    events = await channel.declare_exchange(EVENTS_EXCHANGE, ExchangeType.TOPIC, durable=True)
    commands = await channel.declare_exchange(COMMANDS_EXCHANGE, ExchangeType.TOPIC, durable=True)
    dead = await channel.declare_exchange(DEAD_EXCHANGE, ExchangeType.FANOUT, durable=True)

    quorum: FieldTable = {
        "x-queue-type": "quorum",
        "x-quorum-initial-group-size": settings.quorum_replicas,
    }
    command_arguments: FieldTable = {
        **quorum,
        # A message that keeps crashing consumers stops after this many deliveries.
        "x-delivery-limit": settings.delivery_limit,
        "x-dead-letter-exchange": DEAD_EXCHANGE,
        # Quorum queues dead-letter at most once unless told otherwise.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    commands_queue = await channel.declare_queue(
        COMMANDS_QUEUE, durable=True, arguments=command_arguments
    )
    for command in COMMAND_TYPES:
        await commands_queue.bind(commands, routing_key=command)

    # No delivery limit where messages are meant to come back: `dead list` returns what it
    # shows, and the leader requeues its token every renewal.
    dead_queue = await channel.declare_queue(DEAD_QUEUE, durable=True, arguments=quorum)
    await dead_queue.bind(dead)

    retry_queues = []
    for delay in sorted({*settings.retry_delays, settings.handover_delay}):
        retry_queues.append(
            await channel.declare_queue(
                retry_queue_name(delay),
                durable=True,
                arguments={
                    **quorum,
                    "x-message-ttl": int(delay * 1000),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": COMMANDS_QUEUE,
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )
        )

    token_queue: FieldTable = {**quorum, "x-single-active-consumer": True, "x-max-length": 1}
    leader_queue = await channel.declare_queue(LEADER_QUEUE, durable=True, arguments=token_queue)
    commands_owner_queue = await channel.declare_queue(
        COMMANDS_OWNER_QUEUE, durable=True, arguments=token_queue
    )
    return DeclaredTopology(
        events=events,
        commands=commands,
        dead=dead,
        commands_queue=commands_queue,
        dead_queue=dead_queue,
        leader_queue=leader_queue,
        commands_owner_queue=commands_owner_queue,
        retry_queues=retry_queues,
    )
