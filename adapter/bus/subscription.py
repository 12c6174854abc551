"""A consumer that stays registered: the one way the adapter consumes a queue.

It can be told to pause while any of its gates is open (the commands pause while another replica
owns them, and while ONCOR's circuit breaker is open: commands wait in their queue, no delivery
is taken only to fail).

aio-pika restores channels and consumers after a reconnect, but a restored consumer can be
silently missing (aio-pika issues 231, 334, 626). A Subscription therefore consumes on a channel
nobody else restores, knows it is `consuming` only while the broker's ConsumeOk stands on an
open channel, and registers again on a fresh channel whenever that channel closes or the broker
cancels the consumer:

    run(stop) --wait for the bus--> register (fresh channel, qos, basic.consume)
        ^                                   |
        +---- channel closed / cancelled ---+   closed: in-flight deliveries are void

A delivery belongs to the channel it came on: once that channel is gone the broker has requeued
it and may hand it to another replica, so the work on it is abandoned at once (its task is
cancelled); `on_lost` tells the owner.

How many deliveries it holds at once is its `Window`'s to say. RabbitMQ counts a prefetch in
messages and applies a new one only to a consumer registered after it (quorum queues have no
channel-wide prefetch), so a window that `renews` is taken in lanes: each registration gets
the prefetch the window allows beside what is held then; once it holds that many unsettled,
it is used up: the next lane is registered on the same channel when the window allows one, and
the used-up one cancelled, its deliveries carrying on. Only the newest lane has credit, so
deliveries arrive in the queue's order.

A consumer is cancelled (a used-up lane, a pause, the stop) with its deliveries' settles held
back until the broker has answered (`settling`): a settle meanwhile would give it credit, and a
delivery the quorum queue makes on it after the CancelOk goes back to the queue marked
redelivered (seen on 3.10 in tests/chaos), to be held up as if another replica had dropped it.
A used-up lane's settles are held from the moment it is used up: it holds its whole prefetch,
so it owes nothing and is given nothing, and the next lane can be registered before it is
cancelled. On a quorum queue both a registration and a cancel are commits to its log, which
queue behind the broker's writes: after a stall (a WAL roll-over, bench/) the next lane is one
commit away instead of two.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, cast

import aiormq
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from adapter.bus.connection import Bus
from adapter.waiting import first_of, to_the_end

log = logging.getLogger(__name__)

#: Seconds allowed to open a channel and register the consumer before trying again.
REGISTER_TIMEOUT = 10.0
#: Seconds between attempts to register while the broker refuses or is away.
REGISTER_RETRY = 1.0
#: Seconds between checks that the consumer still stands, besides waking on a close or cancel.
CHECK_INTERVAL = 5.0

OnMessage = Callable[[AbstractIncomingMessage], Awaitable[None]]


class Gate(Protocol):
    """Something that can be open for a while, e.g. ONCOR's circuit breaker."""

    @property
    def is_open(self) -> bool: ...

    async def wait_open(self) -> None: ...

    async def wait_closed(self) -> None: ...


class Window(Protocol):
    """How many deliveries a consumer may be given, beside those it holds."""

    #: whether a registration given its whole lane is replaced by a new one (see the module doc)
    renews: ClassVar[bool]

    def lane(self, held_count: int, held_bytes: int) -> int:
        """The prefetch of the next registration; 0: none yet, wait until some are settled."""
        ...


@dataclass(frozen=True)
class Prefetch:
    """A plain prefetch: a registration holds up to `count` deliveries for as long as it stands."""

    count: int
    renews: ClassVar[bool] = False

    def lane(self, held_count: int, held_bytes: int) -> int:
        return self.count


