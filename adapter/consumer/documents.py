"""Where a reject, a conclusion or an expertise is delivered to ONCOR.

The four DEZO documents take one path — check the code and the inline files, check the order,
download the files given by URL, then, in their turn on the order, look for the document an
earlier copy of the command wrote, upload the PDF, upload its signature, create the document,
announce it — and differ only in a small specification: which ONCOR method, which dictionary,
which record field holds the code, and whether it ends the order (for the turnaround metric).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from adapter.consumer.attachments import ReadyAttachment, upload
from adapter.consumer.dependencies import Dependencies
from adapter.consumer.idempotency import ExistingDocument, attachment_name, find_own_document
from adapter.consumer.intake import ReceivedCommand
from adapter.consumer.order_line import OrderTurn
from adapter.messages.commands import (
    AddConclusion,
    AddDicomExpertise,
    AddProtocolExpertise,
    DocumentCommand,
    InlineAttachment,
    RejectOrder,
    UrlAttachment,
)
from adapter.messages.outcomes import CommandSucceeded
from adapter.observability import metrics, tracing
from adapter.oncor.api import OncorApi
from adapter.oncor.errors import OncorProtocolError
from adapter.oncor.models import (
    DictionaryEntry,
    MedDepart,
    MedResource,
    Rc,
    RcTm66OrderConclusion,
    RcTm66OrderExpertiseDicom,
    RcTm66OrderExpertiseProtocol,
    RcTm66OrderReject,
    Tm66Dictionary,
    Tm66Document,
)
from adapter.oncor.orid import ui_link
from adapter.oncor.timestamps import parse_oncor_time

log = logging.getLogger(__name__)

RecordT = TypeVar("RecordT", bound=Tm66Document)


@dataclass(frozen=True)
class DocumentSpec(Generic[RecordT]):
    """What makes one kind of DEZO document different from the others."""

    command: type[DocumentCommand]
    record: type[RecordT]
    add: Callable[[OncorApi, RecordT], Awaitable[Rc]]  # the ONCOR method that creates it
    dictionary: Tm66Dictionary  # where its code must be listed
    code_field: str  # the record field holding the code, e.g. `conclusion`
    turnaround: str | None  # it completes the order: the dezo_order_turnaround_seconds label


REJECT = DocumentSpec(
    RejectOrder,
    RcTm66OrderReject,
    lambda oncor, document: oncor.add_reject(document),
    dictionary="Tm66OrderRejectReason",
    code_field="reason",
    turnaround="reject",
)
CONCLUSION = DocumentSpec(
    AddConclusion,
    RcTm66OrderConclusion,
    lambda oncor, document: oncor.add_conclusion(document),
    dictionary="Tm66ConclusionType",
    code_field="conclusion",
    turnaround="conclusion",
)
DICOM_EXPERTISE = DocumentSpec(
    AddDicomExpertise,
    RcTm66OrderExpertiseDicom,
    lambda oncor, document: oncor.add_expertise_dicom(document),
    dictionary="Tm66ExpertDicomResult",
    code_field="result",
    turnaround=None,
)
PROTOCOL_EXPERTISE = DocumentSpec(
    AddProtocolExpertise,
    RcTm66OrderExpertiseProtocol,
    lambda oncor, document: oncor.add_expertise_protocol(document),
    dictionary="Tm66ExpertProtocolResult",
    code_field="result",
    turnaround=None,
)
#: Command name -> its specification.
DOCUMENTS: dict[str, DocumentSpec[Any]] = {
    spec.command.name: spec for spec in (REJECT, CONCLUSION, DICOM_EXPERTISE, PROTOCOL_EXPERTISE)
}


async def deliver_document(
    spec: DocumentSpec[RecordT], received: ReceivedCommand, deps: Dependencies, turn: OrderTurn
) -> CommandSucceeded:
    """Check the code, the files and the order, answer from ONCOR if an earlier copy already
    wrote the document, else upload the PDF and its signature and create the document."""
    command = received.command
    assert isinstance(command, spec.command)
    deps.dictionaries.check(spec.dictionary, command.code)
    files = {"pdf": command.pdf, "signature": command.signature}
    async with AsyncExitStack() as stack:
        ready: dict[str, ReadyAttachment] = {}

        async def make_ready(inline: bool) -> None:
            for what, ref in files.items():
                if ref is not None and isinstance(ref, InlineAttachment) == inline:
                    ready[what] = await stack.enter_async_context(
                        deps.attachments.ready(ref, what, must_be_pdf=what == "pdf")
                    )

        async def written_before() -> CommandSucceeded | None:
            existing = await find_own_document(
                deps.oncor,
                order,
                spec.record.__name__,
                command,
                received.command_id,
                spec.code_field,
            )
            if existing is None:
                return None
            log.info(
                "document already in ONCOR, not written again",
                extra={
                    "command_id": received.command_id,
                    "order_id": command.order_id,
                    "record_id": existing.record_id,
                },
            )
            metrics.command_duplicates.labels(command.name).inc()
            return _succeeded(received, deps, existing)

        # Inline files are checked before ONCOR is asked anything. Files by URL are fetched
        # only for an order that exists and lacks this command's document, with the command
        # out of its order's line: a slow host holds only this command. The turn looks again
        # (another copy may have written meanwhile) and writes.
        await make_ready(inline=True)
        order = await deps.oncor.get_record(command.order_id)
        if any(isinstance(ref, UrlAttachment) for ref in files.values()):
            if done := await written_before():
                return done
            turn.step_aside()
            with tracing.span("downloads"):
                await make_ready(inline=False)
        async with turn():
            if done := await written_before():
                return done
            with tracing.span("attachments"):  # uploads to ONCOR
                pdf_id = await _upload(deps, ready.get("pdf"), received.command_id)
                signature_id = await _upload(deps, ready.get("signature"), received.command_id)
            created = await spec.add(deps.oncor, _record(spec, command, pdf_id, signature_id))
    if not created.id:
        raise OncorProtocolError(spec.record.__name__, "the created document has no id")
    if spec.turnaround is not None:
        _observe_turnaround(order, spec.turnaround, deps)
    attachment_ids = [id_ for id_ in (pdf_id, signature_id) if id_]
    return _succeeded(received, deps, ExistingDocument(created.id, attachment_ids))


async def _upload(
    deps: Dependencies, attachment: ReadyAttachment | None, command_id: str
) -> str | None:
    if attachment is None:
        return None
    return await upload(deps.oncor, attachment, attachment_name(command_id, attachment.name))


def _record(
    spec: DocumentSpec[RecordT],
    command: DocumentCommand,
    pdf_id: str | None,
    signature_id: str | None,
) -> RecordT:
    department = command.expert_department_id
    return spec.record.model_validate(
        {
            "order_id": command.order_id,
            spec.code_field: DictionaryEntry(code=command.code),
            "description": command.description,
            "pdf_id": pdf_id,
            "pdf_ds_id": signature_id,
            "expert": MedResource(id=command.expert_id),
            "expert_d": MedDepart(id=department) if department else None,
        }
    )


def _succeeded(
    received: ReceivedCommand, deps: Dependencies, document: ExistingDocument
) -> CommandSucceeded:
    return CommandSucceeded(
        command=received.name,
        command_id=received.command_id,
        order_id=received.command.order_id,
        record_id=document.record_id,
        ui_link=ui_link(deps.oncor_origin, document.record_id),
        attachment_ids=document.attachment_ids,
    )


def _observe_turnaround(order: Rc, outcome: str, deps: Dependencies) -> None:
    created = order.created
    if created:
        seconds = time.time() - parse_oncor_time(created, deps.zone).timestamp()
        metrics.order_turnaround.labels(outcome).observe(max(seconds, 0.0))
