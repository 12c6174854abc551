"""One robust broker connection per process, with a confirmed publisher on top of it.

aio-pika's robust connection reconnects with backoff and restores channels; after every
(re)connect we declare the topology again, and `ready` says whether both have happened.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection
from aio_pika.exceptions import AMQPConnectionError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_random_exponential

from adapter.bus.topology import TopologySettings, declare_topology
from adapter.observability import metrics

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0


class Bus:
    """The broker as the adapter sees it: connect, declare, publish with confirms."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "dezo-adapter",
        topology: TopologySettings | None = None,
        reconnect_interval: float = 2.0,
    ) -> None:
        self._url = url
        self._name = name
        self._topology_settings = topology or TopologySettings()
        self._reconnect_interval = reconnect_interval
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._declared = asyncio.Event()
        self._closing = False

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("Bus.connect() has not been called")
        return self._connection

    @property
    def ready(self) -> bool:
        """Connected, and the topology declared on this connection."""
        connection = self._connection
        return (
            connection is not None
            and not connection.is_closed
            and not connection.reconnecting
            and self._declared.is_set()
        )

    async def connect(self) -> None:
        self._connection = connection = await self._open()
        connection.close_callbacks.add(self._on_close)
        connection.reconnect_callbacks.add(self._on_reconnect)
        self._publish_channel = await self.channel(publisher_confirms=True)
        await self._declare()

    async def _open(self) -> AbstractRobustConnection:
        """Connect, waiting with backoff while the broker is not there yet (a pod may start
        before RabbitMQ does); after this first connection aio-pika reconnects by itself."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((AMQPConnectionError, OSError, asyncio.TimeoutError)),
            wait=wait_random_exponential(multiplier=0.5, max=30),
            before_sleep=lambda state: log.warning(
                "broker not reachable, retrying",
                extra={"connection": self._name, "attempt": state.attempt_number},
            ),
        )
        async for attempt in retrying:
            with attempt:
                return await aio_pika.connect_robust(
                    self._url,
                    client_properties={"connection_name": self._name},
                    reconnect_interval=self._reconnect_interval,
                    timeout=CONNECT_TIMEOUT,
                )
        raise AssertionError("retries forever")  # pragma: no cover

    async def channel(
        self, *, prefetch: int | None = None, publisher_confirms: bool = True
    ) -> AbstractRobustChannel:
        channel: AbstractRobustChannel = await self.connection.channel(
            publisher_confirms=publisher_confirms, on_return_raises=publisher_confirms
        )
        if prefetch is not None:
            await channel.set_qos(prefetch_count=prefetch)
        return channel

    async def publish(
        self, exchange: str, routing_key: str, message: aio_pika.Message, *, mandatory: bool = True
    ) -> None:
        """Publish and wait for the broker's confirm; an unroutable message raises.

        Many publishes may be in flight at once on the shared channel: each awaits only its own
        confirm, which is what keeps throughput in the thousands per second.
        """
        if self._publish_channel is None:
            raise RuntimeError("Bus.connect() has not been called")
        target = (
            self._publish_channel.default_exchange
            if exchange == ""
            else await self._publish_channel.get_exchange(exchange, ensure=False)
        )
        await target.publish(message, routing_key=routing_key, mandatory=mandatory)

    async def close(self) -> None:
        self._closing = True
        if self._connection is not None:
            await self._connection.close()

    async def _declare(self) -> None:
        channel = await self.channel(publisher_confirms=False)
        try:
            await declare_topology(channel, self._topology_settings)
        finally:
            await channel.close()
        self._declared.set()
        metrics.broker_connected.set(1)

    def _on_close(self, *_: Any) -> None:
        self._declared.clear()
        metrics.broker_connected.set(0)
        if not self._closing:
            log.warning("broker connection lost", extra={"connection": self._name})

    async def _on_reconnect(self, *_: Any) -> None:
        await self._declare()
        log.info("broker connection restored", extra={"connection": self._name})
