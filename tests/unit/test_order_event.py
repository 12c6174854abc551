"""The `order.received` event built from ONCOR's documented examples, without any I/O."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import pytest

from adapter.messages.orders import ORDER_RECEIVED_TYPE, order_event_id
from adapter.oncor.models import AttachmentMeta, Patient, Rc
from adapter.publisher.enrich import OrderAttachments
from adapter.publisher.order_event import OrderMapping, order_received_message
from tests.oncor.doc_examples import json_examples

ZONE = ZoneInfo("Asia/Yekaterinburg")
ORIGIN = "https://demo.onco-reg.ru"
NO_ATTACHMENTS = OrderAttachments({}, [])


def documented_result(page: str, *, containing: str) -> dict[str, Any]:
    """The first documented response on `page` whose result has the key `containing`."""
    examples, _ = json_examples(page)
    for example in examples:
        if example.is_response and containing in example.body["result"][0]:
            result: dict[str, Any] = example.body["result"][0]
            return result
    raise AssertionError(f"no documented response with {containing!r} on {page}")


@pytest.fixture
def documented_order() -> Rc:
    page = documented_result("search/get/RecordsPage", containing="rc")
    return Rc.model_validate(page["rc"][0])


@pytest.fixture
def documented_patient() -> Patient:
    return Patient.model_validate(documented_result("patient/get", containing="last_name"))


@pytest.fixture
def documented_attachment() -> AttachmentMeta:
    return AttachmentMeta.model_validate(documented_result("attachment/query", containing="digest"))


def test_documented_order_maps_to_event_with_offset_times_links_and_missing_attachments(
    documented_order: Rc, documented_patient: Patient, documented_attachment: AttachmentMeta
) -> None:
    mapping = OrderMapping(ZONE, ORIGIN)
    data = mapping.order_received(
        documented_order,
        documented_patient,
        OrderAttachments({"#1585:4537": documented_attachment}, ["#1586:4430"]),
    )
    announced = data.model_dump(mode="json", exclude_none=True)

    order = announced["order"]
    assert order["id"] == "#1930:0"
    assert order["ui_link"] == "https://demo.onco-reg.ru/ui-orid/1930:0"
    assert order["created_at"] == "2020-05-18T20:07:28+05:00"
    assert order["published_at"] == "2020-05-18T20:13:06+05:00"
    assert (order["patient_id"], order["ehr_id"]) == ("#69:111", "#1053:111")
    assert order["purpose"]["code"] == "ФОРМИРОВАНИЕ_ЭКСПЕРТНОГО_МНЕНИЯ"
    assert order["diagnostics_type"]["code"] == "КТ_ГРУДНОЙ_КЛЕТКИ"
    assert order["diagnosis"] == {
        "icd10_code": "C34.0",
        "icd10_caption": "Главного бронха",
        "text": "Текстовое поле расшифровки диагноза",
    }
    assert order["primary_protocol"] == {
        "method": {"code": "КТ", "caption": "Компьютерная томография"},
        "performed_at": "2020-05-04T20:09:00+05:00",
        "device": "Аппарат первичного исследования",
        "text": "Текстовое краткое описание первичного исследования",
        "dose_msv": 4.0,
        "attachment_ids": ["#1585:4537"],
    }
    assert order["documents"] == [
        {
            "date": "2020-05-07T20:11:00+05:00",
            "name": "Прием онколога",
            "description": "Краткое описание приема онколога",
            "attachment_ids": ["#1586:4430"],
        }
    ]
    assert order["client"]["name"] == "ДАВЫДАЧЕВА Т В"
    assert order["client_mo"]["code"] == "660122"
    assert order["expert_mo"]["ogrn"] == "1146658016614"

    assert announced["patient"]["last_name"] == "Иванов"
    assert announced["patient"]["gender"]["caption"] == "М"
    assert announced["patient"]["ehr_count"] == 0  # a field our model does not list still passes

    assert announced["attachments"] == [
        {
            "id": "#1585:4537",
            "digest": "6e4a3290ff2ab22fed4e747c95678bbf534b41d0",
            "name": "проверка.txt",
            "media_type": "text/plain",
            "size": 27,
            "created_at": "2018-10-02T18:53:06+05:00",
            "url": "https://demo.onco-reg.ru/attachment/"
            "6e4a3290ff2ab22fed4e747c95678bbf534b41d0:1585:4537",
        }
    ]
    assert announced["missing_attachment_ids"] == ["#1586:4430"]


def test_order_with_only_an_id_still_maps() -> None:
    data = OrderMapping(ZONE, ORIGIN).order_received(Rc(id="#1930:7"), None, NO_ATTACHMENTS)

    assert data.model_dump(mode="json", exclude_none=True) == {
        "order": {
            "id": "#1930:7",
            "ui_link": "https://demo.onco-reg.ru/ui-orid/1930:7",
            "documents": [],
        },
        "attachments": [],
        "missing_attachment_ids": [],
    }


def test_unreadable_order_time_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        OrderMapping(ZONE, ORIGIN).order(Rc(id="#1930:7", time_rc="yesterday"))


def test_event_carries_an_id_stable_per_order_as_message_id(documented_order: Rc) -> None:
    data = OrderMapping(ZONE, ORIGIN).order_received(documented_order, None, NO_ATTACHMENTS)

    first, again = order_received_message(data), order_received_message(data)

    assert first.message_id == again.message_id == order_event_id("#1930:0")
    assert order_event_id("#1930:1") != order_event_id("#1930:0")
    event = json.loads(first.body)
    assert event["id"] == first.message_id
    assert event["type"] == ORDER_RECEIVED_TYPE == "ru.oncor.dezo.order.received.v1"
    assert event["subject"] == first.correlation_id == "#1930:0"
    assert event["data"]["order"]["id"] == "#1930:0"
    assert first.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
