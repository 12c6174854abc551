"""The command consumer: takes commands off `dezo.commands` and settles every one of them.

    dezo.commands --> intake (read + validate) --valid--> dezo.commands.partition.K (by order)
                          | unreadable                          |
                          v                                     v
                      settlement           dispatcher (per-order lock, handler) -> decision
                          |                                     |
                          +--> outcome event (+ reply_to), dead letter, or retry queue
                               --> ack, only after every publish was confirmed

Any replica reads the intake queue. Each partition queue has a single active consumer, so all
commands of one order are handled by one replica at a time, one after the other. A replica that
loses a partition's channel abandons that partition's work at once. A command the partition
delivers again (its former owner lost its channel, or gave it back) may have a write of that
owner still in flight: it goes through the hand-over queue first, which holds it for
`oncor_write_horizon`, so that when it is handled that write has landed (or never will) and is
found. Waiting in the broker, not in a replica, the wait survives the next connection loss and
costs no delivery attempt.

Up to `command_prefetch` commands are in flight, fewer if the memory budget needs it (see
budget), split between the intake and the partitions; what happens to each delivery is in
deliveries. On `stop`: no new deliveries, in-flight ones get `shutdown_grace` seconds, the rest
are cancelled unacked and go back to their queue.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aio_pika.abc import AbstractIncomingMessage

from adapter.bus.connection import Bus
from adapter.bus.subscription import Gate, OnMessage, Subscription
from adapter.bus.topology import COMMANDS_QUEUE, partition_queue_name
from adapter.consumer.budget import CommandBudget
from adapter.consumer.deliveries import CommandDeliveries
from adapter.consumer.dictionaries import DictionaryCache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumerSettings:
    partitions: int  # partition queues, `DEZO_COMMAND_PARTITIONS`
    prefetch: int  # deliveries in flight, already lowered to fit the memory budget
    dictionary_refresh_interval: float
    shutdown_grace: float


@dataclass(frozen=True)
class PrefetchSplit:
    intake: int
    per_partition: int

    @property
    def downloads_per_partition(self) -> int:
        """Downloads by URL one partition may run at once, each holding one of its deliveries:
        one fewer than its deliveries, so that commands without downloads always get through
        (with one delivery per partition, a download holds its partition: README)."""
        return max(1, self.per_partition - 1)


def split_prefetch(prefetch: int, partitions: int) -> PrefetchSplit:
    """Bodies in flight, intake and partitions together, stay within the memory budget's
    prefetch (see budget), however many partitions one replica holds. The intake's work is
    short (read, forward): an eighth keeps it ahead, the partitions get the rest."""
    intake = max(1, prefetch // 8)
    return PrefetchSplit(intake, max(1, (prefetch - intake) // partitions))


class CommandConsumer:
    def __init__(
        self,
        settings: ConsumerSettings,
        bus: Bus,
        deliveries: CommandDeliveries,
        dictionaries: DictionaryCache,
        budget: CommandBudget,
        oncor_down: Gate,
    ) -> None:
        self._settings = settings
        self._dictionaries = dictionaries
        self._budget = budget
        split = split_prefetch(settings.prefetch, settings.partitions)
        self._intake = Subscription(
            bus,
            COMMANDS_QUEUE,
            self._within_budget(deliveries.on_intake),
            prefetch=split.intake,
        )
        self._partitions: list[Subscription] = []
        for index in range(settings.partitions):
            partition = Subscription(
                bus,
                partition_queue_name(index),
                self._within_budget(deliveries.on_command),
                prefetch=split.per_partition,
                pause_while=oncor_down,  # the intake never calls ONCOR: it keeps going
            )
            self._partitions.append(partition)

    def _within_budget(self, handle: OnMessage) -> OnMessage:
        async def admitted(message: AbstractIncomingMessage) -> None:
            async with self._budget.holding(len(message.body)):
                await handle(message)

        return admitted

    @property
    def subscriptions(self) -> list[Subscription]:
        return [self._intake, *self._partitions]

    @property
    def consuming(self) -> bool:
        """The broker delivers the intake and every partition to this replica, or would as soon
        as the replica now active on a partition goes away; partitions paused while ONCOR is
        down count as standing."""
        return all(sub.consuming or sub.paused for sub in self.subscriptions)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then finish in-flight commands and return."""
        if not await self._dictionaries.load_until_ready(stop):
            return
        refresher = asyncio.create_task(
            self._dictionaries.keep_fresh(self._settings.dictionary_refresh_interval, stop)
        )
        announcing = asyncio.create_task(self._announce_consuming())
        try:
            await asyncio.gather(*(sub.run(stop) for sub in self.subscriptions))
        finally:
            announcing.cancel()
            refresher.cancel()
            await asyncio.gather(refresher, return_exceptions=True)
            await self._finish()

    async def _announce_consuming(self) -> None:
        await asyncio.gather(*(sub.registered.wait() for sub in self.subscriptions))
        log.info("consuming commands", extra={"partitions": len(self._partitions)})

    async def _finish(self) -> None:
        grace = self._settings.shutdown_grace
        await asyncio.gather(*(sub.finish(grace) for sub in self.subscriptions))
        await asyncio.gather(*(sub.close() for sub in self.subscriptions))
        log.info("command consumer stopped")
