"""The admin API and fault injection."""

import time

import httpx
import pytest

from tests.emulator.api_calls import EXPERT_ID, add_document, assert_error, bare, new_orders

# --- admin -----------------------------------------------------------------------------------


def test_admin_creates_orders_as_asked(api: httpx.Client, admin: httpx.Client) -> None:
    created = admin.post("orders", json={"count": 4, "patients": 2}).json()
    [minimal] = new_orders(admin, missing_optional=True, created_at="2022-02-02 12:00:00")

    assert len(created["ids"]) == 4
    assert len(set(created["patient_ids"])) == 2
    orders = admin.get("orders").json()
    assert {order["patient_id"] for order in orders[:4]} == set(created["patient_ids"])
    [rc] = api.get("rc/get", params={"id": bare(minimal)}).json()["result"]
    absent = {"description", "docs", "primary_diagnostics_doc", "dz_icd10"}
    assert not absent & rc["rc_tm66_order"].keys()
    assert admin.get(f"orders/{bare(minimal)}").json() == {
        "id": minimal,
        "patient_id": rc["patient_id"],
        "created": "2022-02-02 12:00:00",
        "status": None,
        "status_history": [],
        "status_updates": 0,
    }
    assert_error(admin.post("orders", json={"count": -1}), 422, "InvalidArgumentsException")
    assert_error(
        admin.post("orders", json={"created_at": "2022-02-02T12:00:00+05:00"}),
        422,
        "InvalidArgumentsException",
    )
    assert admin.get("orders/1930:999999").status_code == 404


def test_sample_orders_carry_their_attachments_as_pdfs(
    api: httpx.Client,
    admin: httpx.Client,
) -> None:
    [order_id] = new_orders(admin)
    [rc] = api.get("rc/get", params={"id": bare(order_id)}).json()["result"]
    order = rc["rc_tm66_order"]
    attachment_ids = order["primary_diagnostics_doc"]["attachment_id"] + [
        attachment for doc in order.get("docs", []) for attachment in doc["attachment_id"]
    ]

    metas = api.post("attachment/query", json={"query": {"ids": attachment_ids}}).json()["result"]

    assert [meta["id"] for meta in metas] == attachment_ids
    for meta in metas:
        data = admin.get(f"attachments/{bare(meta['id'])}/data").content
        assert data.startswith(b"%PDF-1.4")
        assert admin.get(f"attachments/{bare(meta['id'])}").json()["size"] == len(data)


def test_admin_reset_empties_everything(api: httpx.Client, admin: httpx.Client) -> None:
    [order_id] = new_orders(admin, 2)[:1]
    add_document(
        api,
        "addRcTm66OrderReject",
        {"order_id": order_id, "reason": {"code": "КАЧЕСТВО_СНИМКА"}, "expert": {"id": EXPERT_ID}},
    )
    admin.post("faults", json={"latency_ms": 5}).raise_for_status()

    admin.post("reset").raise_for_status()

    assert admin.get("stats").json() == {"calls": {}, "orders": 0, "documents": 0, "attachments": 0}
    assert admin.get("orders").json() == admin.get("documents").json() == []
    assert admin.get("calls").json() == []
    assert admin.get("faults").json()["latency_ms"] == 0


def test_the_call_log_records_each_api_call(api: httpx.Client, admin: httpx.Client) -> None:
    api.get("rc/get", params={"id": "1930:999999"})
    api.get("directory/get/MedDepart")

    calls = admin.get("calls").json()

    assert [(c["method"], c["path"], c["id"], c["status"]) for c in calls] == [
        ("GET", "rc/get", "1930:999999", 422),
        ("GET", "directory/get/MedDepart", None, 200),
    ]
    assert admin.get("stats").json()["calls"] == {"rc/get": 1, "directory/get/MedDepart": 1}
    admin.delete("calls").raise_for_status()
    assert admin.get("calls").json() == []


# --- faults ----------------------------------------------------------------------------------


def test_error_rate_one_answers_every_call_with_5xx(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("faults", json={"error_rate": 1.0}).raise_for_status()

    responses = [api.get("directory/get/MedDepart") for _ in range(30)]

    assert {response.status_code for response in responses} <= {500, 502, 503}
    unavailable = [response for response in responses if response.status_code == 503]
    assert unavailable
    assert all(response.headers["retry-after"] == "1" for response in unavailable)
    assert admin.get("health").json() == {"ok": True}  # never /admin


def test_faults_hit_only_the_listed_paths(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("faults", json={"error_rate": 1.0, "paths": ["patient/get"]}).raise_for_status()
    assert api.get("patient/get", params={"id": "69:0"}).status_code >= 500
    assert api.get("directory/get/MedDepart").status_code == 200


def test_latency_delays_every_call(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("faults", json={"latency_ms": 300}).raise_for_status()
    started = time.monotonic()
    assert api.get("directory/get/MedDepart").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_dropped_connection_breaks_the_read(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("faults", json={"drop_rate": 1.0}).raise_for_status()
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("directory/get/MedDepart")
    admin.delete("faults").raise_for_status()
    assert api.get("directory/get/MedDepart").status_code == 200


@pytest.mark.parametrize(
    ("fault", "applied"),
    [("drop_rate", True), ("gateway_timeout_rate", True), ("drop_before_rate", False)],
)
def test_write_faults_lose_the_answer_with_or_without_the_write(
    api: httpx.Client, admin: httpx.Client, fault: str, applied: bool
) -> None:
    [order_id] = new_orders(admin)
    admin.post("faults", json={fault: 1.0, "paths": ["tm66/"]}).raise_for_status()
    fields = {
        "order_id": order_id,
        "reason": {"code": "КАЧЕСТВО_СНИМКА"},
        "expert": {"id": EXPERT_ID},
    }
    try:
        response = api.post(
            "tm66/order/addRcTm66OrderReject", json={"record": {"rc_tm66_order_reject": fields}}
        )
    except httpx.RemoteProtocolError:
        assert fault != "gateway_timeout_rate"
    else:
        assert fault == "gateway_timeout_rate" and response.status_code == 504
    admin.delete("faults").raise_for_status()
    assert len(admin.get("documents").json()) == int(applied)


def test_a_timeout_fault_hangs_the_call(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("faults", json={"timeout_rate": 1.0, "timeout_seconds": 0.5}).raise_for_status()
    with pytest.raises(httpx.ReadTimeout):
        api.get("directory/get/MedDepart", timeout=0.2)


def test_faults_can_be_read_and_cleared(admin: httpx.Client) -> None:
    settings = admin.post("faults", json={"drop_rate": 0.5, "paths": ["rc/"]}).json()
    assert settings == {
        "latency_ms": 0,
        "error_rate": 0.0,
        "error_statuses": [500, 502, 503],
        "timeout_rate": 0.0,
        "timeout_seconds": 30.0,
        "drop_rate": 0.5,
        "gateway_timeout_rate": 0.0,
        "drop_before_rate": 0.0,
        "paths": ["rc/"],
        "timeout_paths": None,
    }
    assert admin.get("faults").json() == settings
    assert admin.delete("faults").json()["drop_rate"] == 0.0
    assert_error(admin.post("faults", json={"error_rate": 2}), 422, "InvalidArgumentsException")
