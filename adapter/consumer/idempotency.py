"""Effect at most once in ONCOR, outcome exactly once per command id (DESIGN §4).

Two guards, because a command can come back for two different reasons:

1. **Ledger** (in process): the outcomes of the last `capacity` commands that succeeded, by
   command id. A command id seen again (published twice, or redelivered after its outcome was
   confirmed but before the ack) gets the same outcome again, with the same event id, and ONCOR
   is not called. Failures are not remembered, so a dead letter replayed after a fix runs again.
2. **Reconciliation** (in ONCOR, survives restarts): before writing, a command whose effect may
   already exist looks for it. A command is *suspect* when the broker redelivered it
   (`redelivered`, `x-delivery-count`), it comes back from a retry queue (`x-dezo-attempt`,
   `x-death`) or it is a replayed dead letter (`x-dezo-reason`, `x-dezo-replayed`); a reject or
   conclusion is also checked whenever the order's status history already holds the status
   that document sets (`Отказ`, `Заключение`). Conclusions and expertises are searched with
   `search/start/RcTm66Order*Query` from the order's creation date and matched on order,
   code, description and expert; ONCOR has no public search for rejects, so a reject counts as
   done when the order's history holds `Отказ` (the outcome then names the order as record).
   A DICOM association looks for the same status and link in the order's status history.

Residual risk: the same command id published twice and taken by two replicas at once (or by
one after a restart, as a first delivery) writes twice for an expertise, whose order status does
not change; and two copies in flight at once (a retry-queue copy and a redelivered original
after a crash between publishing the copy and the ack) may both pass reconciliation before
either writes. Attachments uploaded by an attempt that failed afterwards stay unreferenced.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aio_pika.abc import AbstractIncomingMessage

from adapter.consumer.settlement import REASON_HEADER, REPLAYED_HEADER
from adapter.messages.outcomes import CommandSucceeded
from adapter.oncor.client import DocumentSearch, OncorClient
from adapter.oncor.models import DocumentQuery, Rc


class Ledger:
    """Outcomes of recently succeeded commands, by command id; bounded, oldest forgotten."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._outcomes: OrderedDict[str, CommandSucceeded] = OrderedDict()

    def recall(self, command_id: str) -> CommandSucceeded | None:
        outcome = self._outcomes.get(command_id)
        if outcome is not None:
            self._outcomes.move_to_end(command_id)
        return outcome

    def remember(self, outcome: CommandSucceeded) -> None:
        self._outcomes[outcome.command_id] = outcome
        self._outcomes.move_to_end(outcome.command_id)
        while len(self._outcomes) > self._capacity:
            self._outcomes.popitem(last=False)


def may_have_taken_effect(message: AbstractIncomingMessage, attempt: int) -> bool:
    """Whether an earlier delivery of this message may have written to ONCOR already."""
    headers: dict[str, Any] = message.headers
    delivery_count = headers.get("x-delivery-count")
    return (
        bool(message.redelivered)
        or attempt > 0
        or (isinstance(delivery_count, int) and delivery_count > 0)
        or REASON_HEADER in headers  # a dead letter replayed as it was
        or REPLAYED_HEADER in headers  # a dead letter replayed by `dezo-adapter dead replay`
        or "x-death" in headers  # dead-lettered by the broker at some point, then replayed
    )


@dataclass(frozen=True)
class ExistingDocument:
    """A document found in ONCOR that already carries out the command."""

    record_id: str
    attachment_ids: list[str] = field(default_factory=list)


async def order_has_had_status(oncor: OncorClient, order_id: str, status: str) -> bool:
    return status in (await oncor.get_instance_status(order_id)).all_statuses()


async def find_document(
    oncor: OncorClient, search: DocumentSearch, since: str | None, matches: Callable[[Rc], bool]
) -> ExistingDocument | None:
    """Search the documents of one kind created since a date (YYYY-MM-DD) for one that matches."""
    job = await oncor.start_document_search(search, DocumentQuery(from_date=since))
    async for page in oncor.iter_search(job.id):
        for record in page:
            document = record.document()
            if record.id and document is not None and matches(record):
                ids = [id_ for id_ in (document.pdf_id, document.pdf_ds_id) if id_]
                return ExistingDocument(record.id, ids)
    return None
