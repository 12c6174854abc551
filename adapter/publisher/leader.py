"""Leader election over the `dezo.poller.leader` queue: the replica holding its token polls ONCOR.

The queue has a single active consumer. Every replica consumes it on a channel of its own with
prefetch 1 and never acknowledges: the broker delivers the token to the active consumer, which
keeps it unacknowledged for as long as it leads. When that consumer's channel or connection
closes, the broker requeues the token and hands it to the next consumer.

Leadership is "I hold a delivery on a channel that is still open". aio-pika restores a closed
channel and its consumer on its own; the restored replica leads again only after a fresh delivery.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import aio_pika
import aiormq
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel
from aiormq.abc import AbstractChannel as WireChannel
from aiormq.exceptions import ChannelInvalidStateError

from adapter.bus.connection import Bus
from adapter.bus.topology import LEADER_QUEUE
from adapter.observability import metrics

log = logging.getLogger(__name__)

TOKEN = b"dezo poller leadership token"
#: RabbitMQ closes a channel whose delivery stays unacknowledged past its `consumer_timeout`
#: (30 minutes by default), so the leader hands its token back, and gets it again, well before.
TOKEN_RENEWAL = 600.0


class Leadership:
    """This replica's claim on the poller; `held` is the truth, the events wake waiters."""

    def __init__(self, bus: Bus, *, renew_after: float = TOKEN_RENEWAL) -> None:
        self._bus = bus
        self._renew_after = renew_after
        self._channel: AbstractRobustChannel | None = None
        self._token: AbstractIncomingMessage | None = None
        self._token_channel: WireChannel | None = None
        self._renewal: asyncio.TimerHandle | None = None
        self._hand_back: asyncio.Task[None] | None = None
        self._wire: aiormq.Channel | None = None  # the AMQP channel under `_channel` now
        self._tag: str | None = None
        self.gained = asyncio.Event()
        self.lost = asyncio.Event()
        self.lost.set()

    @property
    def held(self) -> bool:
        channel = self._token_channel
        return channel is not None and not channel.is_closed

    @property
    def consuming(self) -> bool:
        """This replica takes part in the election: its consumer stands on the leader queue."""
        wire = self._wire
        return wire is not None and not wire.is_closed and self._tag in wire.consumers

    async def start(self) -> None:
        """Join the election: consume the leader queue, and make sure a token exists."""
        self._channel = await self._bus.channel(prefetch=1, publisher_confirms=False)
        self._channel.close_callbacks.add(self._on_channel_closed)
        self._channel.reopen_callbacks.add(self._on_channel_reopened)
        queue = await self._channel.get_queue(LEADER_QUEUE)  # declared by the topology
        self._tag = await queue.consume(self._on_token)
        await self._on_channel_reopened()
        await self.ensure_token()

    async def ensure_token(self) -> None:
        """Publish a token when none is ready in the queue.

        The leader's token is unacknowledged, not ready, so followers add a spare one: harmless,
        since only the single active consumer gets deliveries, and `x-max-length: 1` keeps it one.
        """
        probe = await self._bus.channel(publisher_confirms=False)
        try:
            queue = await probe.declare_queue(LEADER_QUEUE, passive=True, robust=False)
            ready = queue.declaration_result.message_count
        finally:
            await probe.close()
        if not ready:
            token = aio_pika.Message(TOKEN, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await self._bus.publish("", LEADER_QUEUE, token)

    async def close(self) -> None:
        """Leave the election; closing the channel hands the token to the next replica."""
        self._drop("stepped down", logging.INFO)  # first, so the close is not taken for a loss
        if self._channel is not None:
            await self._channel.close()

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
            log.debug("poller leadership token renewed")
            return
        self.lost.clear()
        self.gained.set()
        metrics.poller_leader.set(1)
        log.info("poller leadership gained")

    def _renew(self) -> None:
        if self._token is not None and self.held:
            self._hand_back = asyncio.create_task(self._requeue(self._token))

    async def _requeue(self, token: AbstractIncomingMessage) -> None:
        # Still the single active consumer, this replica gets the requeued token straight back.
        try:
            await token.reject(requeue=True)
        except Exception as exc:  # the channel closed meanwhile: that is a loss, handled there
            log.debug("could not renew the leadership token", extra={"error": repr(exc)})

    async def _on_channel_reopened(self, *_: Any) -> None:
        # aio-pika has restored the consumer on a new AMQP channel, or says it has: `consuming`
        # looks there.
        if self._channel is not None:
            self._wire = cast(aiormq.Channel, await self._channel.get_underlay_channel())

    def _on_channel_closed(self, *_: Any) -> None:
        if not self.held:  # a late callback must not drop a token delivered after a reopen
            self._drop("channel closed", logging.WARNING)

    def _drop(self, why: str, level: int) -> None:
        was_leader = self._token_channel is not None
        if self._renewal is not None:
            self._renewal.cancel()
        self._token = self._token_channel = None
        self.gained.clear()
        self.lost.set()
        metrics.poller_leader.set(0)
        if was_leader:
            log.log(level, "poller leadership ended", extra={"reason": why})
