"""The publisher in this process against the emulator, and a collector of its events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from adapter.bus.connection import Bus
from adapter.bus.topology import EVENTS_EXCHANGE, ORDER_RECEIVED, declare_topology
from adapter.config import Settings
from adapter.emulator.process import EmulatorProcess
from adapter.observability import metrics
from adapter.oncor.client import OncorClient
from adapter.publisher.service import OrderPublisher
from adapter.runner import build_oncor_client, build_publisher
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.settings import settings_for

COLLECTOR_QUEUE = "test.order-received"


#: A fast test: short interval, small timeouts, quick retries.
PUBLISHER_DEFAULTS: dict[str, Any] = {
    "poll_interval": 0.5,
    "oncor_read_timeout": 2.0,
    "oncor_retry_max_seconds": 3.0,
    "oncor_search_ready_timeout": 5.0,
    "shutdown_grace": 5.0,
}


def publisher_settings(emulator: EmulatorProcess, amqp_url: str, **overrides: Any) -> Settings:
    return settings_for(emulator, amqp_url, PUBLISHER_DEFAULTS, **overrides)


@dataclass
class ReceivedEvent:
    id: str
    subject: str
    correlation_id: str | None
    type: str
    data: dict[str, Any]


@dataclass
class EventCollector:
    """Every `order.received` on the vhost, through a durable queue that survives reconnects."""

    events: list[ReceivedEvent] = field(default_factory=list)

    async def holds(self, count: int) -> bool:
        return len(self.events) >= count

    def ids_by_order(self) -> dict[str, set[str]]:
        ids: dict[str, set[str]] = {}
        for event in self.events:
            ids.setdefault(event.subject, set()).add(event.id)
        return ids

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        event = json.loads(message.body)
        assert event["id"] == message.message_id
        self.events.append(
            ReceivedEvent(
                event["id"], event["subject"], message.correlation_id, event["type"], event["data"]
            )
        )
        await message.ack()


@asynccontextmanager
async def collecting_events(amqp_url: str) -> AsyncIterator[EventCollector]:
    collector = EventCollector()
    connection = await aio_pika.connect_robust(amqp_url, reconnect_interval=0.5)
    try:
        channel = await connection.channel()
        await declare_topology(channel)
        queue = await channel.declare_queue(COLLECTOR_QUEUE, durable=True)
        await queue.bind(EVENTS_EXCHANGE, ORDER_RECEIVED)
        await queue.consume(collector.on_message)
        yield collector
    finally:
        await connection.close()


@asynccontextmanager
async def running_publisher(
    settings: Settings, oncor_client: OncorClient | None = None
) -> AsyncIterator[OrderPublisher]:
    """The publisher as the runner wires it (or with the ONCOR client given), until the block
    ends (then a graceful stop)."""
    async with oncor_client or build_oncor_client(settings, metrics.observe_oncor_call) as oncor:
        bus = Bus(
            settings.amqp_url.get_secret_value(), topology=settings.topology, reconnect_interval=0.5
        )
        await bus.connect()
        publisher = build_publisher(settings, oncor, bus)
        stop = asyncio.Event()
        run = asyncio.create_task(publisher.run(stop))
        try:
            yield publisher
        finally:
            stop.set()
            await asyncio.wait_for(run, settings.shutdown_grace + 5)
            await bus.close()


async def all_marked(admin: EmulatorAdmin) -> bool:
    return all(order["status"] is not None for order in await admin.orders())