class Subscription:
    """Consume `queue` with `on_message` until stopped; `on_lost` hears of every lost channel."""

    def __init__(
        self,
        bus: Bus,
        queue: str,
        on_message: OnMessage,
        *,
        window: Window,
        on_lost: Callable[[], None] | None = None,
        pause_while: Sequence[Gate] = (),
    ) -> None:
        self.queue_name = queue
        self._bus = bus
        self._on_message = on_message
        self._window = window
        self._on_lost = on_lost
        self._pause_while = pause_while
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._wire: aiormq.Channel | None = None  # the AMQP channel the consumer stands on
        self._tag: str | None = None
        self._lost = asyncio.Event()
        #: set while registered (as far as the last ConsumeOk and channel close tell)
        self.registered = asyncio.Event()
        #: a gate that paused it has closed, and its first attempt to register has not ended
        self.resuming = False
        self._in_flight: dict[asyncio.Task[Any], int] = {}  # each delivery's body bytes
        self._delivery_ended = asyncio.Event()  # one in flight has ended since it was cleared
        self._tags = (f"{queue}.{n}" for n in itertools.count(1))
        self._lane = 0  # the prefetch of the current registration
        self._lane_unsettled: set[int] = set()  # its deliveries' tags, until `settling`
        self._lane_used = asyncio.Event()
        self._lane_ended = False  # used up: being cancelled, or the next one not registered yet
        #: consumer tags whose settles are held back, each with its release
        self._held: dict[str, asyncio.Event] = {}

    @property
    def consuming(self) -> bool:
        """The broker's ConsumeOk stands: registered on a channel still open, not cancelled."""
        wire, tag = self._wire, self._tag
        return wire is not None and not wire.is_closed and tag in wire.consumers

    @property
    def between_lanes(self) -> bool:
        """Not consuming for a while on purpose: its last lane was given all it could hold, and
        the next one waits for room or is being registered (see the module doc)."""
        channel = self._channel
        return self._lane_ended and channel is not None and not channel.is_closed

    @property
    def paused(self) -> bool:
        """Not consuming on purpose: one of its gates is open."""
        return any(gate.is_open for gate in self._pause_while)

    async def run(self, stop: asyncio.Event) -> None:
        """Stay registered until `stop` is set; then cancel the consumer, keeping the channel
        open so that deliveries in flight can still be settled (see `close`)."""
        try:
            await self._consume_until(stop)
        finally:
            self._release_every_settle()  # whatever ended it, no settle waits for it any more

    async def _consume_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.paused:
                # No new deliveries while a gate is open; those in flight carry on.
                self._lane_ended = False
                await self.cancel()
                self.resuming = True
                await first_of(stop.wait(), self._all_closed())
                continue
            if self._lane_used.is_set():
                self._lane_used.clear()
                await self._renew(stop)
            gates = [g.wait_open() for g in self._pause_while]
            if not self.consuming:
                if self._next_lane() == 0:  # a lost channel's deliveries end soon, too
                    await first_of(self._room(), stop.wait(), *gates)
                    continue
                await self._start(stop)
            self.resuming = False
            waits = [stop.wait(), self._lost.wait(), self._lane_used.wait(), *gates]
            await first_of(*waits, seconds=CHECK_INTERVAL)
        self._lane_ended = False
        await self.cancel()

    async def settling(self, message: AbstractIncomingMessage) -> None:
        """Call just before a delivery is acknowledged or given back: while its lane is used up
        or being cancelled, this waits until the broker has cancelled it (see the module doc)."""
        if message.consumer_tag is not None and (held := self._held.get(message.consumer_tag)):
            await held.wait()
        if message.consumer_tag == self._tag and message.delivery_tag is not None:
            self._lane_unsettled.discard(message.delivery_tag)

    def _hold_settles(self, tag: str) -> None:
        self._held.setdefault(tag, asyncio.Event())

    def _release_settles(self, tag: str) -> None:
        if (held := self._held.pop(tag, None)) is not None:
            held.set()

    def _release_every_settle(self) -> None:
        for tag in list(self._held):
            self._release_settles(tag)

    async def _renew(self, stop: asyncio.Event) -> None:
        """Replace the used-up lane: the next one first if the window has room beside it (the
        used-up one is given nothing meanwhile), then cancel it."""
        used_up = self._tag
        self._lane_ended = True
        if used_up is not None and self._next_lane():
            await self._start(stop)
        await self.cancel(used_up)

    def _next_lane(self) -> int:
        return self._window.lane(len(self._in_flight), sum(self._in_flight.values()))

    async def _room(self) -> None:
        while self._next_lane() == 0:
            self._delivery_ended.clear()
            await self._delivery_ended.wait()

    async def _all_closed(self) -> None:
        while opened := [gate for gate in self._pause_while if gate.is_open]:
            await opened[0].wait_closed()

    async def finish(self, grace: float) -> bool:
        """Give deliveries in flight `grace` seconds; cancel the rest, left unacknowledged.
        True if every one finished."""
        pending = set(self._in_flight)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.warning(
                "shutdown grace over; deliveries left unacked",
                extra={"queue": self.queue_name, "count": len(pending)},
            )
        return not pending

    async def close(self) -> None:
        """Close the channel: whatever is still unacknowledged goes back to the queue."""
        channel, self._channel, self._queue = self._channel, None, None
        if channel is None or channel.is_closed:
            return
        try:
            await channel.close()
        except Exception as exc:
            log.warning(
                "could not close a consumer channel",
                extra={"queue": self.queue_name, "error": repr(exc)},
            )

    async def _start(self, stop: asyncio.Event) -> None:
        """Register once the bus is ready; after a failure, pause a little."""
        self._lost.clear()
        await first_of(self._bus.wait_ready(), stop.wait())
        if stop.is_set():
            return
        try:
            # On a timeout, a broker call under way gets up to 5 s more (waiting.to_the_end)
            await asyncio.wait_for(to_the_end(self._register()), REGISTER_TIMEOUT)
        except Exception as exc:
            log.warning(
                "could not consume, retrying",
                extra={"queue": self.queue_name, "error": repr(exc)},
            )
            if self._in_flight:  # a lane's re-registration failed on a channel holding these
                self._lost_now()
            await self.close()  # a half-registered consumer must not linger
            await first_of(stop.wait(), seconds=REGISTER_RETRY)

    async def _register(self) -> None:
        self._tag = None
        lane = self._next_lane()
        if not lane:
            return  # settles were slower than the broker: the run loop waits for room
        channel = self._channel
        if fresh := channel is None or channel.is_closed:
            channel = await self._bus.consumer_channel(prefetch=lane)
            channel.close_callbacks.add(self._on_channel_closed)
            self._channel = channel
            self._queue = await channel.declare_queue(self.queue_name, passive=True)
        elif lane != self._lane:
            await channel.set_qos(prefetch_count=lane)  # for the consumer registered next
        self._lane = lane
        self._lane_unsettled.clear()
        wire = cast(aiormq.Channel, await channel.get_underlay_channel())
        wire.on_consumer_cancel_callbacks.add(self._on_cancelled)
        assert self._queue is not None
        # Named, and its channel known, before it is registered: its first deliveries are
        # counted as its own, and may use it up.
        self._tag = next(self._tags)
        self._wire = wire
        await self._queue.consume(self._deliver, consumer_tag=self._tag)
        self._lane_ended = False
        self.registered.set()
        # Once per channel: the next lanes (see the module doc) would fill the log.
        log.log(
            logging.INFO if fresh else logging.DEBUG,
            "consuming",
            extra={"queue": self.queue_name, "prefetch": lane},
        )

    async def cancel(self, tag: str | None = None) -> None:
        """No new deliveries for consumer `tag` (the current one by default); those in flight
        carry on, their settles held back until the broker has answered (see the module doc)."""
        queue, wire, tag = self._queue, self._wire, tag or self._tag
        if tag is None:
            return
        try:
            if queue is None or wire is None or wire.is_closed or tag not in wire.consumers:
                return  # not consuming, or closing its channel already (`close` clears it)
            self._hold_settles(tag)
            await queue.cancel(tag)
        except Exception as exc:  # the connection may be gone: in-flight work finishes anyway
            log.warning(
                "could not cancel a consumer", extra={"queue": self.queue_name, "error": repr(exc)}
            )
        finally:
            self._release_settles(tag)

    async def _deliver(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight[task] = len(message.body)
        tag = self._tag
        if self._window.renews and tag and message.consumer_tag == tag and message.delivery_tag:
            self._lane_unsettled.add(message.delivery_tag)
            used_up = len(self._lane_unsettled) >= self._lane
            if used_up and self.consuming and tag not in self._held:
                self._hold_settles(tag)  # until the broker has cancelled it
                self._lane_used.set()
        try:
            await self._on_message(message)
        finally:
            del self._in_flight[task]
            self._delivery_ended.set()

    def _on_channel_closed(self, channel: Any, exc: BaseException | None) -> None:
        if channel is not self._channel:
            return  # one we closed ourselves
        self._lost_now()
        log.warning("consumer channel closed", extra={"queue": self.queue_name, "error": repr(exc)})

    def _on_cancelled(self, frame: Any) -> None:
        # The channel stays open: deliveries in flight can still be settled on it.
        log.warning("the broker cancelled a consumer", extra={"queue": self.queue_name})
        self.registered.clear()
        self._lost.set()

    def _lost_now(self) -> None:
        self.registered.clear()
        self._lost.set()
        self._release_every_settle()  # its deliveries cannot be settled any more: none need wait
        for task in list(self._in_flight):
            task.cancel()  # its delivery is back in the queue: another replica may take it
        if self._on_lost is not None:
            self._on_lost()
