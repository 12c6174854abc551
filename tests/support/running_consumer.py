"""The consumer in this process against the emulator, and an observer of the bus around it."""

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
from adapter.bus.topology import (
    COMMANDS_EXCHANGE,
    DEAD_QUEUE,
    EVENTS_EXCHANGE,
    TopologySettings,
    declare_topology,
)
from adapter.config import Settings
from adapter.consumer.assembly import attachment_downloads, build_consumer
from adapter.emulator.process import EmulatorProcess
from adapter.observability import metrics
from adapter.runner import build_oncor_client
from tests.support.commands import KIB, MIB, command_body
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.settings import settings_for

#: Small limits and quick retries, so that every failure shows within a second or two.
CONSUMER_DEFAULTS: dict[str, Any] = {
    # After a write whose answer was lost, the next attempt waits connect + read timeout.
    "oncor_connect_timeout": 0.5,
    "oncor_read_timeout": 3.0,
    "oncor_retry_attempts": 2,
    "oncor_retry_max_seconds": 1.0,
    "oncor_search_ready_timeout": 5.0,
    "command_retry_delays": (0.2, 0.5, 1.0),
    "command_prefetch": 16,
    "command_max_bytes": 1 * MIB,
    "attachment_inline_max_bytes": 256 * KIB,
    "attachment_url_max_bytes": 1 * MIB,
    "attachment_url_timeout": 1.0,
    "shutdown_grace": 5.0,
}


def consumer_settings(emulator: EmulatorProcess, amqp_url: str, **overrides: Any) -> Settings:
    return settings_for(emulator, amqp_url, CONSUMER_DEFAULTS, **overrides)


@dataclass
class Observed:
    """A message the observer saw."""

    routing_key: str
    headers: dict[str, Any]
    body: bytes
    message_id: str | None
    correlation_id: str | None

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class BusObserver:
    """Publishes commands and watches everything the consumer sends."""

    channel: aio_pika.abc.AbstractChannel
    reply_queue: str = ""
    events: list[Observed] = field(default_factory=list)
    replies: list[Observed] = field(default_factory=list)
    dead: list[Observed] = field(default_factory=list)

    async def send(
        self,
        command: str,
        data: Any,
        *,
        command_id: str | None = None,
        body: bytes | None = None,
        routing_key: str | None = None,
        message_id: str | None = "same",
        reply_to: str | None = None,
    ) -> str:
        """Publish a command (or any `body`); returns its command id."""
        command_id, encoded = command_body(command, data, command_id)
        exchange = await self.channel.get_exchange(COMMANDS_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(
                encoded if body is None else body,
                content_type="application/cloudevents+json",
                message_id=command_id if message_id == "same" else message_id,
                reply_to=reply_to,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key or command,
        )
        return command_id

    async def outcome(
        self, command_id: str, within: float = 15.0, routing_key: str | None = None
    ) -> Observed:
        """The first outcome of a command (with this routing key, if given)."""
        return await self._first(self.events, command_id, within, routing_key)

    async def dead_letter(self, command_id: str, within: float = 15.0) -> Observed:
        return await self._first(self.dead, command_id, within)

    def outcomes_of(self, command_id: str) -> list[Observed]:
        return [seen for seen in self.events if seen.correlation_id == command_id]

    async def _first(
        self, seen: list[Observed], command_id: str, within: float, routing_key: str | None = None
    ) -> Observed:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for item in seen:
                if command_id in (item.correlation_id, item.message_id) and routing_key in (
                    None,
                    item.routing_key,
                ):
                    return item
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"nothing for {command_id} within {within} s")
            await asyncio.sleep(0.02)


def _collector(into: list[Observed]) -> Any:
    async def collect(message: AbstractIncomingMessage) -> None:
        into.append(
            Observed(
                routing_key=message.routing_key or "",
                headers=dict(message.headers),
                body=message.body,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
            )
        )
        await message.ack()

    return collect


@asynccontextmanager
async def observing(amqp_url: str, topology: TopologySettings) -> AsyncIterator[BusObserver]:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await declare_topology(channel, topology)
        observer = BusObserver(channel)
        events = await channel.declare_queue("", exclusive=True)
        await events.bind(EVENTS_EXCHANGE, "#")
        await events.consume(_collector(observer.events))
        replies = await channel.declare_queue("", exclusive=True)
        observer.reply_queue = replies.name
        await replies.consume(_collector(observer.replies))
        dead = await channel.declare_queue(DEAD_QUEUE, passive=True)
        await dead.consume(_collector(observer.dead))
        yield observer
    finally:
        await connection.close()


@dataclass
class RunningConsumer:
    settings: Settings
    bus: BusObserver
    admin: EmulatorAdmin
    stop: asyncio.Event
    task: asyncio.Task[None]


@asynccontextmanager
async def running_consumer(
    emulator: EmulatorProcess, amqp_url: str, **overrides: Any
) -> AsyncIterator[RunningConsumer]:
    """CommandConsumer in this process against the emulator, with an observer on the bus."""
    settings = consumer_settings(emulator, amqp_url, **overrides)
    admin = EmulatorAdmin(emulator)
    async with (
        build_oncor_client(settings, metrics.observe_oncor_call) as oncor,
        attachment_downloads(settings) as downloads,
        observing(amqp_url, settings.topology) as bus,
    ):
        broker = Bus(amqp_url, name="consumer-under-test", topology=settings.topology)
        await broker.connect()
        stop = asyncio.Event()
        consumer = build_consumer(settings, oncor, broker, downloads)
        task = asyncio.create_task(consumer.run(stop))
        try:
            yield RunningConsumer(settings, bus, admin, stop, task)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
            await broker.close()
            await admin.close()
