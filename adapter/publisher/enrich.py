"""What a polling cycle asks ONCOR about besides the orders: patients and attachment metadata.

Within one cycle each patient is fetched once, however many of its orders are found close
together (concurrent askers share the one call; a finished call is remembered for as many
patients as there are orders in flight), and each page's attachments are described by one
`attachment/query`.
Remembering every answer of a cycle instead made memory grow with the backlog (134 MB of RSS
on a backlog of 10,000 orders, against 53 MB for the baseline).
Attachment ids can go stale (dezo.md); when ONCOR refuses a batch for one, the batch is narrowed
down to the order's ids, then to single ids, and the order goes out without the stale ones.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from adapter.oncor.api import OncorApi
from adapter.oncor.errors import OncorRejected
from adapter.oncor.models import AttachmentMeta, Patient, Rc

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")

#: Finished calls remembered, besides the patients of the orders in flight (`CycleEnrichment`):
#: the attachments of the pages in flight and the one after (a page's batch may describe a few
#: hundred); the batches narrowed down from a refused one, per order or per id.
REMEMBERED_PAGES = 3
REMEMBERED_NARROWED = 1000


class SharedCalls(Generic[Key, Value]):
    """Memoised async calls: every caller of one key gets the outcome of a single call, as long
    as it is among the last `remembered` calls started."""

    def __init__(self, call: Callable[[Key], Coroutine[Any, Any, Value]], remembered: int) -> None:
        self._call = call
        self._remembered = remembered
        self._calls: dict[Key, asyncio.Task[Value]] = {}  # oldest first

    async def get(self, key: Key) -> Value:
        # Shielded: one caller being cancelled must not cancel the call the others wait for.
        return await asyncio.shield(self.start(key))

    def start(self, key: Key) -> asyncio.Task[Value]:
        """The call for `key`, started now if nobody asked for it before."""
        call = self._calls.get(key)
        if call is None:
            call = self._calls[key] = asyncio.create_task(self._call(key))
            call.add_done_callback(_seen)
            if len(self._calls) > self._remembered:
                self._forget_oldest()
        return call

    def _forget_oldest(self) -> None:
        excess = itertools.islice(self._calls.items(), len(self._calls) - self._remembered)
        # A call still running stays: `cancel` must find it.
        for key in [key for key, call in excess if call.done()]:
            del self._calls[key]

    def cancel(self) -> None:
        for call in self._calls.values():
            call.cancel()


def _seen(call: asyncio.Task[Value]) -> None:
    if not call.cancelled():
        call.exception()  # its callers got it, or were cancelled and no longer care


def attachment_ids(record: Rc) -> list[str]:
    """Every attachment an order refers to: the record's, the protocol's, the documents'."""
    order_ids = record.rc_tm66_order.attachment_ids() if record.rc_tm66_order else []
    return list(dict.fromkeys([*record.attachment_id, *order_ids]))


def page_attachment_ids(records: Sequence[Rc]) -> tuple[str, ...]:
    """The attachments of a whole page of orders, each once: the key of one `attachment/query`."""
    return tuple(dict.fromkeys(id_ for record in records for id_ in attachment_ids(record)))


#: `attachment/query` calls by their batch of attachment ids
Batches = SharedCalls[tuple[str, ...], dict[str, AttachmentMeta]]


@dataclass(frozen=True)
class OrderAttachments:
    """An order's attachments: described by ONCOR, or missing (stale or removed ids)."""

    described: dict[str, AttachmentMeta]
    missing: list[str]


class CycleEnrichment:
    """Patients and attachment metadata for one cycle, with at most `concurrency` calls at once."""

    def __init__(self, oncor: OncorApi, concurrency: int, orders_in_flight: int) -> None:
        self._oncor = oncor
        self._limit = asyncio.Semaphore(concurrency)
        # A patient's orders in flight at once share one call, whatever its age (a call still
        # running is never forgotten); remembering five times as many patients as that took
        # about 1 MB of a 10,000-order backlog's peak, to spare a call now and then.
        self._patients: SharedCalls[str, Patient] = SharedCalls(
            self._fetch_patient, orders_in_flight
        )
        self._pages: Batches = SharedCalls(self._query_attachments, REMEMBERED_PAGES)
        self._narrowed: Batches = SharedCalls(self._query_attachments, REMEMBERED_NARROWED)

    def prefetch_attachments(self, page_ids: tuple[str, ...]) -> None:
        """Describe a page's attachments while its orders fetch their patients: one round trip
        to ONCOR less per order (the first order would otherwise wait for it after its patient).
        """
        if page_ids:
            self._pages.start(page_ids)

    async def patient(self, patient_id: str) -> Patient:
        return await self._patients.get(patient_id)

    async def attachments(self, record: Rc, page_ids: tuple[str, ...]) -> OrderAttachments:
        """The order's attachment metadata by id, from its page's single `attachment/query`."""
        wanted = tuple(attachment_ids(record))
        described = await self._describe(wanted, page_ids) if wanted else {}
        return OrderAttachments(
            {id_: described[id_] for id_ in wanted if id_ in described},
            [id_ for id_ in wanted if id_ not in described],
        )

    async def _describe(
        self, wanted: tuple[str, ...], page_ids: tuple[str, ...]
    ) -> dict[str, AttachmentMeta]:
        # A refused batch (422) holds an id ONCOR does not know: narrow it down. The calls are
        # shared, so the orders of a page narrow down together, each batch asked once.
        for batch, calls in ((page_ids, self._pages), (wanted, self._narrowed)):
            try:
                return await calls.get(batch)
            except OncorRejected:
                continue
        singles = await asyncio.gather(*(self._described_alone(id_) for id_ in wanted))
        return {id_: meta for single in singles for id_, meta in single.items()}

    async def _described_alone(self, attachment_id: str) -> dict[str, AttachmentMeta]:
        try:
            return await self._narrowed.get((attachment_id,))
        except OncorRejected:
            return {}  # stale: the order goes out with this id listed as missing

    def close(self) -> None:
        """Abandon the calls still running: the cycle that needed them is over."""
        for calls in (self._patients, self._pages, self._narrowed):
            calls.cancel()

    async def _fetch_patient(self, patient_id: str) -> Patient:
        async with self._limit:
            return await self._oncor.get_patient(patient_id)

    async def _query_attachments(self, ids: tuple[str, ...]) -> dict[str, AttachmentMeta]:
        async with self._limit:
            metas = await self._oncor.query_attachments(ids)
        return {meta.id: meta for meta in metas if meta.id}
