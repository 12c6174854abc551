"""What the handlers need from the outside world, in one object built by the service; and the
turn a handler takes on its order (given by the dispatcher, per command)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from adapter.consumer.attachments import AttachmentFetcher
from adapter.consumer.dictionaries import DictionaryCache
from adapter.oncor.api import OncorApi


@dataclass(frozen=True)
class Dependencies:
    oncor: OncorApi
    dictionaries: DictionaryCache
    attachments: AttachmentFetcher
    oncor_origin: str  # for /ui-orid/ links
    zone: ZoneInfo  # ONCOR's clock


#: `async with turn():` the command's order to itself, for what must not interleave with the
#: order's other commands (see dispatcher).
OrderTurn = Callable[[], AbstractAsyncContextManager[None]]
