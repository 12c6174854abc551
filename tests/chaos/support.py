"""What the chaos test drives and watches: adapter replicas as processes that can be killed and
restarted, the commands it sends, the events it sees, and the broker's queues."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from adapter.bus.address import broker_urls
from adapter.bus.connection import FailoverConnection
from adapter.bus.topology import (
    COMMANDS_EXCHANGE,
    DEAD_QUEUE,
    EVENTS_EXCHANGE,
    ORDER_RECEIVED,
    TopologySettings,
    declare_topology,
)
from tests.support.broker import Broker
from tests.support.commands import KIB, SIGNATURE, command_body, document_data, inline, pdf_bytes
from tests.support.processes import AdapterProcess, free_port

EXPERT = "39115-661768-26(20190905)"
PROCESSING_STARTED = "Обработка началась"
READY_LINE = "ready for commands"  # every replica logs it, the commands owner and the others


def vhost_of(amqp_url: str) -> str:
    return unquote(urlsplit(amqp_url).path.lstrip("/"))


# --- the adapter replicas -----------------------------------------------------------------------


class Replica:
    """`dezo-adapter run` (both roles) as a process that can be killed, stopped and restarted;
    each start gets an operations port and a log file of its own."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self._env = env
        self._log_dir = log_dir
        self._process: AdapterProcess | None = None
        self.starts = 0
        self.http_port = 0

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.popen.pid

    def start(self) -> None:
        self.starts += 1
        self.http_port = free_port()
        env = {**self._env, "DEZO_HTTP_PORT": str(self.http_port)}
        log = self._log_dir / f"{self.name}-{self.starts}.log"
        self._process = AdapterProcess(env, log).start()

    def wait_until_consuming(self, seconds: float = 60) -> None:
        assert self._process is not None
        self._process.wait_until_logged(READY_LINE, within=seconds)

    def kill(self) -> None:
        """SIGKILL: no grace, whatever it was doing."""
        assert self._process is not None
        self._process.stop("kill")

    def terminate(self, seconds: float = 40) -> int:
        """SIGTERM and wait for the graceful stop; returns the exit code."""
        return self._process.stop("terminate", within=seconds) if self._process else 0


# --- what ONCOR holds ---------------------------------------------------------------------------


def started_marks(order: dict[str, Any]) -> int:
    """How often the order was set to `Обработка началась` (documents set other statuses)."""
    return sum(
        1 for status in order["status_history"] if status.get("status") == PROCESSING_STARTED
    )


def document_key(document: dict[str, Any]) -> tuple[str, str]:
    """(order id, document class): the emulator keeps documents as ONCOR records."""
    body = next(value for key, value in document.items() if key.startswith("rc_tm66_order_"))
    return str(body["order_id"]), str(document["class_name"])


DOCUMENT_CLASSES = {
    "order.reject": "RcTm66OrderReject",
    "order.conclusion": "RcTm66OrderConclusion",
    "order.expertise-dicom": "RcTm66OrderExpertiseDicom",
    "order.expertise-protocol": "RcTm66OrderExpertiseProtocol",
}


def outcomes_disagreeing_with_oncor(
    outcomes: dict[str, dict[str, Any]],
    documents: list[dict[str, Any]],
    orders: dict[str, dict[str, Any]],
) -> list[tuple[str, dict[str, Any]]]:
    """Outcomes that say what ONCOR does not hold: a success without its document (or status),
    a failure whose document exists all the same."""
    by_id = {document["id"]: document_key(document) for document in documents}
    held = set(by_id.values())
    wrong = []
    for command_id, outcome in outcomes.items():
        command, order_id = outcome["command"], outcome["order_id"]
        if command == "order.associate-dicom":
            statuses = [entry.get("status") for entry in orders[order_id]["status_history"]]
            done = "Ассоциация DICOM" in statuses
            agrees = done if "record_id" in outcome else not done
        elif "record_id" in outcome:
            agrees = by_id.get(outcome["record_id"]) == (order_id, DOCUMENT_CLASSES[command])
        else:
            agrees = (order_id, DOCUMENT_CLASSES[command]) not in held
        if not agrees:
            wrong.append((command_id, outcome))
    return wrong


# --- commands -----------------------------------------------------------------------------------


