"""The admin API and fault injection."""

import itertools
import time

import httpx
import pytest

from tests.emulator.api_calls import EXPERT_ID, add_document, assert_error, bare, new_orders

# --- admin ----------------------------------------------------------------------------------


def test_admin_creates_orders_as_asked(api: httpx.Client, admin_http: httpx.Client) -> None:
    created = admin_http.post("orders", json={"count": 4, "patients": 2}).json()
    [minimal] = new_orders(admin_http, missing_optional=True, created_at="2022-02-02 12:00:00")

    assert len(created["ids"]) == 4
    assert len(set(created["patient_ids"])) == 2
    orders = admin_http.get("orders").json()
    assert {order["patient_id"] for order in orders[:4]} == set(created["patient_ids"])
    [rc] = api.get("rc/get", params={"id": bare(minimal)}).json()["result"]
    absent = {"description", "docs", "primary_diagnostics_doc", "dz_icd10"}
    assert not absent & rc["rc_tm66_order"].keys()
    assert admin_http.get(f"orders/{bare(minimal)}").json() == {
        "id": minimal,
        "patient_id": rc["patient_id"],
        "created": "2022-02-02 12:00:00",
        "status": None,
        "status_history": [],
        "status_updates": 0,
    }
    assert_error(admin_http.post("orders", json={"count": -1}), 422, "InvalidArgumentsException")
    assert_error(
        admin_http.post("orders", json={"created_at": "2022-02-02T12:00:00+05:00"}),
        422,
        "InvalidArgumentsException",
    )
    assert admin_http.get("orders/1930:999999").status_code == 404


def test_sample_orders_carry_their_attachments_as_pdfs(
    api: httpx.Client,
    admin_http: httpx.Client,
) -> None:
    [order_id] = new_orders(admin_http)
    [rc] = api.get("rc/get", params={"id": bare(order_id)}).json()["result"]
    order = rc["rc_tm66_order"]
    attachment_ids = order["primary_diagnostics_doc"]["attachment_id"] + [
        attachment for doc in order.get("docs", []) for attachment in doc["attachment_id"]
    ]

    metas = api.post("attachment/query", json={"query": {"ids": attachment_ids}}).json()["result"]

    assert [meta["id"] for meta in metas] == attachment_ids
    for meta in metas:
        data = admin_http.get(f"attachments/{bare(meta['id'])}/data").content
        assert data.startswith(b"%PDF-1.4")
        assert admin_http.get(f"attachments/{bare(meta['id'])}").json()["size"] == len(data)


def test_admin_reset_empties_everything(api: httpx.Client, admin_http: httpx.Client) -> None:
    [order_id] = new_orders(admin_http, 2)[:1]
    add_document(
        api,
        "addRcTm66OrderReject",
        {"order_id": order_id, "reason": {"code": "КАЧЕСТВО_СНИМКА"}, "expert": {"id": EXPERT_ID}},
    )
    admin_http.post("faults", json={"latency_ms": 5}).raise_for_status()

    admin_http.post("reset").raise_for_status()

    assert admin_http.get("stats").json() == {
        "calls": {},
        "orders": 0,
        "documents": 0,
        "attachments": 0,
    }
    assert admin_http.get("orders").json() == admin_http.get("documents").json() == []
    assert admin_http.get("calls").json() == []
    assert admin_http.get("faults").json()["latency_ms"] == 0


def test_the_call_log_records_each_api_call(api: httpx.Client, admin_http: httpx.Client) -> None:
    api.get("rc/get", params={"id": "1930:999999"})
    api.get("directory/get/MedDepart")

    calls = admin_http.get("calls").json()

    assert [(c["method"], c["path"], c["id"], c["status"]) for c in calls] == [
        ("GET", "rc/get", "1930:999999", 422),
        ("GET", "directory/get/MedDepart", None, 200),
    ]
    assert admin_http.get("stats").json()["calls"] == {"rc/get": 1, "directory/get/MedDepart": 1}
    admin_http.delete("calls").raise_for_status()
    assert admin_http.get("calls").json() == []


