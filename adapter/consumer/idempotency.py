"""Effect at most once in ONCOR: before writing, find the document an earlier copy wrote.

A command can arrive again for many reasons: the broker redelivered it, it came back from a
retry queue after a write whose answer was lost, the integrator published it twice, or an
operator replayed it a day later after every replica restarted. Process memory knows none of
that reliably, so every document command looks in ONCOR first, through documented calls only:

- `rc/getList?ehr_id=` of the order's EHR lists every record of the patient's disease,
  DEZO documents included (the one documented way to see a reject, which has no search);
- a document is the command's own when it is of the command's class, for the command's order,
  and its PDF was uploaded by this command: our uploads are named `dezo-<digest of the command
  id>-<file name>`, and `attachment/query` gives the name back;
- a document without a PDF carries nothing of ours: it counts as the command's own when its
  code and description are the command's.

The DICOM association is recognised in the order's status history (see handlers).

Residual risk, stated in the README: two different commands for one order with the same code
and description and no PDF count as one; a write that ONCOR applies later than the adapter's
read timeout plus the hand-over wait is not seen in time; attachments of an attempt that failed
after uploading stay unreferenced in ONCOR.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from adapter.messages.commands import DocumentCommand
from adapter.oncor.api import OncorApi
from adapter.oncor.errors import OncorProtocolError, OncorRejected
from adapter.oncor.models import (
    AttachmentMeta,
    DictionaryEntry,
    Rc,
    Tm66Document,
    UnreadableRecord,
)
from adapter.oncor.orid import InvalidOrid, normalize_orid

_TAG_PREFIX = "dezo-"
_TAG_DIGITS = 24  # 96 bits of SHA-256: no collision among a registry's commands
_MAX_NAME = 255


@dataclass(frozen=True)
class ExistingDocument:
    """A document in ONCOR that carries out the command."""

    record_id: str
    attachment_ids: list[str] = field(default_factory=list)


def attachment_name(command_id: str, file_name: str) -> str:
    """The name an upload gets in ONCOR: it says which command uploaded it, first."""
    return f"{_tag(command_id)}-{file_name}"[:_MAX_NAME]


def uploaded_by(command_id: str, name: str | None) -> bool:
    return name is not None and name.startswith(f"{_tag(command_id)}-")


def _tag(command_id: str) -> str:
    return _TAG_PREFIX + hashlib.sha256(command_id.encode()).hexdigest()[:_TAG_DIGITS]


async def find_own_document(
    oncor: OncorApi,
    order: Rc,
    class_name: str,
    command: DocumentCommand,
    command_id: str,
    code_field: str,
) -> ExistingDocument | None:
    """The document of `class_name` this command already wrote for `order`, if any."""
    documents = await order_documents(oncor, order)
    unreadable = [record.id for record in documents.unreadable if record.class_name == class_name]
    if unreadable:  # one of them may be ours: writing blind could make a second
        raise OncorProtocolError(
            "rc/getList", f"cannot read the {class_name} records {unreadable} of the order's EHR"
        )
    candidates = [
        (record, document)
        for record, document in documents.found
        if record.class_name == class_name
    ]
    if command.pdf is None:
        for record, document in candidates:
            if _same_content(document, command, code_field):
                return _existing(record, document)
        return None
    pdfs = await attachments_by_id(oncor, [doc.pdf_id for _, doc in candidates if doc.pdf_id])
    for record, document in candidates:
        pdf = pdfs.get(document.pdf_id or "")
        if pdf is not None and uploaded_by(command_id, pdf.name):  # stale ids are not ours
            return _existing(record, document)
    return None


@dataclass(frozen=True)
class OrderDocuments:
    found: list[tuple[Rc, Tm66Document]]  # every DEZO document of the order, any class
    unreadable: list[UnreadableRecord]  # records of its EHR that do not fit ONCOR's types


async def order_documents(oncor: OncorApi, order: Rc) -> OrderDocuments:
    """The DEZO documents ONCOR holds for an order: `rc/getList` of its EHR, those naming it."""
    if not order.ehr_id:
        raise OncorProtocolError("rc/get", "the order has no ehr_id: cannot look for documents")
    listing = await oncor.list_records(order.ehr_id)
    found = [
        (record, document)
        for record in listing
        if record.id
        and (document := record.document()) is not None
        and _same_orid(document.order_id, order.id or "")
    ]
    return OrderDocuments(found, listing.unreadable)


async def attachments_by_id(oncor: OncorApi, ids: Sequence[str]) -> dict[str, AttachmentMeta]:
    """Attachment id -> its metadata; an id ONCOR refuses (removed, stale) is left out."""
    if not ids:
        return {}
    try:
        metas = await oncor.query_attachments(ids)
    except OncorRejected:
        if len(ids) == 1:
            return {}
        found: dict[str, AttachmentMeta] = {}
        for id_ in ids:
            found.update(await attachments_by_id(oncor, [id_]))
        return found
    return {meta.id: meta for meta in metas if meta.id}


def _same_orid(found: str | None, wanted: str) -> bool:
    try:
        return found is not None and normalize_orid(found) == normalize_orid(wanted)
    except InvalidOrid:
        return False


def _same_content(document: Tm66Document, command: DocumentCommand, code_field: str) -> bool:
    code = getattr(document, code_field, None)
    return (
        isinstance(code, DictionaryEntry)
        and code.code == command.code
        and document.description == command.description
    )


def _existing(record: Rc, document: Tm66Document) -> ExistingDocument:
    assert record.id is not None
    ids = [id_ for id_ in (document.pdf_id, document.pdf_ds_id) if id_]
    return ExistingDocument(record.id, ids)
