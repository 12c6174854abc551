"""The consumer's parts wired as the runner wires them, around an in-memory ONCOR and bus."""

from __future__ import annotations

import asyncio
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from adapter.consumer.attachments import AttachmentFetcher, AttachmentLimits
from adapter.consumer.deliveries import CommandDeliveries
from adapter.consumer.dependencies import Dependencies
from adapter.consumer.dictionaries import DictionaryCache
from adapter.consumer.dispatcher import Dispatcher
from adapter.consumer.documents import DOCUMENTS
from adapter.consumer.intake import ReceivedCommand
from adapter.consumer.order_line import OrderTurn
from adapter.consumer.settlement import Settlement
from adapter.consumer.url_policy import AllowedHosts
from adapter.messages.commands import COMMANDS
from adapter.oncor.api import OncorApi
from tests.support.memory_bus import MemoryBus
from tests.support.memory_oncor import MemoryOncor

ORIGIN = "https://oncor.example"
RETRY_BUDGET = 3


#: The one host files may be downloaded from here: listed exactly, so its loopback address is
#: allowed, and served by the `files` transport given to `dependencies` (nothing connects).
FILES_HOST = "127.0.0.1"
URL_CONCURRENCY = 2


async def dependencies(
    oncor: OncorApi, files: httpx.AsyncBaseTransport | None = None
) -> Dependencies:
    dictionaries = DictionaryCache(oncor, (spec.dictionary for spec in DOCUMENTS.values()))
    await dictionaries.load()
    limits = AttachmentLimits(
        inline_max_bytes=1024 * 1024,
        url_max_bytes=1024 * 1024,
        url_timeout=1.0,
        allowed_hosts=AllowedHosts.parse([FILES_HOST]),
        url_concurrency=URL_CONCURRENCY,
        spool_max_bytes=4 * 1024 * 1024,
    )
    downloads = httpx.AsyncClient(
        transport=files or httpx.MockTransport(lambda _: httpx.Response(404))
    )
    return Dependencies(
        oncor=oncor,
        dictionaries=dictionaries,
        attachments=AttachmentFetcher(limits, downloads),
        oncor_origin=ORIGIN,
        zone=ZoneInfo("Europe/Moscow"),
    )


async def dispatcher(
    oncor: MemoryOncor,
    write_horizon: float = 0.0,
    files: httpx.AsyncBaseTransport | None = None,
) -> Dispatcher:
    deps = await dependencies(oncor, files)
    return Dispatcher(deps, retry_budget=RETRY_BUDGET, write_horizon=write_horizon)


def alone() -> OrderTurn:
    """The order's turn for a handler called directly: no other command to wait for."""
    return OrderTurn(asyncio.Lock(), write_horizon=0.0)


async def deliveries(oncor: MemoryOncor, bus: MemoryBus) -> CommandDeliveries:
    return CommandDeliveries(Settlement(bus), await dispatcher(oncor), max_bytes=256 * 1024)


def received(
    name: str, data: dict[str, Any], *, command_id: str = "cmd-1", attempt: int = 0
) -> ReceivedCommand:
    """A command as intake hands it on: read and valid."""
    return ReceivedCommand(command_id, COMMANDS[name].model_validate(data), None, attempt)
