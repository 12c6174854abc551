"""A consumer whose window counts bytes takes its deliveries in lanes (bus.subscription): small
bodies held let more lanes in, up to the count allowed; large ones keep it to what fits; and
the deliveries arrive in the queue's order across lanes. On a real quorum queue, since RabbitMQ
applies a new prefetch only to a consumer registered after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage

from adapter.bus.connection import Bus
from adapter.bus.subscription import OnMessage, Subscription
from adapter.consumer.budget import BodiesWindow, bodies_share
from tests.support.waiting import eventually

QUEUE = "lanes"
MAX_BODY = 1000
#: Bodies' share 2,000 bytes: two at the size limit, so the first lane is 2.
WINDOW = BodiesWindow(budget_bytes=2000 * 8 // 7 + 1, max_body_bytes=MAX_BODY, max_count=6)


class Holder:
    """Holds every delivery until released; checks the bodies' bound at each arrival."""

    def __init__(self) -> None:
        self.held: list[AbstractIncomingMessage] = []
        self.arrived: list[bytes] = []
        self.most_bytes = 0
        self._release = asyncio.Event()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        self.held.append(message)
        self.arrived.append(message.body)
        self.most_bytes = max(self.most_bytes, sum(len(m.body) for m in self.held))
        await self._release.wait()
        self.held.remove(message)
        await message.ack()

    def release(self) -> None:
        self._release.set()
        self._release = asyncio.Event()


@pytest.fixture
async def bus(amqp_url: str) -> AsyncIterator[Bus]:
    bus = Bus(amqp_url, name="lanes", declare=False)
    await bus.connect()
    channel = await bus.channel()
    await channel.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    await channel.close()
    yield bus
    await bus.close()


async def publish(bus: Bus, bodies: list[bytes]) -> None:
    for body in bodies:
        await bus.publish("", QUEUE, aio_pika.Message(body))


@asynccontextmanager
async def consuming(bus: Bus, on_message: OnMessage) -> AsyncIterator[Subscription]:
    subscription = Subscription(bus, QUEUE, on_message, window=WINDOW)
    stop = asyncio.Event()
    running = asyncio.create_task(subscription.run(stop))
    try:
        yield subscription
    finally:
        stop.set()
        await running
        await subscription.finish(5.0)
        await subscription.close()


async def test_small_bodies_held_let_more_lanes_in_up_to_the_count_in_queue_order(
    bus: Bus,
) -> None:
    assert WINDOW.first_lane == 2
    bodies = [f"small {n}".encode() for n in range(8)]
    await publish(bus, bodies)
    holder = Holder()
    async with consuming(bus, holder.on_message) as subscription:
        await eventually(lambda: len(holder.held) == WINDOW.max_count, within=10)
        await asyncio.sleep(0.5)
        assert len(holder.held) == WINDOW.max_count  # no more than the count allowed
        assert subscription.between_lanes  # waiting for room, not lost
        holder.release()
        await eventually(lambda: len(holder.arrived) == len(bodies), within=10)
        holder.release()
    assert holder.arrived == bodies  # one consumer at a time: the queue's order


async def test_large_bodies_keep_it_to_what_fits_the_bodies_share(bus: Bus) -> None:
    bodies = [bytes([65 + n]) * 900 for n in range(4)]
    await publish(bus, bodies)
    holder = Holder()
    async with consuming(bus, holder.on_message):
        await eventually(lambda: len(holder.held) == 2, within=10)
        await asyncio.sleep(0.5)
        assert len(holder.held) == 2  # a third could be at the size limit: 3,000 > 2,000
        holder.release()
        await eventually(lambda: len(holder.arrived) == len(bodies), within=10)
        holder.release()
    assert holder.arrived == bodies
    assert holder.most_bytes <= bodies_share(WINDOW.budget_bytes)


async def test_lanes_end_owing_nothing_so_no_command_comes_back_redelivered(bus: Bus) -> None:
    # Settled at once, in a trickle: each lane is cancelled with its deliveries still being
    # settled, the moment a settle would give the broker credit for one more.
    count = 400
    received: list[AbstractIncomingMessage] = []

    async def settle_quickly(message: AbstractIncomingMessage) -> None:
        received.append(message)
        await asyncio.sleep(0.001 * (len(received) % 3))
        await subscription.settling(message)
        await message.ack()

    async with consuming(bus, settle_quickly) as subscription:
        for n in range(count):
            await publish(bus, [str(n).encode()])
            if n % 10 == 0:
                await asyncio.sleep(0.002)
        await eventually(lambda: len(received) >= count, within=30)
        await asyncio.sleep(0.5)  # time for a late delivery to come back
    assert [m.body for m in received] == [str(n).encode() for n in range(count)]
    assert not [m.body for m in received if m.redelivered]


async def test_the_next_lane_does_not_wait_for_the_used_up_one_to_be_cancelled(
    bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a quorum queue a cancel is a commit to its log, which waits behind the broker's writes
    # after a stall (bench/): here every cancel takes a second.
    cancel = aio_pika.Queue.cancel

    async def slow_cancel(queue: aio_pika.Queue, *args: object, **kwargs: object) -> object:
        await asyncio.sleep(1.0)
        return await cancel(queue, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aio_pika.Queue, "cancel", slow_cancel)
    bodies = [f"small {n}".encode() for n in range(6)]
    await publish(bus, bodies)
    holder = Holder()
    async with consuming(bus, holder.on_message):
        # The first lane (2) is used up at once; the next one comes before its cancel ends.
        await eventually(lambda: len(holder.held) > WINDOW.first_lane, within=0.7)
        holder.release()
        await eventually(lambda: len(holder.arrived) == len(bodies), within=10)
        holder.release()
    assert holder.arrived == bodies  # only the newest lane has credit: the queue's order
