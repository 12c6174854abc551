"""`dezo-adapter run`: wires the real dependencies and runs the adapter until SIGTERM.

This is the only place that reads `Settings` into the services: it builds the ONCOR client,
the broker connection, the services and everything they use, and hands each service the few
settings it needs. Broker tests build the services with these same functions; the fast tests
(tests/unit) build the parts with an in-memory ONCOR and bus instead.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Sequence
from typing import Literal
from urllib.parse import urlsplit

import httpx

from adapter.bus.connection import Bus
from adapter.bus.leadership import COMMANDS, POLLER, Leadership
from adapter.config import Settings
from adapter.consumer.attachments import AttachmentFetcher, AttachmentLimits
from adapter.consumer.budget import CommandBudget
from adapter.consumer.deliveries import CommandDeliveries
from adapter.consumer.dependencies import Dependencies
from adapter.consumer.dictionaries import DictionaryCache
from adapter.consumer.dispatcher import Dispatcher
from adapter.consumer.documents import DOCUMENTS
from adapter.consumer.service import CommandConsumer, ConsumerSettings
from adapter.consumer.settlement import Settlement
from adapter.exit_deadline import CLOSING_SLACK, exit_by
from adapter.observability import metrics
from adapter.observability.health import Health, Heartbeat, health_server
from adapter.observability.logs import configure_logging
from adapter.observability.tracing import configure_tracing
from adapter.oncor.api import OncorApi
from adapter.oncor.client import CallObserver, OncorClient
from adapter.publisher.poller import Poller, PollSettings
from adapter.publisher.service import OrderPublisher, PublisherSettings

log = logging.getLogger(__name__)

#: Seconds the event loop may go without running its heartbeat before the process counts as stuck.
EVENT_LOOP_STALL = 30.0
#: Seconds between a standby's checks that the commands token exists (a purge drops it).
COMMANDS_TOKEN_CHECK = 10.0

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
        Poller(_poll_settings(settings), oncor, bus),
    )


def _poll_settings(settings: Settings) -> PollSettings:
    return PollSettings(
        interval=settings.poll_interval,
        concurrency=settings.poll_concurrency,
        page_size=settings.oncor_page_size,
        from_date=settings.poll_from_date,
        lookback_days=settings.poll_lookback_days,
        zone=settings.zone,
        oncor_origin=settings.oncor_origin,
    )


def attachment_downloads(settings: Settings) -> httpx.AsyncClient:
    """Downloads of attachments by URL: a client of their own, never the ONCOR client."""
    return httpx.AsyncClient(follow_redirects=True, timeout=settings.attachment_url_timeout)


def build_consumer(
    settings: Settings, oncor: OncorApi, bus: Bus, downloads: httpx.AsyncClient
) -> CommandConsumer:
    """`downloads`: from `attachment_downloads`, closed by the caller after the consumer ran."""
    dictionaries = DictionaryCache(oncor, (spec.dictionary for spec in DOCUMENTS.values()))
    deps = Dependencies(
        oncor=oncor,
        dictionaries=dictionaries,
        attachments=AttachmentFetcher(_attachment_limits(settings), downloads),
        oncor_origin=settings.oncor_origin,
        zone=settings.zone,
    )
    dispatcher = Dispatcher(
        deps,
        retry_budget=len(settings.command_retry_delays),
        write_horizon=settings.oncor_write_horizon,
    )
    deliveries = CommandDeliveries(
        Settlement(bus), dispatcher, max_bytes=settings.command_max_bytes
    )
    budget = CommandBudget(settings.command_memory_budget_bytes)
    own = ConsumerSettings(
        window=settings.command_window,
        dictionary_refresh_interval=settings.dictionary_refresh_interval,
        shutdown_grace=settings.shutdown_grace,
    )
    ownership = Leadership(
        bus,
        COMMANDS,
        handover_wait=settings.oncor_write_horizon,
        token_check=COMMANDS_TOKEN_CHECK,
    )
    return CommandConsumer(
        own, bus, deliveries, dictionaries, budget, ownership, oncor_down=oncor.breaker
    )


def _attachment_limits(settings: Settings) -> AttachmentLimits:
    # A download holds its delivery: enough stay free for a lane of the other commands.
    downloads = settings.command_window.downloads
    return AttachmentLimits(
        inline_max_bytes=settings.attachment_inline_max_bytes,
        url_max_bytes=settings.attachment_url_max_bytes,
        url_timeout=settings.attachment_url_timeout,
        allowed_hosts=settings.allowed_attachment_hosts,
        url_concurrency=min(settings.attachment_url_concurrency, downloads),
        spool_max_bytes=settings.attachment_spool_max_bytes,
    )


def secrets_of(settings: Settings) -> list[str]:
    """What must never appear in a log line: the ONCOR token and the broker passwords."""
    passwords = {urlsplit(url).password or "" for url in settings.amqp_urls} - {""}
    return [settings.oncor_token.get_secret_value(), *sorted(passwords)]


async def run(settings: Settings, roles: Sequence[Role] = ALL_ROLES) -> None:
    # Fewer young-generation collections: GC was ~14% of the publisher's CPU on a backlog, and
    # this threshold took the 2,000-order bench from 283 to 325 orders/s (bench/).
    gc.set_threshold(20_000, 20, 100)
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
    http = health_server(health, settings.http_port)
    http_task = asyncio.create_task(http.serve())

    async with (
        build_oncor_client(settings, metrics.observe_oncor_call) as oncor,
        attachment_downloads(settings) as downloads,
    ):
        bus = Bus(settings.amqp_url.get_secret_value(), topology=settings.topology)
        # Every readiness check is in place before the port answers "ready" to anyone.
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
            consumer = build_consumer(settings, oncor, bus, downloads)
            health.add_readiness("commands_consumer", lambda: consumer.consuming)
            services.append(consumer)
        try:
            if await _connected_unless_stopped(bus, stop):
                log.info("adapter started", extra={"roles": list(roles)})
                await asyncio.gather(*(service.run(stop) for service in services))
        finally:
            await bus.close()
            http.should_exit = True
            await http_task
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
