"""What the adapter announces about a new DEZO order: the `data` of `order.received`.

The event goes to `dezo.events` with routing key `order.received`, type
`ru.oncor.dezo.order.received.v1`, `subject` = the order id, and an `id` derived from the order id
alone, so every re-publish of one order carries the same id and subscribers can drop duplicates.

It carries the patient as ONCOR gives it: personal data, for the bus only, never for logs.
Times are ISO 8601 with the offset of ONCOR's time zone. ONCOR may omit almost any field, so
almost every field here is optional.
"""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from adapter.bus.envelope import event_type

ORDER_RECEIVED = "order.received"
ORDER_RECEIVED_TYPE = event_type(ORDER_RECEIVED)

#: Namespace of order event ids; fixed forever, or a re-published order would change id.
ORDER_EVENT_NAMESPACE = uuid.UUID("6d2f0a4c-8b1e-5c3a-9f7d-2e4b6a8c0d1f")


def order_event_id(order_id: str) -> str:
    """The `order.received` event id of an order: the same for every publish of that order."""
    return str(uuid.uuid5(ORDER_EVENT_NAMESPACE, order_id))


class CodedValue(BaseModel):
    """An entry of an ONCOR dictionary (purpose, diagnostics type, method, gender, ...)."""

    id: str | None = None
    code: str | None = None
    caption: str | None = None


class Diagnosis(BaseModel):
    """The diagnosis the order is about."""

    icd10_code: str | None = Field(None, description="ICD-10 code, e.g. C34.0")
    icd10_caption: str | None = None
    text: str | None = Field(None, description="The physician's wording of the diagnosis")


class PrimaryProtocol(BaseModel):
    """The protocol of the primary diagnostic study the expert is asked to review."""

    method: CodedValue | None = Field(None, description="From Tm66DiagnosticsMethod")
    performed_at: AwareDatetime | None = None
    device: str | None = None
    text: str | None = None
    dose_msv: float | None = Field(None, description="Absorbed dose, mSv")
    attachment_ids: list[str] = Field(default_factory=list)


class MedicalDocument(BaseModel):
    """A medical document the physician attached to the order."""

    date: AwareDatetime | None = None
    name: str | None = None
    description: str | None = None
    attachment_ids: list[str] = Field(default_factory=list)


class Physician(BaseModel):
    """A physician from ONCOR's MedResource directory."""

    id: str | None = None
    code: str | None = None
    name: str | None = None
    doctor_code: str | None = None
    med_org_code: str | None = None
    med_spec_code: str | None = None


class MedicalOrganization(BaseModel):
    """A medical organisation from ONCOR's MedOrganization directory."""

    id: str | None = None
    code: str | None = None
    name: str | None = None
    long_name: str | None = None
    mo_code: str | None = None
    med_org_code: str | None = None
    terr_code: str | None = None
    address: str | None = None
    phone: str | None = None
    ogrn: str | None = None


class Order(BaseModel):
    """The DEZO order (`RcTm66Order`) as its record and its class-specific part describe it."""

    id: str = Field(description="ONCOR record id (ORID), e.g. #1930:0")
    ui_link: str = Field(description="Where a person sees the order in ONCOR's web UI")
    created_at: AwareDatetime | None = Field(None, description="The record's time (time_rc)")
    published_at: AwareDatetime | None = Field(None, description="When it was saved in ONCOR")
    patient_id: str | None = None
    ehr_id: str | None = None
    purpose: CodedValue | None = Field(None, description="From Tm66OrderPurpose")
    diagnostics_type: CodedValue | None = Field(None, description="From Tm66DiagnosticsType")
    description: str | None = None
    diagnosis: Diagnosis | None = None
    primary_protocol: PrimaryProtocol | None = None
    documents: list[MedicalDocument] = Field(default_factory=list)
    client: Physician | None = Field(None, description="The physician who ordered the DEZO")
    client_mo: MedicalOrganization | None = Field(None, description="The client's organisation")
    expert_mo: MedicalOrganization | None = Field(None, description="The expert organisation")


class Patient(BaseModel):
    """The patient exactly as ONCOR's `patient/get` gives it, fields ONCOR adds included.

    Personal data: it travels on the bus to authorised services and never into logs.
    """

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    birth_day: str | None = Field(None, description="YYYY-MM-DD, as ONCOR writes it")
    gender: CodedValue | None = None
    code: str | None = None
    snils: str | None = None
    phones: str | None = None


class AttachmentInfo(BaseModel):
    """Metadata of a file the order refers to; the bytes stay in ONCOR."""

    id: str = Field(description="ONCOR attachment id; ONCOR may retire it, do not keep it long")
    digest: str | None = None
    name: str
    media_type: str
    size: int | None = Field(None, description="Bytes")
    created_at: AwareDatetime | None = None
    url: str | None = Field(None, description="Direct link to the file in ONCOR")


class OrderReceived(BaseModel):
    """A new DEZO order, with its patient and attachment metadata: step 1-3 of the scenario."""

    order: Order
    patient: Patient | None = Field(None, description="Absent only if the order names none")
    attachments: list[AttachmentInfo] = Field(default_factory=list)
    missing_attachment_ids: list[str] = Field(
        default_factory=list,
        description="Attachment ids the order names that ONCOR no longer describes (ids can go"
        " stale and be removed): the order is announced without them",
    )
