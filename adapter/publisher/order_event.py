"""How an ONCOR order, its patient and its attachments become an `order.received` event."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import aio_pika

from adapter.bus.envelope import event_message
from adapter.messages.orders import (
    ORDER_RECEIVED,
    AttachmentInfo,
    CodedValue,
    Diagnosis,
    MedicalDocument,
    MedicalOrganization,
    Order,
    OrderReceived,
    Patient,
    Physician,
    PrimaryProtocol,
    order_event_id,
)
from adapter.oncor import models as oncor
from adapter.oncor.orid import orid_for_query, ui_link
from adapter.oncor.timestamps import parse_oncor_time
from adapter.publisher.enrich import OrderAttachments


class OrderMapping:
    """Maps ONCOR's wire models to the event; knows ONCOR's time zone and web origin."""

    def __init__(self, zone: ZoneInfo, oncor_origin: str) -> None:
        self._zone = zone
        self._origin = oncor_origin

    def order_received(
        self,
        record: oncor.Rc,
        patient: oncor.Patient | None,
        attachments: OrderAttachments,
    ) -> OrderReceived:
        """The event data; raises ValueError when a field cannot be read (e.g. a bad time)."""
        return OrderReceived(
            order=self.order(record),
            patient=Patient.model_validate(patient.model_dump()) if patient else None,
            attachments=[self.attachment(id_, meta) for id_, meta in attachments.described.items()],
            missing_attachment_ids=attachments.missing,
        )

    def order(self, record: oncor.Rc) -> Order:
        if record.id is None:
            raise ValueError("the order record has no id")
        part = record.rc_tm66_order or oncor.RcTm66Order()
        return Order(
            id=record.id,
            ui_link=ui_link(self._origin, record.id),
            created_at=self._time(record.time_rc),
            published_at=self._time(record.published.time if record.published else None),
            patient_id=record.patient_id,
            ehr_id=record.ehr_id,
            purpose=_coded(part.purpose),
            diagnostics_type=_coded(part.diagnostics_type),
            description=part.description,
            diagnosis=_diagnosis(part),
            primary_protocol=self._protocol(part.primary_diagnostics_doc),
            documents=[self._document(doc) for doc in part.docs],
            client=Physician.model_validate(part.client, from_attributes=True)
            if part.client
            else None,
            client_mo=_organization(part.client_mo),
            expert_mo=_organization(part.expert_mo),
        )

    def attachment(self, attachment_id: str, meta: oncor.AttachmentMeta) -> AttachmentInfo:
        # ONCOR's documented direct link: /attachment/{digest}:{id without '#'}
        url = (
            f"{self._origin}/attachment/{meta.digest}:{orid_for_query(attachment_id)}"
            if meta.digest
            else None
        )
        return AttachmentInfo(
            id=attachment_id,
            digest=meta.digest,
            name=meta.name,
            media_type=meta.type,
            size=meta.size,
            created_at=self._time(meta.created),
            url=url,
        )

    def _protocol(self, doc: oncor.Tm66PrimaryDiagnosticsDoc | None) -> PrimaryProtocol | None:
        if doc is None:
            return None
        return PrimaryProtocol(
            method=_coded(doc.method),
            performed_at=self._time(doc.date_time),
            device=doc.device,
            text=doc.text,
            dose_msv=doc.dose_msv,
            attachment_ids=doc.attachment_id,
        )

    def _document(self, doc: oncor.Tm66Doc) -> MedicalDocument:
        return MedicalDocument(
            date=self._time(doc.date_time),
            name=doc.name,
            description=doc.description,
            attachment_ids=doc.attachment_id,
        )

    def _time(self, text: str | None) -> datetime | None:
        return parse_oncor_time(text, self._zone) if text else None


def order_received_message(data: OrderReceived) -> aio_pika.Message:
    """The persistent AMQP message: CloudEvent id stable per order, correlation id = order id."""
    order_id = data.order.id
    return event_message(
        ORDER_RECEIVED, order_event_id(order_id), data, subject=order_id, correlation_id=order_id
    )


def _coded(entry: oncor.DictionaryEntry | None) -> CodedValue | None:
    return CodedValue(id=entry.id, code=entry.code, caption=entry.caption) if entry else None


def _diagnosis(part: oncor.RcTm66Order) -> Diagnosis | None:
    if part.dz_icd10 is None and part.dz_text is None:
        return None
    icd10 = part.dz_icd10 or oncor.DictionaryEntry()
    return Diagnosis(icd10_code=icd10.code, icd10_caption=icd10.caption, text=part.dz_text)


def _organization(organization: oncor.MedOrganization | None) -> MedicalOrganization | None:
    return (
        MedicalOrganization.model_validate(organization, from_attributes=True)
        if organization
        else None
    )
