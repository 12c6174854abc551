"""An in-memory ONCOR implementing `OncorApi`, behaving like the emulator for what it covers.

Orders, patients, attachments, DEZO documents, statuses with their history, dictionaries, and
order searches; unknown ids and codes are refused with `OncorRejected` (HTTP 422), as ONCOR
does. Faults are scripted per method: `fail("add_conclusion", error)` makes the next call raise,
`fail(..., after_applying=True)` makes it take effect first and then raise, like a write whose
answer was lost (`maybe_applied`). Every call is recorded in `calls`, by method name.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapter.emulator.dictionaries import DIRECTORIES
from adapter.oncor.attachment_body import AttachmentContent, Base64File
from adapter.oncor.errors import OncorError, OncorRejected, OncorUnavailable
from adapter.oncor.models import (
    AttachmentMeta,
    DictionaryEntry,
    InstanceStatus,
    Patient,
    Published,
    Rc,
    RcTm66Order,
    RcTm66OrderConclusion,
    RcTm66OrderExpertiseDicom,
    RcTm66OrderExpertiseProtocol,
    RcTm66OrderQuery,
    RcTm66OrderReject,
    SearchJob,
    SearchPage,
    Tm66Dictionary,
    Tm66Document,
)
from adapter.oncor.orid import normalize_orid
from adapter.oncor.status import format_status

RECORD_NOT_FOUND = "RecordNotFoundException"
INVALID_ARGUMENTS = "InvalidArgumentsException"

#: The dictionaries and experts the emulator serves, taken from it.
DOCUMENT_DICTIONARIES = (
    "Tm66OrderRejectReason",
    "Tm66ConclusionType",
    "Tm66ExpertDicomResult",
    "Tm66ExpertProtocolResult",
)
CREATED = "2026-11-20 10:00:00"


def not_found(method: str, what: str) -> OncorRejected:
    return OncorRejected(method, RECORD_NOT_FOUND, f"{what} not found", "0f3c-memory")


def lost_answer(method: str) -> OncorUnavailable:
    """A write whose answer never came: it may have been applied."""
    return OncorUnavailable(method, "read timeout", maybe_applied=True)


@dataclass
class _Fault:
    error: OncorError
    after_applying: bool
    times: int


class MemoryBreaker:
    """The circuit breaker's face as the services see it: `is_open`, and waits on it."""

    def __init__(self) -> None:
        self._closed = asyncio.Event()
        self._closed.set()
        self._opened = asyncio.Event()

    @property
    def is_open(self) -> bool:
        return not self._closed.is_set()

    def open(self) -> None:
        self._closed.clear()
        self._opened.set()

    def close(self) -> None:
        self._opened.clear()
        self._closed.set()

    async def wait_open(self) -> None:
        await self._opened.wait()

    async def wait_closed(self) -> None:
        await self._closed.wait()


@dataclass
class _Statuses:
    current: InstanceStatus | None = None
    history: list[InstanceStatus] = field(default_factory=list)


