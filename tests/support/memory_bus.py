"""An in-memory bus: what the services publish is recorded; deliveries are simple fakes.

`MemoryBus` stands where `Bus` does for publishing (the `Outbox` Protocol); `delivery(...)`
builds an incoming message as the broker would hand it over, and records how it was settled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from adapter.bus.envelope import CONTENT_TYPE
from adapter.bus.topology import COMMANDS_EXCHANGE, TopologySettings, retry_queue_name
from tests.support.commands import command_body


@dataclass(frozen=True)
class Published:
    exchange: str
    routing_key: str
    message: aio_pika.Message
    mandatory: bool

    @property
    def headers(self) -> dict[str, Any]:
        return dict(self.message.headers)

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.message.body)
        return parsed

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.event["data"]
        return data


class MemoryBus:
    """Publishes are confirmed at once, unless `refuse_publishes` says otherwise."""

    def __init__(self, topology: TopologySettings | None = None) -> None:
        self._topology = topology or TopologySettings()
        self.published: list[Published] = []
        self.refuse_publishes: Exception | None = None

    async def publish(
        self, exchange: str, routing_key: str, message: aio_pika.Message, *, mandatory: bool = True
    ) -> None:
        if self.refuse_publishes is not None:
            raise self.refuse_publishes
        self.published.append(Published(exchange, routing_key, message, mandatory))

    def retry_queue(self, step: int) -> str:
        return retry_queue_name(self._topology.retry_delays[step - 1])

    @property
    def handover_queue(self) -> str:
        return retry_queue_name(self._topology.handover_delay)

    def to(self, exchange: str, routing_key: str | None = None) -> list[Published]:
        return [
            sent
            for sent in self.published
            if sent.exchange == exchange and routing_key in (None, sent.routing_key)
        ]


@dataclass
class FakeDelivery:
    """The parts of `AbstractIncomingMessage` the consumer reads; `settled` says how it ended."""

    body: bytes
    routing_key: str
    exchange: str = COMMANDS_EXCHANGE
    headers: dict[str, Any] = field(default_factory=dict)
    reply_to: str | None = None
    message_id: str | None = None
    redelivered: bool = False
    content_type: str | None = CONTENT_TYPE
    content_encoding: str | None = None
    correlation_id: str | None = None
    type: str | None = None
    timestamp: datetime | None = None
    app_id: str | None = None
    settled: str | None = None  # "ack", "nack", "requeue"

    async def ack(self, multiple: bool = False) -> None:
        self.settled = "ack"

    async def nack(self, multiple: bool = False, requeue: bool = True) -> None:
        self.settled = "requeue" if requeue else "nack"

    async def reject(self, requeue: bool = False) -> None:
        self.settled = "requeue" if requeue else "nack"


def delivery(fake: FakeDelivery) -> AbstractIncomingMessage:
    """The fake, typed as what the consumer receives."""
    return cast(AbstractIncomingMessage, fake)


def command_delivery(
    name: str, data: dict[str, Any], *, command_id: str = "cmd-1", **properties: Any
) -> FakeDelivery:
    """A command as it arrives in `dezo.commands` from the `dezo.commands` exchange."""
    return FakeDelivery(
        command_body(name, data, command_id)[1],
        routing_key=name,
        message_id=command_id,
        **properties,
    )
