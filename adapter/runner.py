"""`dezo-adapter run`: wires the real dependencies and runs the adapter until SIGTERM.

This is the only place that reads `Settings` into the services, with consumer/assembly.py for
the command consumer (imported only by a process that consumes): it builds the ONCOR client,
the broker connection, the services and everything they use, and hands each service the few
settings it needs. Broker tests build the services with these same functions; the fast tests
(tests/unit) build the parts with an in-memory ONCOR and bus instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from adapter.bus.connection import Bus
from adapter.bus.leadership import POLLER, Leadership
from adapter.config import Settings
from adapter.exit_deadline import CLOSING_SLACK, exit_by
from adapter.observability import metrics
from adapter.observability.health import Health, Heartbeat, health_server
from adapter.observability.logs import configure_logging
from adapter.observability.tracing import configure_tracing
from adapter.oncor.api import OncorApi
from adapter.oncor.client import CallObserver, OncorClient
from adapter.publisher.poller import Poller, PollSettings
from adapter.publisher.service import OrderPublisher, PublisherSettings

if TYPE_CHECKING:
    from adapter.consumer.service import CommandConsumer

log = logging.getLogger(__name__)

#: Seconds the event loop may go without running its heartbeat before the process counts as stuck.
EVENT_LOOP_STALL = 30.0
#: Fewer young-generation collections: GC was ~14% of the publisher's CPU on a backlog, and
#: these thresholds took the 2,000-order bench from 283 to 325 orders/s (bench/).
GC_THRESHOLDS = (20_000, 20, 100)

Role = Literal["publisher", "consumer"]
ALL_ROLES: tuple[Role, ...] = ("publisher", "consumer")


def build_oncor_client(settings: Settings, observer: CallObserver) -> OncorClient:
    return OncorClient(
        str(settings.oncor_url),
        settings.oncor_token.get_secret_value(),
        connect_timeout=settings.oncor_connect_timeout,
        read_timeout=settings.oncor_read_timeout,
        max_connections=settings.oncor_max_connections,
        transport=settings.oncor_http_transport,
        retry=settings.retry_policy,
        search=settings.search_policy,
        flow=settings.flow_policy,
        observer=observer,
        circuit_observer=metrics.observe_oncor_circuit,
    )


def build_publisher(settings: Settings, oncor: OncorApi, bus: Bus) -> OrderPublisher:
    return OrderPublisher(
        PublisherSettings(
            poll_interval=settings.poll_interval,
            search_ready_timeout=settings.oncor_search_ready_timeout,
            shutdown_grace=settings.shutdown_grace,
        ),
        Leadership(
            bus,
            POLLER,
            handover_wait=settings.oncor_write_horizon,
            token_check=settings.poll_interval,
        ),
        Poller(poll_settings(settings), oncor, bus),
    )


def poll_settings(settings: Settings) -> PollSettings:
    return PollSettings(
        interval=settings.poll_interval,
        concurrency=settings.poll_concurrency,
        page_size=settings.oncor_page_size,
        from_date=settings.poll_from_date,
        lookback_days=settings.poll_lookback_days,
        zone=settings.zone,
        oncor_origin=settings.oncor_origin,
    )


def secrets_of(settings: Settings) -> list[str]:
    """What must never appear in a log line: the ONCOR token and the broker passwords."""
    passwords = {urlsplit(url).password or "" for url in settings.amqp_urls} - {""}
    return [settings.oncor_token.get_secret_value(), *sorted(passwords)]


async def run(settings: Settings, roles: Sequence[Role] = ALL_ROLES) -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    configure_logging(settings.log_level, secrets_of(settings))
    tracer_provider = configure_tracing()
    for setting in settings.plaintext_endpoints:
        log.warning("not encrypted: use https:// or amqps://", extra={"setting": setting})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if not stop.is_set():
            exit_by(settings.shutdown_grace + CLOSING_SLACK)  # whatever hangs (exit_deadline)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)

    health = Health()
    event_loop = Heartbeat(limit=EVENT_LOOP_STALL)
    beating = asyncio.create_task(event_loop.keep_beating(every=1.0))
    health.add_liveness("event_loop", event_loop.fresh)
    async with contextlib.AsyncExitStack() as resources:
        oncor = await resources.enter_async_context(
            build_oncor_client(settings, metrics.observe_oncor_call)
        )
        bus = Bus(settings.amqp_url.get_secret_value(), topology=settings.topology)
        health.add_readiness("broker_connected", lambda: bus.ready)
        # While the circuit is open: not ready, but alive, since a restart cannot bring ONCOR back.
        health.add_readiness("oncor_reachable", lambda: not oncor.breaker.is_open)
        services: list[OrderPublisher | CommandConsumer] = []
        if "publisher" in roles:
            publisher = build_publisher(settings, oncor, bus)
            health.add_liveness("poller", lambda: publisher.healthy)
            health.add_readiness("leader_consumer", lambda: publisher.electing)
            services.append(publisher)
        if "consumer" in roles:
            from adapter.consumer.assembly import attachment_downloads, build_consumer

            downloads = await resources.enter_async_context(attachment_downloads(settings))
            consumer = build_consumer(settings, oncor, bus, downloads)
            health.add_readiness("commands_consumer", lambda: consumer.consuming)
            services.append(consumer)
        # Every readiness check is in place before the port answers "ready" to anyone; of the
        # resources, the port is the first closed at the end.
        await resources.enter_async_context(health_server(health, settings.http_port))
        try:
            if await _connected_unless_stopped(bus, stop):
                log.info("adapter started", extra={"roles": list(roles)})
                await asyncio.gather(*(service.run(stop) for service in services))
        finally:
            await bus.close()
            beating.cancel()
            if tracer_provider is not None:  # the last spans out, off the event loop
                await asyncio.to_thread(tracer_provider.shutdown)
            log.info("adapter stopped")


async def _connected_unless_stopped(bus: Bus, stop: asyncio.Event) -> bool:
    """Connect (waiting for the broker as long as it takes); False if stopped before that."""
    connecting = asyncio.create_task(bus.connect())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not connecting.done():
        connecting.cancel()
    await asyncio.gather(connecting, stopping, return_exceptions=True)
    if connecting.cancelled():
        return False
    connecting.result()  # raises what connecting raised
    return True
