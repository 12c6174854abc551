"""Example messages: one valid CloudEvent per message type, and invalid ones saying why.

They are exported under `schemas/examples/`, embedded in the AsyncAPI document, and checked by
the tests against both the JSON Schemas and the pydantic models.
"""

from __future__ import annotations

import base64
from typing import Any

from adapter.bus.envelope import SOURCE
from adapter.contracts.catalog import MessageSpec, message

ORDER_ID = "#1930:0"
EXPERT_ID = "39115-661768-26(20190905)"
EXAMPLE_TIME = "2026-11-26T10:15:00+05:00"
_PDF = base64.b64encode(b"%PDF-1.4\n% example conclusion\n%%EOF\n").decode()
_SIGNATURE = base64.b64encode(b"-----BEGIN PKCS7-----\nexample\n-----END PKCS7-----\n").decode()

PDF_INLINE = {"name": "conclusion.pdf", "media_type": "application/pdf", "content_base64": _PDF}
SIGNATURE_INLINE = {
    "name": "conclusion.pdf.sig",
    "media_type": "application/pkcs7-signature",
    "content_base64": _SIGNATURE,
}
PDF_BY_URL = {
    "name": "expertise.pdf",
    "media_type": "application/pdf",
    "url": "https://pacs.example.org/reports/expertise-7781.pdf",
}

_DATA: dict[str, dict[str, Any]] = {
    "order.associate-dicom": {
        "order_id": ORDER_ID,
        "ris_dicom": "https://ris.example.org/viewer?study=1.2.840.113619.2.55.3",
    },
    "order.reject": {
        "order_id": ORDER_ID,
        "reason_code": "КАЧЕСТВО_СНИМКА",
        "description": "Снимок выполнен некачественно: артефакты движения",
        "expert_id": EXPERT_ID,
    },
    "order.conclusion": {
        "order_id": ORDER_ID,
        "conclusion_code": "ЗАКЛЮЧЕНИЕ_СОВПАДАЕТ",
        "description": "Заключение эксперта совпадает с направленным заключением",
        "expert_id": EXPERT_ID,
        "expert_department_id": "10000-661768(20190823)",
        "pdf": PDF_INLINE,
        "signature": SIGNATURE_INLINE,
    },
    "order.expertise-dicom": {
        "order_id": ORDER_ID,
        "result_code": "НАРУШЕНИЙ_НЕТ",
        "description": "Технических замечаний нет",
        "expert_id": EXPERT_ID,
        "pdf": PDF_BY_URL,
    },
    "order.expertise-protocol": {
        "order_id": ORDER_ID,
        "result_code": "НЕЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ",
        "description": "Не указан точный возраст пациента",
        "expert_id": EXPERT_ID,
    },
    "order.received": {
        "order": {
            "id": ORDER_ID,
            "ui_link": "https://oncor.example.org/ui-orid/1930:0",
            "created_at": "2026-11-25T20:07:28+05:00",
            "published_at": "2026-11-25T20:13:06+05:00",
            "patient_id": "#69:111",
            "ehr_id": "#1053:111",
            "purpose": {
                "id": "5",
                "code": "ФОРМИРОВАНИЕ_ЭКСПЕРТНОГО_МНЕНИЯ",
                "caption": "Формирование экспертного мнения по результатам диагностических "
                "исследований (МСКТ, МРТ, ПЭТ-КТ и т.п.)",
            },
            "diagnostics_type": {
                "code": "КТ_ГРУДНОЙ_КЛЕТКИ",
                "caption": "Компьютерная томография грудной клетки",
            },
            "description": "Текстовое краткое описание заявки",
            "diagnosis": {
                "icd10_code": "C34.0",
                "icd10_caption": "Главного бронха",
                "text": "Текстовое поле расшифровки диагноза",
            },
            "primary_protocol": {
                "method": {"code": "КТ", "caption": "Компьютерная томография"},
                "performed_at": "2026-11-20T20:09:00+05:00",
                "device": "Аппарат первичного исследования",
                "text": "Текстовое краткое описание первичного исследования",
                "dose_msv": 4.0,
                "attachment_ids": ["#1585:4537"],
            },
            "documents": [
                {
                    "date": "2026-11-23T20:11:00+05:00",
                    "name": "Прием онколога",
                    "attachment_ids": ["#1586:4430"],
                }
            ],
            "client": {"id": "28402-660122-41(20190101)", "name": "ДАВЫДАЧЕВА Т В"},
            "client_mo": {"id": "660122(20180906)", "name": "ЦГБ 7 Екатеринбург"},
            "expert_mo": {"id": "661768(20190823)", "name": "СООД Екатеринбург"},
        },
        "patient": {
            "id": "#69:111",
            "first_name": "Иван",
            "middle_name": "Иванович",
            "last_name": "Иванов",
            "birth_day": "1901-01-01",
            "gender": {"id": "1", "caption": "М"},
        },
        "attachments": [
            {
                "id": "#1585:4537",
                "digest": "6e4a3290ff2ab22fed4e747c95678bbf534b41d0",
                "name": "протокол.pdf",
                "media_type": "application/pdf",
                "size": 48213,
                "created_at": "2026-11-25T20:10:00+05:00",
            }
        ],
        # a stale id: attachment/query no longer knows it, the order goes out all the same
        "missing_attachment_ids": ["#1586:4430"],
    },
    "command.succeeded": {
        "command": "order.conclusion",
        "command_id": "0b6f3a52-6a0e-4c2a-9a55-0f0c8f7d2a11",
        "order_id": ORDER_ID,
        "record_id": "#1953:1",
        "ui_link": "https://oncor.example.org/ui-orid/1953:1",
        "attachment_ids": ["#1587:4385", "#1587:4386"],
    },
    "command.failed": {
        "command": "order.conclusion",
        "command_id": "0b6f3a52-6a0e-4c2a-9a55-0f0c8f7d2a11",
        "order_id": ORDER_ID,
        "reason": "rejected_by_oncor",
        "problem": "rejected_by_oncor",
        "message": "ONCOR refused the conclusion: the expert is not in MedResource",
        "oncor_error": {
            "name": "DirectoryEntryNotFoundException",
            "message": "MedResource 1-2-3 not found",
            "uuid": "9b2ef941-b81d-43e3-8e87-e8b0dad6e6e2",
        },
    },
}

