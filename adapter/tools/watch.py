"""Print the events on `dezo.events` as they arrive, one line each, for a person watching."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage

from adapter.bus.topology import EVENTS_EXCHANGE


def describe(message: AbstractIncomingMessage) -> str:
    """`order.received  #1930:0  id=…`: what an operator needs to follow the flow, no PII."""
    try:
        event = json.loads(message.body)
        subject, event_id = event.get("subject") or "-", event.get("id") or "-"
        reason = (event.get("data") or {}).get("reason")
    except (ValueError, AttributeError):
        subject, event_id, reason = "-", message.message_id or "-", None
    suffix = f"  reason={reason}" if reason else ""
    return f"{message.routing_key:<40} {subject:<12} id={event_id}{suffix}"


async def watch_events(
    amqp_url: str, stop: asyncio.Event, show: Callable[[str], None] = print
) -> None:
    """Show each event on `dezo.events` until `stop` is set."""
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        await watch_on(connection, stop, show)


async def watch_on(
    connection: AbstractConnection, stop: asyncio.Event, show: Callable[[str], None] = print
) -> None:
    """Bind a private, self-deleting queue to every event and show each until `stop` is set."""
    channel = await connection.channel()
    exchange = await channel.declare_exchange(EVENTS_EXCHANGE, "topic", durable=True)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="#")

    async def on_event(message: AbstractIncomingMessage) -> None:
        async with message.process():
            show(describe(message))

    await queue.consume(on_event)
    await stop.wait()
