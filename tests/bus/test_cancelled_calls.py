"""Broker calls cut short by a cancellation: `to_the_end` lets them finish, so that the
connection, and the deliveries in flight on it, survive.

Without it, cancelling a task while it opens a channel, declares or closes one made RabbitMQ
close the whole connection ("CHANNEL_ERROR - expected 'channel.open'") within a few hundred
tries: a command in flight on that connection was abandoned in the middle of its ONCOR write
when a replica stepped down from the poller leadership during SIGTERM.
"""

from __future__ import annotations

import asyncio

import aio_pika

from adapter.bus.connection import Bus
from adapter.waiting import to_the_end

TRIES = 300
QUEUE = "cancelled-calls"


async def test_channel_calls_cancelled_at_any_moment_keep_the_connection(amqp_url: str) -> None:
    bus = Bus(amqp_url, name="cancelled-calls", declare=False)
    await bus.connect()
    lost: list[object] = []
    bus.connection.close_callbacks.add(lambda *args: lost.append(args))
    holder = await bus.channel(prefetch=1)
    queue = await holder.declare_queue(QUEUE, exclusive=True)
    await bus.publish("", QUEUE, aio_pika.Message(b"in flight"))
    in_flight = await queue.get(timeout=5)
    assert in_flight is not None

    async def probe() -> None:
        channel = await bus.channel(publisher_confirms=False)
        try:
            await channel.declare_queue(QUEUE, passive=True, robust=False)
        finally:
            await channel.close()

    try:
        for attempt in range(TRIES):
            caller = asyncio.create_task(to_the_end(probe()))
            await asyncio.sleep(0.003 * (attempt % 7) / 7)  # at each step of the probe, in turn
            caller.cancel()
            await asyncio.gather(caller, return_exceptions=True)
            assert not lost, f"connection closed after {attempt + 1} cancelled probes: {lost}"
        await in_flight.ack()  # the delivery's channel is still the one it came on
    finally:
        await bus.close()
