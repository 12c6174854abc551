"""DEZO documents: /tm66/order/addRcTm66Order{Reject,Conclusion,ExpertiseDicom,ExpertiseProtocol}.

The four differ only in the data below; one path validates and builds them all.
"""

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.emulator.clock import format_time
from adapter.emulator.dictionaries import DIRECTORIES, find_entry
from adapter.emulator.organizations import DirectoryEntry
from adapter.emulator.protocol import (
    RECORD_NOT_FOUND,
    ApiError,
    Endpoint,
    api_route,
    optional_object,
    optional_orid,
    optional_str,
    read_wrapped_body,
    required_object,
    required_orid,
    required_str,
    result,
)
from adapter.emulator.state import EmulatorState
from adapter.emulator.store import API_ORG_UNIT_ID, API_USER_ID, Record

DIRECTORY_ENTRY_NOT_FOUND = "DirectoryEntryNotFoundException"


@dataclass(frozen=True)
class DocumentKind:
    class_name: str  # also names the method: /tm66/order/add{class_name}
    body_key: str  # {"record": {body_key: {...}}}
    cluster: int  # ORID cluster of new documents
    code_field: str  # the field holding the dictionary entry
    directory: str  # the dictionary of code_field

    @property
    def listed_fields(self) -> tuple[str, ...]:
        """What searches and rc/getList show of the document: what the docs' example shows."""
        return ("order_id", self.code_field, "description", "pdf_id")


DOCUMENT_KINDS = (
    DocumentKind(
        "RcTm66OrderReject",
        "rc_tm66_order_reject",
        1937,
        "reason",
        "Tm66OrderRejectReason",
    ),
    DocumentKind(
        "RcTm66OrderConclusion",
        "rc_tm66_order_conclusion",
        1953,
        "conclusion",
        "Tm66ConclusionType",
    ),
    DocumentKind(
        "RcTm66OrderExpertiseDicom",
        "rc_tm66_order_expertise_dicom",
        1977,
        "result",
        "Tm66ExpertDicomResult",
    ),
    DocumentKind(
        "RcTm66OrderExpertiseProtocol",
        "rc_tm66_order_expertise_protocol",
        1969,
        "result",
        "Tm66ExpertProtocolResult",
    ),
)


_KINDS_BY_CLASS = {kind.class_name: kind for kind in DOCUMENT_KINDS}


def listed(record: Record) -> dict[str, Any]:
    """A record as searches and rc/getList answer: a DEZO document in its documented shape."""
    rc = record.to_rc()
    kind = _KINDS_BY_CLASS.get(record.class_name)
    if kind is None:
        return rc
    body = rc[kind.body_key]
    return {**rc, kind.body_key: {key: body[key] for key in kind.listed_fields if key in body}}


def _directory_entry(directory: str, key: str, value: str, what: str) -> DirectoryEntry:
    found = find_entry(directory, key, value)
    if found is None:
        known = ", ".join(str(entry[key]) for entry in DIRECTORIES[directory])
        raise ApiError(
            DIRECTORY_ENTRY_NOT_FOUND, f"{what} {value!r} is not in {directory}; valid: {known}"
        )
    return found


class DocumentsApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            api_route(
                f"/tm66/order/add{kind.class_name}",
                self._adder(kind),
                ["POST"],
                error_key=lambda: self.state.config.document_error_key,
            )
            for kind in DOCUMENT_KINDS
        ]

    def _adder(self, kind: DocumentKind) -> Endpoint:
        async def add_document(request: Request) -> Response:
            record = await read_wrapped_body(request, "record")
            fields = required_object(record, kind.body_key, "record")
            return result(self._create(kind, fields, f"record.{kind.body_key}"))

        add_document.__name__ = f"add{kind.class_name}"
        return add_document

    def _create(self, kind: DocumentKind, fields: dict[str, Any], where: str) -> dict[str, Any]:
        """Validate everything first, then store the document and apply its status."""
        store = self.state.store
        order_id = required_orid(fields, "order_id", where)
        order = store.order(order_id)
        if order is None:
            raise ApiError(RECORD_NOT_FOUND, f"order (RcTm66Order) {order_id} not found")
        code = required_str(
            required_object(fields, kind.code_field, where), "code", f"{where}.{kind.code_field}"
        )
        document: dict[str, Any] = {
            "order_id": order_id,
            kind.code_field: _directory_entry(kind.directory, "code", code, "code"),
        }
        description = optional_str(fields, "description", where)
        if description is not None:
            document["description"] = description
        for key in ("pdf_id", "pdf_ds_id"):
            attachment_id = optional_orid(fields, key, where)
            if attachment_id is None:
                continue
            if attachment_id not in store.attachments:
                raise ApiError(
                    RECORD_NOT_FOUND,
                    f"{where}.{key}: attachment {attachment_id} "
                    "not found; upload it with attachment/create",
                )
            document[key] = attachment_id
        expert_id = required_str(required_object(fields, "expert", where), "id", f"{where}.expert")
        document["expert"] = _directory_entry("MedResource", "id", expert_id, "expert.id")
        department = optional_object(fields, "expert_d", where)
        if department is not None:
            department_id = required_str(department, "id", f"{where}.expert_d")
            document["expert_d"] = _directory_entry("MedDepart", "id", department_id, "expert_d.id")

        now = self.state.clock.now()
        rc = {
            "id": store.new_orid(kind.cluster),
            "class_name": kind.class_name,
            "patient_id": order.rc["patient_id"],
            "ehr_id": order.rc["ehr_id"],
            "published": {"user_id": API_USER_ID, "time": format_time(now)},
            "org_unit_id": API_ORG_UNIT_ID,
            "time_rc": format_time(now),
            kind.body_key: document,
        }
        store.add_record(rc, now)
        status = self.state.config.document_statuses.get(kind.class_name)
        if status is not None:
            order.set_status({"status": status}, API_USER_ID, format_time(now))
        return rc