# --- faults ----------------------------------------------------------------------------------


def test_error_rate_one_answers_every_call_with_5xx(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    admin_http.post("faults", json={"error_rate": 1.0}).raise_for_status()

    responses = [api.get("directory/get/MedDepart") for _ in range(30)]

    assert {response.status_code for response in responses} <= {500, 502, 503}
    assert {response.status_code for response in responses} & {502, 503}
    assert all("retry-after" not in response.headers for response in responses)
    assert admin_http.get("health").json() == {"ok": True}  # never /admin


def test_injected_429_and_503_carry_the_retry_after_asked_for(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    faults = {"error_rate": 1.0, "error_statuses": [429, 503], "retry_after": 3}
    admin_http.post("faults", json=faults).raise_for_status()

    responses = [api.get("directory/get/MedDepart") for _ in range(20)]

    assert {response.status_code for response in responses} == {429, 503}
    assert {response.headers["retry-after"] for response in responses} == {"3"}


def test_faults_hit_only_the_listed_paths(api: httpx.Client, admin_http: httpx.Client) -> None:
    admin_http.post("faults", json={"error_rate": 1.0, "paths": ["patient/get"]}).raise_for_status()
    assert api.get("patient/get", params={"id": "69:0"}).status_code >= 500
    assert api.get("directory/get/MedDepart").status_code == 200


def test_latency_delays_every_call(api: httpx.Client, admin_http: httpx.Client) -> None:
    admin_http.post("faults", json={"latency_ms": 300}).raise_for_status()
    started = time.monotonic()
    assert api.get("directory/get/MedDepart").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_dropped_connection_breaks_the_read(api: httpx.Client, admin_http: httpx.Client) -> None:
    admin_http.post("faults", json={"drop_rate": 1.0}).raise_for_status()
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("directory/get/MedDepart")
    admin_http.delete("faults").raise_for_status()
    assert api.get("directory/get/MedDepart").status_code == 200


@pytest.mark.parametrize(
    ("fault", "applied"),
    [("drop_rate", True), ("gateway_timeout_rate", True), ("drop_before_rate", False)],
)
def test_write_faults_lose_the_answer_with_or_without_the_write(
    api: httpx.Client, admin_http: httpx.Client, fault: str, applied: bool
) -> None:
    [order_id] = new_orders(admin_http)
    admin_http.post("faults", json={fault: 1.0, "paths": ["tm66/"]}).raise_for_status()
    fields = {
        "order_id": order_id,
        "reason": {"code": "КАЧЕСТВО_СНИМКА"},
        "expert": {"id": EXPERT_ID},
    }
    try:
        response = api.post(
            "tm66/order/addRcTm66OrderReject", json={"record": {"rc_tm66_order_reject": fields}}
        )
    except httpx.TransportError:  # cut mid-answer: a protocol error, or a reset read
        assert fault != "gateway_timeout_rate"
    else:
        assert fault == "gateway_timeout_rate" and response.status_code == 504
    admin_http.delete("faults").raise_for_status()
    assert len(admin_http.get("documents").json()) == int(applied)


def test_a_timeout_fault_hangs_the_call(api: httpx.Client, admin_http: httpx.Client) -> None:
    admin_http.post("faults", json={"timeout_rate": 1.0, "timeout_seconds": 0.5}).raise_for_status()
    with pytest.raises(httpx.ReadTimeout):
        api.get("directory/get/MedDepart", timeout=0.2)


def test_errors_can_be_kept_to_some_paths(admin_http: httpx.Client, api: httpx.Client) -> None:
    admin_http.post("faults", json={"error_rate": 1.0, "error_paths": ["rc/update"]})
    assert api.get("directory/get/MedDepart").status_code == 200


def test_faults_can_be_read_and_cleared(admin_http: httpx.Client) -> None:
    settings = admin_http.post("faults", json={"drop_rate": 0.5, "paths": ["rc/"]}).json()
    assert settings == {
        "latency_ms": 0,
        "error_rate": 0.0,
        "error_statuses": [500, 502, 503],
        "retry_after": None,
        "timeout_rate": 0.0,
        "timeout_seconds": 30.0,
        "drop_rate": 0.5,
        "gateway_timeout_rate": 0.0,
        "drop_before_rate": 0.0,
        "paths": ["rc/"],
        "timeout_paths": None,
        "error_paths": None,
    }
    assert admin_http.get("faults").json() == settings
    assert admin_http.delete("faults").json()["drop_rate"] == 0.0
    assert_error(
        admin_http.post("faults", json={"error_rate": 2}), 422, "InvalidArgumentsException"
    )


# --- outages ---------------------------------------------------------------------------------

Probe = tuple[float, float, int]  # sent, answered (seconds since the outage was set), status


def probe_for(
    api: httpx.Client, admin_http: httpx.Client, outage: dict[str, float], seconds: float
) -> tuple[list[Probe], float]:
    """Set `outage`, then call the API for `seconds`; returns the calls and how long the admin
    call took (the emulator started the outage's clock somewhere within it)."""
    started = time.monotonic()
    admin_http.post("outage", json=outage).raise_for_status()
    setting = time.monotonic() - started
    probes = []
    while (sent := time.monotonic() - started) < seconds:
        status = api.get("directory/get/MedDepart").status_code
        probes.append((sent, time.monotonic() - started, status))
        time.sleep(0.05)
    return probes, setting


def assert_follows(down: list[tuple[float, float]], probes: list[Probe], setting: float) -> None:
    """Each call was answered 503 inside the `down` intervals and 200 outside them, wherever
    that is certain: from the call being sent (less the whole admin call) to its answer."""
    checked = 0
    for sent, answered, status in probes:
        earliest = sent - setting
        if any(start <= earliest and answered < end for start, end in down):
            assert status == 503, (sent, answered, status)
            checked += 1
        elif all(answered < start or earliest >= end for start, end in down):
            assert status == 200, (sent, answered, status)
            checked += 1
    assert checked >= len(probes) // 2


def test_an_outage_answers_every_call_503_until_switched_up(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    state = admin_http.post("outage", json={"retry_after": 2}).json()

    assert state == {
        "down": True,
        "schedule": {"start_in": 0.0, "down_for": None, "up_for": None, "retry_after": 2},
    }
    for path in ("directory/get/MedDepart", "patient/get?id=69:0", "rc/get?id=1930:1"):
        response = api.get(path)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
    assert admin_http.get("orders").status_code == 200  # never /admin
    assert admin_http.delete("outage").json() == {"down": False, "schedule": None}
    assert api.get("directory/get/MedDepart").status_code == 200


def test_a_scheduled_outage_starts_and_ends_on_time(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    probes, setting = probe_for(api, admin_http, {"start_in": 0.6, "down_for": 0.6}, seconds=1.8)

    assert_follows([(0.6, 1.2)], probes, setting)
    statuses = [status for *_, status in probes]
    assert statuses[0] == statuses[-1] == 200
    assert 503 in statuses
    assert "retry-after" not in api.get("directory/get/MedDepart").headers


def test_a_flapping_outage_goes_down_and_up_again_and_again(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    probes, setting = probe_for(api, admin_http, {"down_for": 0.4, "up_for": 0.4}, seconds=2.4)

    assert_follows([(0.0, 0.4), (0.8, 1.2), (1.6, 2.0), (2.4, 2.8)], probes, setting)
    statuses = [status for *_, status in probes]
    changes = sum(1 for before, after in itertools.pairwise(statuses) if before != after)
    assert changes >= 4


def test_outage_schedules_are_checked_and_cleared_by_reset(admin_http: httpx.Client) -> None:
    assert_error(admin_http.post("outage", json={"up_for": 1}), 422, "InvalidArgumentsException")
    assert_error(admin_http.post("outage", json={"down_for": 0}), 422, "InvalidArgumentsException")
    admin_http.post("outage", json={"start_in": 60}).raise_for_status()
    assert admin_http.get("outage").json()["down"] is False
    admin_http.post("reset").raise_for_status()
    assert admin_http.get("outage").json() == {"down": False, "schedule": None}
