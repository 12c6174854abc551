"""Leader election over a token queue: whoever holds the token of `dezo.poller.leadership` polls
ONCOR, whoever holds the token of `dezo.commands.ownership` consumes the commands.

Each queue has a single active consumer. Every replica consumes it (a bus Subscription, prefetch
1) and never acknowledges: the broker delivers the token to the active consumer, which keeps it
unacknowledged for as long as it leads. When that consumer's channel or connection closes, the
broker requeues the token and hands it to the next consumer.

Leadership is "I hold a delivery on a channel that is still open". A new leader whose former
leader may have writes to ONCOR in flight keeps quiet for `handover_wait` seconds before it acts;
otherwise it could write a second time what that leader's write, still landing, already did (a
poller would mark orders again, a consumer could run an order's next command before its last).
It skips the wait only for a *clean* token: one published when no replica could have led (no
token and no other consumer), or by a leader that stepped down after its updates finished.
A redelivered token, or a spare one a follower added, is not clean.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aiormq.abc import AbstractChannel as WireChannel
from aiormq.exceptions import ChannelInvalidStateError
from prometheus_client import Gauge

from adapter.bus.connection import Bus
from adapter.bus.headers import CLEAN_HANDOVER_HEADER
from adapter.bus.subscription import Prefetch, Subscription
from adapter.bus.topology import COMMANDS_OWNER_QUEUE, LEADER_QUEUE
from adapter.observability import metrics
from adapter.waiting import first_of, to_the_end

log = logging.getLogger(__name__)

#: RabbitMQ closes a channel whose delivery stays unacknowledged past its `consumer_timeout`
#: (30 minutes by default), so the leader hands its token back, and gets it again, well before.
TOKEN_RENEWAL = 600.0


@dataclass(frozen=True)
class Role:
    """What a token gives: its queue, its name in logs, and the gauge that shows who holds it."""

    queue: str
    name: str
    gauge: Gauge

    @property
    def token(self) -> bytes:
        return f"dezo {self.name} token".encode()


POLLER = Role(LEADER_QUEUE, "poller leadership", metrics.poller_leader)
COMMANDS = Role(COMMANDS_OWNER_QUEUE, "commands ownership", metrics.commands_owner)


class Leadership:
    """This replica's claim on a role; `held` is the truth, the events wake waiters."""

    def __init__(
        self,
        bus: Bus,
        role: Role,
        *,
        handover_wait: float,
        token_check: float,
        renew_after: float = TOKEN_RENEWAL,
    ) -> None:
        self._bus = bus
        self.role = role
        self._handover_wait = handover_wait
        self._token_check = token_check
        self._renew_after = renew_after
        self._subscription = Subscription(
            bus, role.queue, self._on_token, window=Prefetch(1), on_lost=self._on_lost
        )
        self._token: AbstractIncomingMessage | None = None
        self._token_channel: WireChannel | None = None
        self._renewal: asyncio.TimerHandle | None = None
        self._hand_back: asyncio.Task[None] | None = None
        #: monotonic time before which a former leader's writes may still land in ONCOR
        self.quiet_until = 0.0
        self._leaving = asyncio.Event()
        self._stepping_down = False
        self.gained = asyncio.Event()
        self.lost = asyncio.Event()
        self.lost.set()

    @property
    def held(self) -> bool:
        channel = self._token_channel
        return channel is not None and not channel.is_closed

    @property
    def quiet(self) -> bool:
        """Held, but a former holder's writes may still be landing."""
        return time.monotonic() < self.quiet_until

    @property
    def consuming(self) -> bool:
        """This replica takes part in the election: its consumer stands on the token queue."""
        return self._subscription.consuming

    @property
    def registered(self) -> asyncio.Event:
        """Set while its consumer stands on the token queue."""
        return self._subscription.registered

    async def take_part(self) -> None:
        """Stay in the election until `close`. While another replica holds the token, make sure
        every `token_check` seconds that a token exists: it may have been lost (a purged queue)."""
        electing = asyncio.create_task(self._subscription.run(self._leaving))
        try:
            while not self._leaving.is_set():
                if not self.held and not self._stepping_down:
                    await first_of(self._refresh_token(), self._leaving.wait())
                await first_of(
                    self._leaving.wait(),
                    (self.lost if self.held else self.gained).wait(),
                    seconds=None if self.held else self._token_check,
                )
        finally:
            if not self._leaving.is_set():
                electing.cancel()
            await asyncio.gather(electing, return_exceptions=True)

    async def _refresh_token(self) -> None:
        """Publish a token when none is ready in the queue.

        The leader's token is unacknowledged, not ready, so followers add a spare one: harmless,
        since only the single active consumer gets deliveries, and `x-max-length: 1` keeps it one.
        """
        try:
            ready, consumers = await to_the_end(self._count_token_queue())
            if not ready and not self._stepping_down:  # a check begun before `close`
                await self._publish_token(clean=consumers - int(self.consuming) <= 0)
        except Exception as exc:  # the broker is away; the robust connection is reconnecting
            log.warning(
                "could not check a token", extra={"role": self.role.name, "error": repr(exc)}
            )

    async def _count_token_queue(self) -> tuple[int, int]:
        """Tokens ready in the queue, and consumers on it."""
        probe = await self._bus.channel(publisher_confirms=False)
        try:
            queue = await probe.declare_queue(self.role.queue, passive=True, robust=False)
        finally:
            await probe.close()
        counts = queue.declaration_result
        return counts.message_count or 0, counts.consumer_count or 0

    async def close(self, *, clean: bool = True) -> None:
        """Leave the election, handing the token on: clean if the caller let its writes finish
        (`clean`), so that the next holder need not wait. Closing the channel returns the token
        to the queue, not clean, and anything else the channel held."""
        # No token check of its own from here: a spare published after the clean token would
        # push the clean one out (`x-max-length: 1`).
        self._stepping_down = True
        token = self._token if self.held and clean else None
        self._drop("stepped down", logging.INFO)  # first, so the close is not taken for a loss
        if token is not None:
            try:
                # In this order: the clean token pushes a spare out (`x-max-length: 1`) while
                # this replica, still the active consumer, has no room to take it; the cancel
                # passes it to the next consumer; only then the old token goes.
                await self._publish_token(clean=True)
                await self._subscription.cancel()
                await token.ack()
            except Exception as exc:  # the next leader waits out the hand-over instead
                log.warning("could not hand the token on cleanly", extra={"error": repr(exc)})
        self._leaving.set()
        await self._subscription.close()

    async def _publish_token(self, *, clean: bool) -> None:
        token = aio_pika.Message(
            self.role.token,
            headers={CLEAN_HANDOVER_HEADER: clean},
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._bus.publish("", self.role.queue, token)

    async def _on_token(self, message: AbstractIncomingMessage) -> None:
        try:
            channel = message.channel
        except ChannelInvalidStateError:
            return  # delivered on a channel that has closed since: the broker took it back
        renewed = self.held
        self._token, self._token_channel = message, channel
        if self._renewal is not None:
            self._renewal.cancel()
        self._renewal = asyncio.get_running_loop().call_later(self._renew_after, self._renew)
        if renewed:
            log.debug("token renewed", extra={"role": self.role.name})
            return
        clean = message.headers.get(CLEAN_HANDOVER_HEADER) is True and not message.redelivered
        if not clean:
            self.quiet_until = time.monotonic() + self._handover_wait
        self.lost.clear()
        self.gained.set()
        self.role.gauge.set(1)
        log.info(
            f"{self.role.name} gained",
            extra={
                "clean_handover": clean,
                # a pause a person should not take for a hang
                "acting_in_s": 0.0 if clean else self._handover_wait,
            },
        )

    def _renew(self) -> None:
        if self._token is not None and self.held:
            self._hand_back = asyncio.create_task(self._requeue(self._token))

    async def _requeue(self, token: AbstractIncomingMessage) -> None:
        # Still the single active consumer, this replica gets the requeued token straight back.
        try:
            await token.reject(requeue=True)
        except Exception as exc:  # the channel closed meanwhile: that is a loss, handled there
            log.debug("could not renew a token", extra={"role": self.role.name, "error": repr(exc)})

    def _on_lost(self) -> None:
        self._drop("channel closed", logging.WARNING)

    def _drop(self, why: str, level: int) -> None:
        was_leader = self._token_channel is not None
        if self._renewal is not None:
            self._renewal.cancel()
        self._token = self._token_channel = None
        self.gained.clear()
        self.lost.set()
        self.role.gauge.set(0)
        if was_leader:
            log.log(level, f"{self.role.name} ended", extra={"reason": why})


class NotHeld:
    """A subscription's Gate, open while this replica may not act on the role: another replica
    holds the token, or a former holder's writes may still be landing."""

    def __init__(self, leadership: Leadership) -> None:
        self._leadership = leadership

    @property
    def is_open(self) -> bool:
        return not self._leadership.held or self._leadership.quiet

    async def wait_open(self) -> None:
        await self._leadership.lost.wait()

    async def wait_closed(self) -> None:
        leadership = self._leadership
        while self.is_open:
            if not leadership.held:
                await leadership.gained.wait()
            else:
                await first_of(
                    leadership.lost.wait(), seconds=leadership.quiet_until - time.monotonic()
                )
