"""Print the events on `dezo.events` as they arrive, one line each, for a person watching."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aio_pika.abc import AbstractConnection, AbstractIncomingMessage

from adapter.bus.connection import Bus
from adapter.bus.envelope import parse_json
from adapter.bus.topology import EVENTS_EXCHANGE


def describe(message: AbstractIncomingMessage) -> str:
    """`order.received  #1930:0  id=…`: what an operator needs to follow the flow, no PII.

    Any body is described, not only well-formed events: a forged one must not stop the watch.
    """
    try:
        event = parse_json(message.body)
        subject, event_id = str(event.get("subject") or "-"), str(event.get("id") or "-")
        reason = (event.get("data") or {}).get("reason")
    except (ValueError, AttributeError):
        subject, event_id, reason = "-", message.message_id or "-", None
    suffix = f"  reason={reason}" if reason else ""
    return f"{message.routing_key:<40} {subject:<12} id={event_id}{suffix}"


async def watch_events(
    amqp_url: str, stop: asyncio.Event, show: Callable[[str], None] = print
) -> None:
    """Show each event on `dezo.events` until `stop` is set; `amqp_url` may list several nodes."""
    bus = Bus(amqp_url, name="dezo-adapter-watch", declare=False)
    await bus.connect()
    try:
        await watch_on(bus.connection, stop, show)
    finally:
        await bus.close()


async def watch_on(
    connection: AbstractConnection, stop: asyncio.Event, show: Callable[[str], None] = print
) -> None:
    """Bind a private, self-deleting queue to every event and show each until `stop` is set."""
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    # Bound by name, not declared: an operator's broker user may not configure dezo.events.
    await queue.bind(EVENTS_EXCHANGE, routing_key="#")

    async def on_event(message: AbstractIncomingMessage) -> None:
        async with message.process():
            show(describe(message))

    await queue.consume(on_event)
    await stop.wait()
