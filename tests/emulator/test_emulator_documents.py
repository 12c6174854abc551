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
    admin_http: httpx.Client,
    kind: Kind,
) -> None:
    [order_id] = new_orders(admin_http)
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
    assert admin_http.get("documents", params={"order_id": bare(order_id)}).json() == [document]


@pytest.mark.parametrize("key", ["name", "class"])
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_documents_with_unknown_codes_are_refused_with_name_or_as_configured_class(
    api: httpx.Client,
    admin_http: httpx.Client,
    kind: Kind,
    key: str,
) -> None:
    if key != "name":
        admin_http.post("config", json={"document_error_key": key}).raise_for_status()
    [order_id] = new_orders(admin_http)
    response = post_document(
        api,
        kind.method,
        {
            "order_id": order_id,
            kind.code_field: {"code": "НЕТ_ТАКОГО"},
            "expert": {"id": EXPERT_ID},
        },
    )
    message = assert_error(response, 422, "DirectoryEntryNotFoundException", key=key)
    assert ({"name", "class"} - {key}).isdisjoint(response.json()["error"])
    assert kind.code in message
    assert admin_http.get("documents").json() == []


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
    admin_http: httpx.Client,
    change: dict[str, Any],
    error: str,
) -> None:
    [order_id] = new_orders(admin_http)
    fields = {
        "order_id": order_id,
        "reason": {"code": "КАЧЕСТВО_СНИМКА"},
        "expert": {"id": EXPERT_ID},
        **change,
    }
    assert_error(post_document(api, "addRcTm66OrderReject", fields), 422, error)


def test_a_document_is_not_an_order(api: httpx.Client, admin_http: httpx.Client) -> None:
    [order_id] = new_orders(admin_http)
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
    assert_error(response, 422, "RecordNotFoundException")


@pytest.mark.parametrize(
    ("method", "fields"),
    [
        ("addRcTm66OrderReject", {"reason": {"code": "ОБЛАСТЬ_СНИМКА"}}),
        ("addRcTm66OrderConclusion", {"conclusion": {"code": "ДРУГОЕ"}}),
        ("addRcTm66OrderExpertiseDicom", {"result": {"code": "НАРУШЕНИЙ_НЕТ"}}),
        ("addRcTm66OrderExpertiseProtocol", {"result": {"code": "НАРУШЕНИЙ_НЕТ"}}),
    ],
)
@pytest.mark.parametrize("configured", [False, True])
def test_documents_set_the_order_status_only_when_told_which(
    api: httpx.Client,
    admin_http: httpx.Client,
    method: str,
    fields: dict[str, Any],
    configured: bool,
) -> None:
    """dezo.md says documents update the order's status but names no status: by default the
    emulator sets none, and any name can be configured."""
    class_name = method.removeprefix("add")
    if configured:
        statuses = {class_name: f"Документ {class_name}"}
        admin_http.post("config", json={"document_statuses": statuses}).raise_for_status()
    [order_id] = new_orders(admin_http)
    set_status(api, order_id, '{status: "Обработка началась"}')

    add_document(api, method, {"order_id": order_id, "expert": {"id": EXPERT_ID}, **fields})

    [current] = api.get("rc/getInstanceStatus", params={"id": bare(order_id)}).json()["result"]
    expected = f"Документ {class_name}" if configured else "Обработка началась"
    assert json.loads(current["json"]) == {"status": expected}
    assert admin_http.get(f"orders/{bare(order_id)}").json()["status_updates"] == 1


def test_documents_are_listed_in_their_documented_shape(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    """Searches and rc/getList show what the docs' search example shows: no expert."""
    [order_id] = new_orders(admin_http)
    fields = {"conclusion": {"code": "ДРУГОЕ"}, "description": "итог", "expert": {"id": EXPERT_ID}}
    created = add_document(api, "addRcTm66OrderConclusion", {"order_id": order_id, **fields})
    assert "expert" in created["rc_tm66_order_conclusion"]
    [order] = api.get("rc/get", params={"id": bare(order_id)}).json()["result"]

    listing = api.get("rc/getList", params={"ehr_id": bare(order["ehr_id"])}).json()["result"]

    [document] = [rc for rc in listing if rc["id"] == created["id"]]
    assert document["rc_tm66_order_conclusion"] == {
        "order_id": order_id,
        "conclusion": created["rc_tm66_order_conclusion"]["conclusion"],
        "description": "итог",
    }
    assert order_id in [rc["id"] for rc in listing]


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