_IDS = {
    "order.received": "5d0b7f0e-7b55-5a8e-9c8a-3b1f6f0c2e41",
    "command.succeeded": "a3c9e2d4-1f6b-5e8a-8c7d-9b0a1e2f3c4d",
    "command.failed": "c1d2e3f4-a5b6-5c7d-8e9f-0a1b2c3d4e5f",
}


#: One trace: a RIS span sends a command; the adapter's outcome continues it (W3C's example ids).
_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
_TRACE_CONTEXT = {
    "command": {"traceparent": f"00-{_TRACE_ID}-00f067aa0ba902b7-01", "tracestate": "ris=1"},
    "event": {"traceparent": f"00-{_TRACE_ID}-b7ad6b7169203331-01", "tracestate": "ris=1"},
}


def valid_example(spec: MessageSpec) -> dict[str, Any]:
    """A complete CloudEvent of this message type, as it travels on the bus."""
    return {
        "specversion": "1.0",
        "id": _IDS.get(spec.name, "0b6f3a52-6a0e-4c2a-9a55-0f0c8f7d2a11"),
        "source": "urn:ris.example.org" if spec.kind == "command" else SOURCE,
        "type": spec.event_type,
        "subject": ORDER_ID,
        "time": EXAMPLE_TIME,
        "datacontenttype": "application/json",
        **_TRACE_CONTEXT[spec.kind],
        "data": _DATA[spec.name],
    }


def _with_data(name: str, **changes: Any) -> dict[str, Any]:
    event = valid_example(message(name))
    data = {key: value for key, value in event["data"].items() if changes.get(key, 0) is not None}
    data.update({key: value for key, value in changes.items() if value is not None})
    return {**event, "data": data}


#: (message, why it is invalid, the message): each must fail its schema and its model.
INVALID_EXAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    ("order.conclusion", "missing-pdf", _with_data("order.conclusion", pdf=None, signature=None)),
    ("order.conclusion", "missing-expert", _with_data("order.conclusion", expert_id=None)),
    (
        "order.conclusion",
        "unknown-field",
        _with_data("order.conclusion", expert_name="НОВОСЕЛОВА О О"),
    ),
    (
        "order.reject",
        "empty-description",
        _with_data("order.reject", description=""),
    ),
    (
        "order.associate-dicom",
        "order-id-not-an-orid",
        _with_data("order.associate-dicom", order_id="1930"),
    ),
    (
        "order.associate-dicom",
        "ris-dicom-not-a-url",
        _with_data("order.associate-dicom", ris_dicom="study 1.2.840"),
    ),
    (
        "order.expertise-dicom",
        "attachment-without-content",
        _with_data("order.expertise-dicom", pdf={"name": "a.pdf", "media_type": "application/pdf"}),
    ),
    (
        "order.expertise-protocol",
        "wrong-specversion",
        {**valid_example(message("order.expertise-protocol")), "specversion": "0.3"},
    ),
    (
        "order.reject",
        "wrong-type-for-the-routing-key",
        {**valid_example(message("order.reject")), "type": "ru.oncor.dezo.order.conclusion.v1"},
    ),
    (
        "order.reject",
        "missing-id",
        {k: v for k, v in valid_example(message("order.reject")).items() if k != "id"},
    ),
]
