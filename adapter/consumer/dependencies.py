"""What the handlers need from the outside world, in one object built by the service."""

from __future__ import annotations

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