class MemoryOncor:
    def __init__(self, *, page_size: int = 3) -> None:
        self.breaker = MemoryBreaker()
        self.page_size = page_size
        self.calls: list[str] = []
        self.records: dict[str, Rc] = {}
        self.odd_entries: list[dict[str, Any]] = []  # records no documented type allows
        self.patients: dict[str, Patient] = {}
        self.attachments: dict[str, tuple[AttachmentMeta, bytes]] = {}
        self.dictionaries = {
            name: [str(entry["code"]) for entry in DIRECTORIES[name]]
            for name in DOCUMENT_DICTIONARIES
        }
        self.experts = {str(entry["id"]) for entry in DIRECTORIES["MedResource"]}
        self._statuses: dict[str, _Statuses] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._ids = itertools.count(1)
        self._searches: dict[str, list[Any]] = {}

    # --- arranging ---------------------------------------------------------------------------

    def new_id(self, cluster: int = 90) -> str:
        return f"#{cluster}:{next(self._ids)}"

    def add_order(
        self,
        *,
        patient_id: str | None = None,
        attachment_ids: Sequence[str] = (),
        created: str = CREATED,
        deleted: bool = False,
    ) -> Rc:
        """An order of a new patient (and EHR), without a status."""
        patient = patient_id or self.add_patient().id
        order = Rc(
            id=self.new_id(30),
            class_name="RcTm66Order",
            patient_id=patient,
            ehr_id=self.new_id(40),
            published=Published(user_id="#5:1", time=created),
            time_rc=created,
            attachment_id=list(attachment_ids),
            deleted_status=["RC"] if deleted else [],
            rc_tm66_order=RcTm66Order(description="MRI of the knee"),
        )
        assert order.id is not None
        self.records[order.id] = order
        return order

    def add_patient(self) -> Patient:
        patient = Patient(id=self.new_id(20), first_name="Ivan", last_name="Ivanov")
        assert patient.id is not None
        self.patients[patient.id] = patient
        return patient

    def add_attachment(
        self, name: str, data: bytes = b"%PDF-1.4 x", kind: str = "application/pdf"
    ) -> str:
        id_ = self.new_id(60)
        self.attachments[id_] = (AttachmentMeta(id=id_, name=name, type=kind, size=len(data)), data)
        return id_

    def add_unreadable_record(self, class_name: str, ehr_id: str | None = None) -> str:
        """A record no documented type allows, found by searches and in its EHR's listing."""
        id_ = self.new_id(70)
        self.odd_entries.append(
            {"id": id_, "class_name": class_name, "ehr_id": ehr_id, "deleted_status": 7}
        )
        return id_

    def fail(
        self, method: str, error: OncorError, *, after_applying: bool = False, times: int = 1
    ) -> None:
        """The next `times` calls of `method` raise `error`, before or after taking effect."""
        self._faults.setdefault(method, []).append(_Fault(error, after_applying, times))

    # --- reading back ------------------------------------------------------------------------

    def documents(self, order_id: str, class_name: str | None = None) -> list[Rc]:
        """The DEZO documents written for an order, oldest first."""
        return [
            record
            for record in self.records.values()
            if (document := record.document()) is not None
            and document.order_id == normalize_orid(order_id)
            and (class_name is None or record.class_name == class_name)
        ]

    def status_of(self, record_id: str) -> str | None:
        statuses = self._statuses.get(record_id)
        return statuses.current.status if statuses and statuses.current else None

    def writes(self) -> list[str]:
        return [call for call in self.calls if call.startswith(("add_", "create_", "update_"))]

    # --- OncorApi ----------------------------------------------------------------------------

    def outage_wait(self, seconds: float) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    async def start_order_search(self, query: RcTm66OrderQuery) -> SearchJob:
        with self._call("start_order_search"):
            found: list[Any] = [
                record.model_dump(mode="json")
                for record in self.records.values()
                if record.class_name == "RcTm66Order"
                and (not query.status_is_null or self.status_of(record.id or "") is None)
                and (query.from_date is None or (record.time_rc or "") >= query.from_date)
            ]
            job = SearchJob(id=f"job-{next(self._ids)}", ready=True)
            self._searches[job.id] = [*found, *self.odd_entries]
            return job

    async def iter_search(self, job_id: str) -> AsyncIterator[SearchPage]:
        entries = self._searches.pop(job_id)
        for start in range(0, max(len(entries), 1), self.page_size):
            with self._call("iter_search"):
                pass
            yield SearchPage.read(entries[start : start + self.page_size])

    async def get_patient(self, patient_id: str) -> Patient:
        with self._call("get_patient"):
            if patient_id not in self.patients:
                raise not_found("patient/get", f"patient {patient_id}")
            return self.patients[patient_id]

    async def query_attachments(self, attachment_ids: Sequence[str]) -> list[AttachmentMeta]:
        with self._call("query_attachments"):
            unknown = [id_ for id_ in attachment_ids if id_ not in self.attachments]
            if unknown:  # one unknown id refuses the whole query, as ONCOR does
                raise not_found("attachment/query", f"attachments {', '.join(unknown)}")
            return [self.attachments[id_][0] for id_ in attachment_ids]

    async def get_instance_status(self, record_id: str) -> InstanceStatus:
        with self._call("get_instance_status"):
            self._record("rc/getInstanceStatus", record_id)
            statuses = self._statuses.get(normalize_orid(record_id), _Statuses())
            current = statuses.current or InstanceStatus(rc_id=record_id)
            return current.model_copy(update={"history": list(statuses.history)})

    async def update_instance_status(
        self, record_id: str, status: str, **fields: str
    ) -> InstanceStatus:
        with self._call("update_instance_status"):
            self._record("rc/updateInstanceStatus", record_id)
            statuses = self._statuses.setdefault(normalize_orid(record_id), _Statuses())
            if statuses.current is not None:
                statuses.history.append(statuses.current)
            statuses.current = InstanceStatus.model_validate(
                {"json": format_status(status, **fields), "rc_id": record_id, "time": CREATED}
            )
            return statuses.current

    async def get_dictionary(self, name: Tm66Dictionary) -> list[DictionaryEntry]:
        with self._call("get_dictionary"):
            return [DictionaryEntry(code=code, caption=code) for code in self.dictionaries[name]]

    async def get_record(self, record_id: str) -> Rc:
        with self._call("get_record"):
            return self._record("rc/get", record_id)

    async def list_records(self, ehr_id: str) -> SearchPage:
        with self._call("list_records"):
            entries: list[Any] = [
                record for record in self.records.values() if record.ehr_id == ehr_id
            ]
            entries += [entry for entry in self.odd_entries if entry.get("ehr_id") == ehr_id]
            return SearchPage.read(entries)

    async def create_attachment(
        self, name: str, media_type: str, content: AttachmentContent
    ) -> AttachmentMeta:
        with self._call("create_attachment"):
            data = _bytes_of(content)
            id_ = self.new_id(60)
            meta = AttachmentMeta(id=id_, name=name, type=media_type, size=len(data))
            self.attachments[id_] = (meta, data)
            return meta

    async def add_reject(self, reject: RcTm66OrderReject) -> Rc:
        with self._call("add_reject"):
            return self._add("RcTm66OrderReject", "rc_tm66_order_reject", reject, "reason")

    async def add_conclusion(self, conclusion: RcTm66OrderConclusion) -> Rc:
        with self._call("add_conclusion"):
            return self._add(
                "RcTm66OrderConclusion", "rc_tm66_order_conclusion", conclusion, "conclusion"
            )

    async def add_expertise_dicom(self, expertise: RcTm66OrderExpertiseDicom) -> Rc:
        with self._call("add_expertise_dicom"):
            return self._add(
                "RcTm66OrderExpertiseDicom", "rc_tm66_order_expertise_dicom", expertise, "result"
            )

    async def add_expertise_protocol(self, expertise: RcTm66OrderExpertiseProtocol) -> Rc:
        with self._call("add_expertise_protocol"):
            return self._add(
                "RcTm66OrderExpertiseProtocol",
                "rc_tm66_order_expertise_protocol",
                expertise,
                "result",
            )

    # --- the inside ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _call(self, method: str) -> Iterator[None]:
        """Record the call and play its scripted fault, if any, before or after its effect."""
        self.calls.append(method)
        fault = self._next_fault(method)
        if fault is not None and not fault.after_applying:
            raise fault.error
        yield
        if fault is not None:
            raise fault.error

    def _next_fault(self, method: str) -> _Fault | None:
        faults = self._faults.get(method)
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if not fault.times:
            faults.pop(0)
        return fault

    def _record(self, method: str, record_id: str) -> Rc:
        record = self.records.get(normalize_orid(record_id))
        if record is None:
            raise not_found(method, f"record {record_id}")
        return record

    def _add(self, class_name: str, field_name: str, document: Tm66Document, code_field: str) -> Rc:
        method = f"tm66/order/add{class_name}"
        assert document.order_id is not None
        order = self.records.get(normalize_orid(document.order_id))
        if order is None or order.class_name != "RcTm66Order":
            raise not_found(method, f"order (RcTm66Order) {document.order_id}")
        code = getattr(document, code_field)
        codes = self.dictionaries[_DICTIONARY_OF[class_name]]
        if not isinstance(code, DictionaryEntry) or code.code not in codes:
            raise OncorRejected(method, INVALID_ARGUMENTS, f"unknown {code_field} code", "1a2b")
        for attachment_id in (document.pdf_id, document.pdf_ds_id):
            if attachment_id is not None and attachment_id not in self.attachments:
                raise not_found(method, f"attachment {attachment_id}")
        if document.expert is None or document.expert.id not in self.experts:
            raise not_found(method, "expert (MedResource)")
        record = Rc(
            id=self.new_id(70),
            class_name=class_name,
            patient_id=order.patient_id,
            ehr_id=order.ehr_id,
            time_rc=CREATED,
            **{field_name: document.model_copy(update={"order_id": order.id})},
        )
        assert record.id is not None
        self.records[record.id] = record
        return record


_DICTIONARY_OF = {
    "RcTm66OrderReject": "Tm66OrderRejectReason",
    "RcTm66OrderConclusion": "Tm66ConclusionType",
    "RcTm66OrderExpertiseDicom": "Tm66ExpertDicomResult",
    "RcTm66OrderExpertiseProtocol": "Tm66ExpertProtocolResult",
}


def _bytes_of(content: AttachmentContent) -> bytes:
    if isinstance(content, Path):
        return content.read_bytes()
    if isinstance(content, Base64File):
        return base64.b64decode(content.text)
    return content
