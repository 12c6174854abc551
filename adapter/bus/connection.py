"""One robust broker connection per process, with a confirmed publisher on top of it.

aio-pika's robust connection reconnects with backoff and restores channels; after every
(re)connect we declare the topology again, and `ready` says whether both have happened.
aio-pika reconnects to the URL it was given, so `FailoverConnection` moves each attempt to the
next broker address: a cluster's nodes in an order shuffled per process, so that replicas
spread over the nodes and a dead node is left after one failed attempt.
Consumers that must not go missing take a `consumer_channel` instead, which aio-pika leaves
alone: their owner opens a fresh one and consumes again itself after every loss.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustChannel
from aio_pika.exceptions import AMQPConnectionError
from aio_pika.robust_connection import RobustConnection
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential
from yarl import URL

from adapter.bus.address import broker_address, broker_urls
from adapter.bus.topology import TopologySettings, declare_topology, retry_queue_name
from adapter.observability import metrics

log = logging.getLogger(__name__)
#: aio-pika logs each failed reconnect here; `Bus` turns those of its connection into its own line.
_reconnect_log = logging.getLogger("aio_pika.robust_connection")

CONNECT_TIMEOUT = 30.0
#: How often `wait_ready` looks again while the connection is back but not yet declared.
READY_POLL = 0.1


class FailoverConnection(RobustConnection):
    """A robust connection that makes each connection attempt to the next of several URLs."""

    def __init__(self, urls: Sequence[str], **kwargs: Any) -> None:
        self._urls = itertools.cycle(urls)
        super().__init__(URL(next(self._urls)), **kwargs)
        self._attempted = False

    async def _RobustConnection__connect_transport(self) -> None:
        # The one step of aio-pika's reconnect loop that opens a transport (to `self.url`):
        # every attempt but the very first goes to the next address. Guarded by the tests of
        # failover (tests/bus/test_failover.py), which fail if aio-pika renames it.
        if self._attempted:
            self.url = URL(next(self._urls))
        self._attempted = True
        await super()._RobustConnection__connect_transport()  # type: ignore[misc]


class Bus:
    """The broker as the adapter sees it: connect, declare, publish with confirms."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "dezo-adapter",
        topology: TopologySettings | None = None,
        reconnect_interval: float = 2.0,
        declare: bool = True,
    ) -> None:
        """`url` is one broker URL or a comma-separated list (see `address.broker_urls`).

        `declare=False` is for tools that only use what the adapter declared: their
        defaults must not clash with the arguments the adapter's settings gave the queues."""
        urls = broker_urls(url)
        self._order = random.sample(urls, len(urls))
        self._name = name
        self._topology_settings = topology or TopologySettings()
        self._reconnect_interval = reconnect_interval
        self._declares = declare
        self._connection: FailoverConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._declared = asyncio.Event()
        self._redeclaring: asyncio.Task[None] | None = None
        self._closing = False
        self._reconnect_attempt = 0

    @property
    def connection(self) -> FailoverConnection:
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

    async def wait_ready(self) -> None:
        """Return once `ready` holds."""
        while not self.ready:
            await self._declared.wait()
            if not self.ready:
                await asyncio.sleep(READY_POLL)

    async def connect(self) -> None:
        self._connection = connection = await self._open()
        connection.close_callbacks.add(self._on_close)
        connection.reconnect_callbacks.add(self._on_reconnect)
        _reconnect_log.addFilter(self._fold_reconnect_failure)
        self._publish_channel = await self.channel(publisher_confirms=True)
        await self._declare()

    @property
    def broker(self) -> str:
        """The address connected to (or being tried), without credentials."""
        url = self._connection.url if self._connection is not None else self._order[0]
        return broker_address(str(url))

    async def _open(self) -> FailoverConnection:
        """Connect, waiting with backoff while no broker answers yet (a pod may start before
        RabbitMQ does), each try on the next address; after this first connection aio-pika
        reconnects by itself, through `FailoverConnection`."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((AMQPConnectionError, OSError, asyncio.TimeoutError)),
            wait=wait_random_exponential(multiplier=0.5, max=30),
            before_sleep=self._report_retry,
        )
        async for attempt in retrying:
            with attempt:
                self._connection = connection = FailoverConnection(
                    self._order,
                    client_properties={"connection_name": self._name},
                    reconnect_interval=self._reconnect_interval,
                )
                # a failed try starts the next one at the next address
                self._order = [*self._order[1:], self._order[0]]
                await connection.connect(timeout=CONNECT_TIMEOUT)
                return connection
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

    async def consumer_channel(self, *, prefetch: int) -> AbstractChannel:
        """A channel aio-pika does not restore, for a consumer whose owner re-registers it.

        After a broker restart a restored consumer can be silently missing (aio-pika issues 231,
        334, 626); an owner that consumes again on a fresh channel knows that it consumes.
        """
        channel = aio_pika.Channel(self.connection, publisher_confirms=False)
        await channel.initialize()
        try:
            await channel.set_qos(prefetch_count=prefetch)
        except BaseException:
            await channel.close()
            raise
        return channel

    def retry_queue(self, step: int) -> str:
        """The queue of the `step`-th delayed retry (1-based), as this topology declares it."""
        return retry_queue_name(self._topology_settings.retry_delays[step - 1])

    @property
    def handover_queue(self) -> str:
        """Where a redelivered command waits out the writes of its former owner."""
        return retry_queue_name(self._topology_settings.handover_delay)

    async def publish(
        self, exchange: str, routing_key: str, message: aio_pika.Message, *, mandatory: bool = True
    ) -> None:
        """Publish and wait for the broker's confirm; an unroutable message raises.

        Many publishes may be in flight at once on the shared channel: each awaits only its own
        confirm, which is what keeps throughput in the thousands per second.
        """
        if self._publish_channel is None:
            raise RuntimeError("Bus.connect() has not been called")
        # The broker refuses a user_id that is not the login of the connection.
        message.user_id = self.connection.url.user
        target = (
            self._publish_channel.default_exchange
            if exchange == ""
            else await self._publish_channel.get_exchange(exchange, ensure=False)
        )
        await target.publish(message, routing_key=routing_key, mandatory=mandatory)

    async def close(self) -> None:
        self._closing = True
        _reconnect_log.removeFilter(self._fold_reconnect_failure)
        if self._redeclaring is not None:
            self._redeclaring.cancel()
        if self._connection is not None:
            await self._connection.close()

    async def _declare(self) -> None:
        if not self._declares:
            self._declared.set()
            return
        channel = await self.channel(publisher_confirms=False)
        try:
            await declare_topology(channel, self._topology_settings)
        finally:
            await channel.close()
        self._declared.set()
        metrics.broker_connected.set(1)

    def _on_close(self, *args: Any) -> None:
        was_ready = self._declared.is_set()
        self._declared.clear()
        metrics.broker_connected.set(0)
        # aio-pika calls this again after each failed reconnect: those are told as attempts
        if was_ready and not self._closing:
            log.warning(
                "broker connection lost",
                extra={
                    "connection": self._name,
                    "broker": self.broker,
                    "error": _describe(_first_error(args)),
                },
            )

    def _report_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        self._report_attempt(state.attempt_number, delay, error)

    def _fold_reconnect_failure(self, record: logging.LogRecord) -> bool:
        """A filter on aio-pika's reconnect log: a failed reconnect of our connection is told
        by `_report_attempt` instead, so each attempt is one line in the adapter's words."""
        args = record.args if isinstance(record.args, tuple) else ()
        if not args or args[0] is not self._connection or "attempt" not in str(record.msg):
            return True
        self._reconnect_attempt += 1
        self._report_attempt(self._reconnect_attempt, self._reconnect_interval, _first_error(args))
        return False

    def _report_attempt(self, attempt: int, delay: float, error: BaseException | None) -> None:
        """One line per failed attempt to reach the broker, at the first connect or after a loss."""
        log.warning(
            "broker not reachable, retrying",
            extra={
                "connection": self._name,
                "broker": self.broker,
                "attempt": attempt,
                "retry_in": round(delay, 1),
                "error": _describe(error),
            },
        )

    def _on_reconnect(self, *_: Any) -> None:
        self._reconnect_attempt = 0
        # aio-pika swallows a failing reconnect callback, which would leave `ready` false for
        # good: declare in a task of our own that keeps trying.
        if self._redeclaring is not None:
            self._redeclaring.cancel()
        self._redeclaring = asyncio.create_task(self._redeclare())

    async def _redeclare(self) -> None:
        while not self._closing:
            try:
                await asyncio.wait_for(self._declare(), CONNECT_TIMEOUT)
            except Exception as exc:
                log.warning(
                    "could not declare the topology after a reconnect, retrying",
                    extra={"connection": self._name, "error": repr(exc)},
                )
                await asyncio.sleep(self._reconnect_interval)
            else:
                log.info("broker connection restored", extra={"connection": self._name})
                return


def _first_error(args: tuple[object, ...]) -> BaseException | None:
    return next((arg for arg in args if isinstance(arg, BaseException)), None)


def _describe(error: BaseException | None) -> str | None:
    return (str(error) or type(error).__name__) if error is not None else None