def commands_for(index: int, order_id: str) -> list[tuple[str, dict[str, Any]]]:
    """One or two commands per order, of different kinds: each kind makes at most one document.

    Every fourth order each gets a conclusion (PDF and signature), a reject, both expertises,
    or a DICOM association followed by a conclusion.
    """
    conclusion = document_data(
        "order.conclusion",
        order_id,
        pdf=inline(pdf_bytes(2 * KIB)),
        signature=inline(SIGNATURE, "conclusion.pdf.sig", "application/pkcs7-signature"),
    )
    kind = index % 4
    if kind == 0:
        return [("order.conclusion", conclusion)]
    if kind == 1:
        return [("order.reject", document_data("order.reject", order_id))]
    if kind == 2:
        return [
            ("order.expertise-dicom", document_data("order.expertise-dicom", order_id)),
            ("order.expertise-protocol", document_data("order.expertise-protocol", order_id)),
        ]
    study = f"https://pacs.example/studies/{order_id.lstrip('#').replace(':', '-')}"
    return [
        ("order.associate-dicom", {"order_id": order_id, "ris_dicom": study}),
        ("order.conclusion", conclusion),
    ]


def command_message(
    command: str, data: dict[str, Any], command_id: str | None = None
) -> tuple[str, aio_pika.Message]:
    command_id, body = command_body(command, data, command_id)
    message = aio_pika.Message(
        body,
        content_type="application/cloudevents+json",
        message_id=command_id,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    return command_id, message


# --- the bus, as the other services see it ------------------------------------------------------


@dataclass
class Seen:
    """Everything the test saw on `dezo.events`, by id."""

    announced: Counter[str] = field(default_factory=Counter)  # order id -> deliveries
    outcome_ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    outcome_deliveries: Counter[str] = field(default_factory=Counter)  # outcome event id -> n
    outcome_kinds: Counter[str] = field(default_factory=Counter)  # routing key -> distinct ids
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)  # command id -> data
    answers: Counter[str] = field(default_factory=Counter)  # command id -> outcome deliveries

    async def on_order(self, message: AbstractIncomingMessage) -> None:
        self.announced[message.correlation_id or ""] += 1
        await message.ack()

    async def on_outcome(self, message: AbstractIncomingMessage) -> None:
        command_id, event_id = message.correlation_id or "", message.message_id or ""
        if event_id not in self.outcome_ids[command_id]:
            self.outcome_kinds[message.routing_key or ""] += 1
        self.outcome_ids[command_id].add(event_id)
        self.outcomes[command_id] = json.loads(message.body)["data"]
        self.answers[command_id] += 1
        self.outcome_deliveries[event_id] += 1
        await message.ack()


class ChaosBus:
    """The test's own robust connection (to any node of `amqp_url`'s list): quorum queues,
    acked after recording, so that connection closes, a broker restart and the loss of a
    cluster node lose none of what the adapter announced."""

    def __init__(self, connection: AbstractRobustConnection, seen: Seen) -> None:
        self._connection = connection
        self.seen = seen
        self._channel: aio_pika.abc.AbstractRobustChannel | None = None

    @classmethod
    async def connect(cls, amqp_url: str, topology: TopologySettings) -> ChaosBus:
        connection = FailoverConnection(broker_urls(amqp_url), reconnect_interval=0.5)
        await connection.connect()
        bus = cls(connection, Seen())
        setup = await connection.channel()
        await declare_topology(setup, topology)
        quorum = {"x-queue-type": "quorum"}
        orders = await setup.declare_queue("chaos.orders", durable=True, arguments=quorum)
        await orders.bind(EVENTS_EXCHANGE, ORDER_RECEIVED)
        outcomes = await setup.declare_queue("chaos.outcomes", durable=True, arguments=quorum)
        await outcomes.bind(EVENTS_EXCHANGE, "command.#")
        await orders.consume(bus.seen.on_order)
        await outcomes.consume(bus.seen.on_outcome)
        bus._channel = await connection.channel(publisher_confirms=True)
        return bus

    async def publish(self, message: aio_pika.Message, routing_key: str) -> bool:
        """True once confirmed; False when the broker may or may not have taken it."""
        assert self._channel is not None
        try:
            async with asyncio.timeout(5):
                exchange = await self._channel.get_exchange(COMMANDS_EXCHANGE, ensure=False)
                await exchange.publish(message, routing_key=routing_key)
        except Exception:
            return False
        return True

    async def dead_letters(self) -> list[dict[str, Any]]:
        """The headers of every dead letter (taken off the queue)."""
        channel = await self._connection.channel()
        queue = await channel.declare_queue(DEAD_QUEUE, passive=True)
        headers = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            headers.append(dict(message.headers))
        await channel.close()
        return headers

    async def close(self) -> None:
        await self._connection.close()


def queue_depths(broker: Broker, vhost: str) -> dict[str, tuple[int, int]]:
    """Every queue of the vhost: (ready messages, unacknowledged messages)."""
    listing = broker.ctl(
        "list_queues", "-p", vhost, "name", "messages_ready", "messages_unacknowledged",
        "--formatter", "json",
    )  # fmt: skip
    return {
        queue["name"]: (int(queue["messages_ready"]), int(queue["messages_unacknowledged"]))
        for queue in json.loads(listing)
    }
