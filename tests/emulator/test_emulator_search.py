"""Searches: jobs that get ready, both offset modes, the time and status filters."""

import time

import httpx
import pytest

from tests.emulator.api_calls import (
    EXPERT_ID,
    KIND_IDS,
    KINDS,
    Kind,
    add_document,
    assert_error,
    new_orders,
    records_page,
    search_ids,
    set_status,
    start_search,
)


def test_a_search_job_is_not_ready_first_then_answers_the_documented_page(
    api: httpx.Client,
    admin_http: httpx.Client,
) -> None:
    admin_http.post("config", json={"job_ready_after": 0.3}).raise_for_status()
    [order_id] = new_orders(admin_http)
    job_id = start_search(api, {"from_date": "2018-01-01", "status_is_null": True})

    assert records_page(api, job_id, 0, 5) == {
        "page": {"job": {"id": job_id, "ready": False}, "offset": 0, "size": 5}
    }
    time.sleep(0.35)
    page = records_page(api, job_id, 0, 5)

    assert page["page"] == {"job": {"id": job_id, "ready": True}, "offset": 0, "size": 5}
    assert page["size"] == 1
    [rc] = page["rc"]
    assert rc["id"] == order_id
    assert rc.keys() == {
        "id",
        "class_name",
        "patient_id",
        "ehr_id",
        "published",
        "org_unit_id",
        "time_rc",
        "rc_tm66_order",
    }
    assert rc["rc_tm66_order"].keys() >= {
        "purpose",
        "diagnostics_type",
        "client",
        "client_mo",
        "expert_mo",
    }
    assert rc["rc_tm66_order"]["expert_mo"]["id"] == "661768(20190823)"


@pytest.mark.parametrize(("mode", "offsets"), [("page", [0, 1, 2]), ("record", [0, 2, 4])])
def test_paging_returns_every_order_once_in_creation_order(
    api: httpx.Client,
    admin_http: httpx.Client,
    mode: str,
    offsets: list[int],
) -> None:
    admin_http.post("config", json={"job_ready_after": 0, "page_offset_mode": mode})
    created = new_orders(admin_http, 5)
    job_id = start_search(api, {})

    pages = [records_page(api, job_id, offset, 2) for offset in offsets]

    assert [page["size"] for page in pages] == [5, 5, 5]
    found = [rc for page in pages for rc in page["rc"]]
    assert sorted(rc["id"] for rc in found) == sorted(created)
    times = [(rc["published"]["time"], int(rc["id"].split(":")[1])) for rc in found]
    assert times == sorted(times)


def test_a_search_that_finds_nothing_has_no_rc(api: httpx.Client, admin_http: httpx.Client) -> None:
    admin_http.post("config", json={"job_ready_after": 0})
    new_orders(admin_http)
    job_id = start_search(api, {"from_date": "2999-01-01"})
    assert records_page(api, job_id, 0, 1) == {
        "page": {"job": {"id": job_id, "ready": True}, "offset": 0, "size": 1},
        "size": 0,
    }


def test_searches_filter_on_creation_time(api: httpx.Client, admin_http: httpx.Client) -> None:
    admin_http.post("config", json={"job_ready_after": 0})
    [evening] = new_orders(admin_http, created_at="2020-05-18 20:13:06")
    [morning] = new_orders(admin_http, created_at="2020-05-19 08:00:00")

    assert search_ids(api, {"from_date": "2020-05-18", "to_date": "2020-05-19"}) == [evening]
    assert search_ids(api, {"to_date": "2020-05-18 20:13:06"}) == [evening]
    assert search_ids(api, {"from_date": "2020-05-18 20:13:07"}) == [morning]
    assert search_ids(api, {"from_date": "2020-05-18"}) == [evening, morning]
    response = api.post(
        "search/start/RcTm66OrderQuery", json={"query": {"from_date": "18.05.2020"}}
    )
    assert_error(response, 422, "InvalidArgumentsException")


def test_a_bare_to_date_ends_where_its_day_starts_unless_configured_to_take_it_in(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    admin_http.post("config", json={"job_ready_after": 0})
    [evening] = new_orders(admin_http, created_at="2020-05-18 20:13:06")
    day = {"from_date": "2020-05-18", "to_date": "2020-05-18"}

    assert search_ids(api, day) == []
    admin_http.post("config", json={"bare_to_date": "day_end"})
    assert search_ids(api, day) == [evening]


def test_searches_filter_on_status(api: httpx.Client, admin_http: httpx.Client) -> None:
    admin_http.post("config", json={"job_ready_after": 0})
    started, associated, untouched = new_orders(admin_http, 3, created_at="2021-01-01 10:00:00")
    set_status(api, started, '{status: "Обработка началась"}')
    set_status(api, associated, '{status: "Обработка началась"}')
    set_status(api, associated, '{status: "Ассоциация DICOM", ris_dicom: "https://ris/?id=1"}')

    assert search_ids(api, {"status_is_null": True}) == [untouched]
    assert search_ids(api, {"status_value": "Обработка началась"}) == [started]
    assert search_ids(api, {"status_value_with_history": "Обработка началась"}) == [
        started,
        associated,
    ]
    response = api.post(
        "search/start/RcTm66OrderQuery",
        json={"query": {"status_is_null": True, "status_value": "x"}},
    )
    assert_error(response, 422, "InvalidArgumentsException")


def test_an_unknown_search_job_is_refused(api: httpx.Client) -> None:
    response = api.post(
        "search/get/RecordsPage", json={"page": {"job": {"id": "nope"}, "offset": 0, "size": 1}}
    )
    assert_error(response, 422, "SearchJobNotFoundException")


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_document_searches_find_created_documents(
    api: httpx.Client,
    admin_http: httpx.Client,
    kind: Kind,
) -> None:
    admin_http.post("config", json={"job_ready_after": 0})
    [order_id] = new_orders(admin_http)
    document = add_document(
        api,
        kind.method,
        {"order_id": order_id, kind.code_field: {"code": kind.code}, "expert": {"id": EXPERT_ID}},
    )
    search = kind.method.removeprefix("add") + "Query"
    assert search_ids(api, {"from_date": "2020-01-01"}, search) == [document["id"]]
    assert search_ids(api, {"from_date": "2999-01-01"}, search) == []
