"""DEZO documents (add*), their side effects on order statuses, and the directories."""

import json
from typing import Any

import httpx
import pytest

from tests.emulator.api_calls import (
    EXPERT_ID,
    KIND_IDS,
    KINDS,
    Kind,
    add_document,
    assert_error,
    bare,
    new_orders,
    post_document,
    set_status,
    upload,
)

# --- documents -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_documents_are_created_in_the_documented_shape(
    api: httpx.Client,
    admin: httpx.Client,
    kind: Kind,
) -> None:
    [order_id] = new_orders(admin)
    [order] = api.get("rc/get", params={"id": bare(order_id)}).json()["result"]
    pdf, signature = upload(api, b"%PDF-1.4 conclusion"), upload(api, b"signature", "c.sig")

    document = add_document(
        api,
        kind.method,
        {
            "order_id": order_id,
            kind.code_field: {"code": kind.code},
            "description": "Описание",
            "pdf_id": pdf["id"],
            "pdf_ds_id": signature["id"],
            "expert": {"id": EXPERT_ID},
            "expert_d": {"id": "20000-661768(20190823)"},
        },
    )

    assert document["id"].startswith(kind.cluster)
    assert document["class_name"] == kind.method.removeprefix("add")
    assert (document["patient_id"], document["ehr_id"]) == (order["patient_id"], order["ehr_id"])
    assert document["published"]["user_id"] == "#961:97"
    assert document["time_rc"] == document["published"]["time"]
    nested = document[kind.body_key]
    assert nested[kind.code_field] == kind.entry
    assert (nested["order_id"], nested["description"]) == (order_id, "Описание")
    assert (nested["pdf_id"], nested["pdf_ds_id"]) == (pdf["id"], signature["id"])
    assert nested["expert"] == {
        "id": EXPERT_ID,
        "code": "39115-661768-26",
        "date_range": ["20190905", "29991231"],
        "name": "НОВОСЕЛОВА О О",
        "doctor_code": "39115",
        "doctor_name": "НОВОСЕЛОВА О О",
        "med_org_code": "661768",
        "med_spec_code": "26",
    }
    assert nested["expert_d"]["med_org_code"] == "661768"
    assert admin.get("documents", params={"order_id": bare(order_id)}).json() == [document]


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_documents_with_unknown_codes_are_refused_with_class(
    api: httpx.Client,
    admin: httpx.Client,
    kind: Kind,
) -> None:
    [order_id] = new_orders(admin)
    response = post_document(
        api,
        kind.method,
        {
            "order_id": order_id,
            kind.code_field: {"code": "НЕТ_ТАКОГО"},
            "expert": {"id": EXPERT_ID},
        },
    )
    message = assert_error(response, 422, "DirectoryEntryNotFoundException", key="class")
    assert "name" not in response.json()["error"]
    assert kind.code in message
    assert admin.get("documents").json() == []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"order_id": "#1930:999999"}, "RecordNotFoundException"),
        ({"order_id": "1930:0"}, "InvalidArgumentsException"),
        ({"expert": None}, "InvalidArgumentsException"),
        ({"expert": {"id": "nobody"}}, "DirectoryEntryNotFoundException"),
        ({"expert_d": {"id": "nowhere"}}, "DirectoryEntryNotFoundException"),
        ({"pdf_id": "#1587:999999"}, "RecordNotFoundException"),
    ],
)
def test_documents_with_unknown_references_are_refused(
    api: httpx.Client,
    admin: httpx.Client,
    change: dict[str, Any],
    error: str,
) -> None:
    [order_id] = new_orders(admin)
    fields = {
        "order_id": order_id,
        "reason": {"code": "КАЧЕСТВО_СНИМКА"},
        "expert": {"id": EXPERT_ID},
        **change,
    }
    assert_error(post_document(api, "addRcTm66OrderReject", fields), 422, error, key="class")


def test_a_document_is_not_an_order(api: httpx.Client, admin: httpx.Client) -> None:
    [order_id] = new_orders(admin)
    reject = add_document(
        api,
        "addRcTm66OrderReject",
        {"order_id": order_id, "reason": {"code": "КАЧЕСТВО_СНИМКА"}, "expert": {"id": EXPERT_ID}},
    )
    response = post_document(
        api,
        "addRcTm66OrderConclusion",
        {"order_id": reject["id"], "conclusion": {"code": "ДРУГОЕ"}, "expert": {"id": EXPERT_ID}},
    )
    assert_error(response, 422, "RecordNotFoundException", key="class")


@pytest.mark.parametrize(
    ("method", "fields", "status"),
    [
        ("addRcTm66OrderReject", {"reason": {"code": "ОБЛАСТЬ_СНИМКА"}}, {"status": "Отказ"}),
        ("addRcTm66OrderConclusion", {"conclusion": {"code": "ДРУГОЕ"}}, {"status": "Заключение"}),
        (
            "addRcTm66OrderExpertiseDicom",
            {"result": {"code": "НАРУШЕНИЙ_НЕТ"}},
            {"status": "Обработка началась"},
        ),
        (
            "addRcTm66OrderExpertiseProtocol",
            {"result": {"code": "НАРУШЕНИЙ_НЕТ"}},
            {"status": "Обработка началась"},
        ),
    ],
)
def test_rejects_and_conclusions_set_the_order_status(
    api: httpx.Client,
    admin: httpx.Client,
    method: str,
    fields: dict[str, Any],
    status: dict[str, str],
) -> None:
    [order_id] = new_orders(admin)
    set_status(api, order_id, '{status: "Обработка началась"}')

    add_document(api, method, {"order_id": order_id, "expert": {"id": EXPERT_ID}, **fields})

    [current] = api.get("rc/getInstanceStatus", params={"id": bare(order_id)}).json()["result"]
    assert json.loads(current["json"]) == status
    assert admin.get(f"orders/{bare(order_id)}").json()["status_updates"] == 1


# --- directories -----------------------------------------------------------------------------


def test_directories_serve_the_documented_entries(api: httpx.Client) -> None:
    def codes(name: str) -> list[str]:
        response = api.get(f"directory/get/{name}")
        assert response.status_code == 200, response.text
        return [entry.get("code") for entry in response.json()["result"]]

    assert codes("Tm66OrderRejectReason") == [
        "ДАННЫЕ_ПАЦИЕНТА",
        "КАЧЕСТВО_СНИМКА",
        "ОБЛАСТЬ_СНИМКА",
        "НЕВОЗМОЖНО_АССОЦИИРОВАТЬ",
    ]
    assert codes("Tm66DiagnosticsMethod") == ["РГ", "КТ", "МРТ", "УЗИ"]
    assert len(codes("Tm66OrderPurpose")) == 7
    assert len(codes("Tm66DiagnosticsType")) == 20
    assert len(codes("Tm66ConclusionType")) == 10
    assert (
        codes("Tm66ExpertDicomResult")
        == codes("Tm66ExpertProtocolResult")
        == ["НАРУШЕНИЙ_НЕТ", "НЕЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ", "ЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ"]
    )
    assert {"661768", "660122"} <= set(codes("MedOrganization"))
    assert "39115-661768-26" in codes("MedResource")
    assert any(code.endswith("-661768") for code in codes("MedDepart"))
    assert_error(api.get("directory/get/Nothing"), 404, "NotFoundException")
