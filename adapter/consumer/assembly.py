"""The command consumer put together from the settings: imported only by a process that consumes,
so that a publisher does not load the consumer's libraries (httpx for downloads among them)."""

from __future__ import annotations

import httpx

from adapter.bus.connection import Bus
from adapter.bus.leadership import COMMANDS, Leadership
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
from adapter.oncor.api import OncorApi

#: Seconds between a standby's checks that the commands token exists (a purge drops it).
COMMANDS_TOKEN_CHECK = 10.0


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
