"""Pydantic models of ONCOR's wire types, as its API docs describe them.

Read as the documented types allow, not only as the examples show: fields the docs do not list
pass through (`extra="allow"`; ONCOR adds fields over time), a `repeated` field may be `null`
(none), and a number is read where the docs say `string` as a numeric string is where they say
`double`. Field names are ONCOR's own.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    field_serializer,
    field_validator,
)
from pydantic_core import CoreSchema, core_schema

from adapter.oncor.status import parse_status

Item = TypeVar("Item")


def _empty_if_null(value: list[Any] | None) -> list[Any]:
    return [] if value is None else value


class _NullAsEmpty:
    """Read as `list | None`, then `None` made `[]`. A before-validator would hand pydantic-core's
    parsed JSON to Python and have it validated again: a search page took twice the time and a
    third more memory (`bench/`, issue 13)."""

    @staticmethod
    def __get_pydantic_core_schema__(source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        nullable = core_schema.nullable_schema(handler(source))
        return core_schema.no_info_after_validator_function(_empty_if_null, nullable)


#: A protobuf `repeated` field: its JSON `null` means no items.
Repeated = Annotated[list[Item], _NullAsEmpty]


class OncorModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


# --- dictionaries -------------------------------------------------------------------------------

Tm66Dictionary = Literal[
    "Tm66OrderPurpose",
    "Tm66DiagnosticsType",
    "Tm66DiagnosticsMethod",
    "Tm66ConclusionType",
    "Tm66OrderRejectReason",
    "Tm66ExpertDicomResult",
    "Tm66ExpertProtocolResult",
]


class DictionaryEntry(OncorModel):
    """One dictionary entry: a `Tm66*` code, an ICD-10 diagnosis, a gender, ..."""

    orid: str | None = None
    id: str | None = None
    code: str | None = None
    caption: str | None = None


class MedOrganization(OncorModel):
    id: str | None = None
    code: str | None = None
    date_range: Repeated[str] = Field(default_factory=list)
    name: str | None = None
    mo_code: str | None = None
    long_name: str | None = None
    med_org_code: str | None = None
    terr_code: str | None = None
    address: str | None = None
    phone: str | None = None
    ogrn: str | None = None
    chief_last_name: str | None = None
    chief_first_name: str | None = None
    chief_patronymic: str | None = None


class MedDepart(OncorModel):
    id: str | None = None
    code: str | None = None
    date_range: Repeated[str] = Field(default_factory=list)
    name: str | None = None
    depart_code: str | None = None
    med_org_code: str | None = None
    name_full: str | None = None
    name_short: str | None = None
    type_help: str | None = None


class MedResource(OncorModel):
    """A physician (`Врач`): the order's client or a document's expert."""

    id: str | None = None
    code: str | None = None
    date_range: Repeated[str] = Field(default_factory=list)
    name: str | None = None
    doctor_code: str | None = None
    doctor_name: str | None = None
    med_org_code: str | None = None
    med_spec_code: str | None = None


# --- records ------------------------------------------------------------------------------------


class Published(OncorModel):
    user_id: str | None = None
    time: str | None = None


class Tm66PrimaryDiagnosticsDoc(OncorModel):
    """The primary study protocol attached to an order."""

    method: DictionaryEntry | None = None
    date_time: str | None = None
    device: str | None = None
    text: str | None = None
    dose_msv: float | None = None
    attachment_id: Repeated[str] = Field(default_factory=list)


class Tm66Doc(OncorModel):
    """A medical document attached to an order."""

    date_time: str | None = None
    name: str | None = None
    description: str | None = None
    attachment_id: Repeated[str] = Field(default_factory=list)


class RcTm66Order(OncorModel):
    """A DEZO order: a request for a remote expert opinion on a diagnostic study."""

    purpose: DictionaryEntry | None = None
    diagnostics_type: DictionaryEntry | None = None
    description: str | None = None
    dz_icd10: DictionaryEntry | None = None
    dz_text: str | None = None
    primary_diagnostics_doc: Tm66PrimaryDiagnosticsDoc | None = None
    docs: Repeated[Tm66Doc] = Field(default_factory=list)
    client: MedResource | None = None
    client_mo: MedOrganization | None = None
    expert_mo: MedOrganization | None = None

    def attachment_ids(self) -> list[str]:
        """Every attachment the order refers to: the protocol's first, then the documents'."""
        ids = (
            list(self.primary_diagnostics_doc.attachment_id) if self.primary_diagnostics_doc else []
        )
        for doc in self.docs:
            ids.extend(doc.attachment_id)
        return list(dict.fromkeys(ids))


class Tm66Document(OncorModel):
    """What the four DEZO documents (reject, conclusion, two expertises) have in common."""

    order_id: str | None = None
    description: str | None = None
    pdf_id: str | None = None
    pdf_ds_id: str | None = None
    expert: MedResource | None = None
    expert_d: MedDepart | None = None


class RcTm66OrderReject(Tm66Document):
    reason: DictionaryEntry | None = None


class RcTm66OrderConclusion(Tm66Document):
    conclusion: DictionaryEntry | None = None


class RcTm66OrderExpertiseDicom(Tm66Document):
    result: DictionaryEntry | None = None


class RcTm66OrderExpertiseProtocol(Tm66Document):
    result: DictionaryEntry | None = None


class Rc(OncorModel):
    """A medical record; exactly one of the `rc_*` fields holds its class-specific part."""

    id: str | None = None
    class_name: str | None = None
    patient_id: str | None = None
    ehr_id: str | None = None
    published: Published | None = None
    org_unit_id: str | None = None
    summary: str | None = None
    time_rc: str | None = None
    deleted_status: Repeated[str] = Field(default_factory=list)  # Rc.DeletedAt: RC, EHR, PTN
    attachment_id: Repeated[str] = Field(default_factory=list)
    instance_status: str | None = None
    rc_doc: dict[str, Any] | None = None  # a generic document; DEZO never reads inside it
    rc_tm66_order: RcTm66Order | None = None
    rc_tm66_order_reject: RcTm66OrderReject | None = None
    rc_tm66_order_conclusion: RcTm66OrderConclusion | None = None
    rc_tm66_order_expertise_dicom: RcTm66OrderExpertiseDicom | None = None
    rc_tm66_order_expertise_protocol: RcTm66OrderExpertiseProtocol | None = None

    @property
    def created(self) -> str | None:
        """When the record was created, in ONCOR's local time."""
        return self.published.time if self.published and self.published.time else self.time_rc

    @property
    def deleted(self) -> bool:
        """Deleted in ONCOR, itself or with its health record or patient (any `deleted_status`)."""
        return bool(self.deleted_status)

    def document(self) -> Tm66Document | None:
        """The DEZO document this record holds, if it is one."""
        return (
            self.rc_tm66_order_reject
            or self.rc_tm66_order_conclusion
            or self.rc_tm66_order_expertise_dicom
            or self.rc_tm66_order_expertise_protocol
        )


