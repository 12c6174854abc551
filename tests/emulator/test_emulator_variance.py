"""The emulator serves what ONCOR's documented types allow beyond its examples, when asked."""

from __future__ import annotations

from typing import Any

import httpx

from adapter.emulator.arguments import parse_options, to_argv
from adapter.emulator.options import EmulatorOptions
from adapter.emulator.process import start_emulator_process
from adapter.emulator.variance import ODDITIES, STALE_ATTACHMENT_ID
from tests.emulator.api_calls import (
    assert_error,
    bare,
    new_orders,
    records_page,
    set_status,
    start_search,
)


def _served(api: httpx.Client, order_id: str) -> dict[str, Any]:
    """The order as RecordsPage gives it."""
    job_id = start_search(api, {"status_is_null": True})
    [record] = [rc for rc in records_page(api, job_id, 0, 100)["rc"] if rc["id"] == order_id]
    return dict(record)


def test_each_odd_order_differs_from_the_example_in_its_documented_way(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    admin_http.post("config", json={"job_ready_after": 0})
    odd = {oddity: new_orders(admin_http, oddity=oddity)[0] for oddity in ODDITIES}
    served = {oddity: _served(api, order_id) for oddity, order_id in odd.items()}

    assert served["null_docs"]["rc_tm66_order"]["docs"] is None
    assert isinstance(served["number_for_string"]["rc_tm66_order"]["purpose"]["id"], int)
    dose = served["string_dose"]["rc_tm66_order"]["primary_diagnostics_doc"]["dose_msv"]
    assert isinstance(dose, str) and float(dose) > 0
    assert "T" in served["t_time"]["time_rc"] and "T" in served["t_time"]["published"]["time"]
    assert served["fractional_seconds"]["time_rc"].endswith(".125")
    assert served["deleted"]["deleted_status"] == ["RC"]
    assert served["null_order"]["rc_tm66_order"] is None
    stale_docs = served["stale_attachment"]["rc_tm66_order"]["docs"]
    assert stale_docs[-1]["attachment_id"] == [STALE_ATTACHMENT_ID]


def test_variance_leaves_out_the_optional_total_of_a_records_page(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    admin_http.post("config", json={"job_ready_after": 0})
    new_orders(admin_http, 3)
    job_id = start_search(api, {"status_is_null": True})
    assert records_page(api, job_id, 0, 2)["size"] == 3

    admin_http.post("config", json={"variance": True})
    page = records_page(api, job_id, 0, 2)
    assert "size" not in page and len(page["rc"]) == 2


def test_variance_answers_statuses_in_the_documented_bare_key_form(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    admin_http.post("config", json={"variance": True})
    [order_id] = new_orders(admin_http)
    set_status(api, order_id, '{"status": "Обработка началась"}').raise_for_status()

    answer = api.get("rc/getInstanceStatus", params={"id": bare(order_id)}).json()["result"][0]
    assert answer["json"] == '{status: "Обработка началась"}'


def test_variance_refuses_an_attachment_query_naming_a_stale_id(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    [order_id] = new_orders(admin_http, oddity="stale_attachment")
    known = admin_http.get(f"orders/{bare(order_id)}").raise_for_status()  # the order exists
    assert known.json()["id"] == order_id
    query = {"query": {"ids": [STALE_ATTACHMENT_ID]}}
    assert api.post("attachment/query", json=query).json() == {"result": []}

    admin_http.post("config", json={"variance": True})
    assert_error(api.post("attachment/query", json=query), 422, "RecordNotFoundException")


def test_variance_flag_round_trips_and_seeds_one_odd_order_of_each_kind(
    http: httpx.Client,
) -> None:
    options = EmulatorOptions(port=0, variance=True, bare_to_date="day_end", orders=2)
    assert parse_options(to_argv(options)) == options
    assert parse_options([]).variance is False

    with start_emulator_process(options) as emulator:
        orders = http.get(emulator.base_url + "/admin/orders").json()
        config = http.get(emulator.base_url + "/admin/config").json()
    assert len(orders) == 2 + len(ODDITIES)
    assert config["variance"] is True and config["bare_to_date"] == "day_end"