# --- patients, statuses, attachments ------------------------------------------------------------


class Patient(OncorModel):
    """A patient as ONCOR gives it. Personal data: never log it."""

    id: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    birth_day: str | None = None
    gender: DictionaryEntry | None = None
    code: str | None = None
    ehr_count: int | None = None
    company_name: str | None = None
    snils: str | None = None
    phones: str | None = None


class InstanceStatus(OncorModel):
    """A record's status; `json` holds the status object, `history` the earlier ones."""

    json_: str | None = Field(default=None, alias="json")
    rc_id: str | None = None
    user_id: str | None = None
    time: str | None = None
    history: Repeated[InstanceStatus] = Field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        """The status object, e.g. `{"status": "Обработка началась"}`; empty when unset."""
        return parse_status(self.json_) if self.json_ else {}

    @property
    def status(self) -> str | None:
        value = self.fields().get("status")
        return str(value) if value is not None else None

    def all_statuses(self) -> list[str]:
        """The status values this record has had, oldest first, the current one last."""
        entries = [*self.history, self]
        return [entry.status for entry in entries if entry.status is not None]


class AttachmentMeta(OncorModel):
    id: str | None = None
    digest: str | None = None
    name: str
    type: str
    size: int | None = None
    created: str | None = None


class Attachment(OncorModel):
    """An attachment with its bytes (`data` is base64 on the wire)."""

    meta: AttachmentMeta
    data: bytes

    @field_validator("data", mode="before")
    @classmethod
    def _decode(cls, value: Any) -> Any:
        return base64.b64decode(value, validate=True) if isinstance(value, str) else value

    @field_serializer("data")
    def _encode(self, value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")


# --- search -------------------------------------------------------------------------------------


class ErrorResult(OncorModel):
    """ONCOR's error body; some endpoints say `class` where others say `name`."""

    name: str | None = None
    class_: str | None = Field(default=None, alias="class")
    message: str | None = None
    uuid: str | None = None

    @property
    def error_name(self) -> str:
        return self.name or self.class_ or "UnknownError"


class SearchJob(OncorModel):
    id: str
    ready: bool | None = None
    error: ErrorResult | None = None


class Page(OncorModel):
    job: SearchJob
    offset: int | None = None
    size: int | None = None


#: A search result: an `Rc` when its type allows, read in the page's one pass from the JSON bytes
#: (a second pass over dicts cost half as much again, measured); otherwise the JSON as it came,
#: for `SearchPage` to set aside alone.
RecordEntry = Annotated[Rc | Any, Field(union_mode="left_to_right")]


class RecordList(OncorModel):
    """`rc/getList`'s answer; a record its type does not allow never fails the list."""

    result: Repeated[RecordEntry] = Field(default_factory=list)


class RecordsPage(OncorModel):
    """One page of a search job; a record its type does not allow never fails the page."""

    page: Page
    rc: Repeated[RecordEntry] = Field(default_factory=list)
    size: int | None = None  # the job's total; optional, so paging cannot rely on it


def entry_id(entry: Any) -> str | None:
    """The id of a search result, readable or not."""
    found = (
        entry.id if isinstance(entry, Rc) else entry.get("id") if isinstance(entry, dict) else None
    )
    return found if isinstance(found, str) else None


@dataclass(frozen=True)
class UnreadableRecord:
    """A record that does not fit its documented type even read leniently."""

    id: str | None
    class_name: str | None
    error: ValidationError


@dataclass(frozen=True)
class SearchPage:
    """Records of a search, read one by one: an odd record never costs the others.

    Iterating gives the readable records.
    """

    records: list[Rc]
    unreadable: list[UnreadableRecord]

    @classmethod
    def read(cls, entries: Sequence[Any]) -> SearchPage:
        records: list[Rc] = []
        unreadable: list[UnreadableRecord] = []
        for entry in entries:
            try:
                # validated again only to name what is wrong with it
                records.append(entry if isinstance(entry, Rc) else Rc.model_validate(entry))
            except ValidationError as exc:
                name = entry.get("class_name") if isinstance(entry, dict) else None
                unreadable.append(
                    UnreadableRecord(entry_id(entry), name if isinstance(name, str) else None, exc)
                )
        return cls(records, unreadable)

    def __iter__(self) -> Iterator[Rc]:
        return iter(self.records)


class RcTm66OrderQuery(OncorModel):
    """Search for orders; at most one of the three status conditions may be given."""

    from_date: str | None = None
    to_date: str | None = None
    status_is_null: bool | None = None
    status_value: str | None = None
    status_value_with_history: str | None = None


class DocumentQuery(OncorModel):
    """Search for DEZO documents (conclusions, expertises) created in a date range."""

    from_date: str | None = None
    to_date: str | None = None
