"""Property tests: ONCOR answers generated from its documented types never cost a whole page.

A RecordsPage may carry any record the types allow (nulls, numbers for strings, ISO times,
unknown fields), with or without its total, with `offset` counting pages or records; one record
the types do not allow is set aside alone. Statuses read in strict JSON and the bare-key form.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.oncor import OncorClient, SearchPolicy
from adapter.oncor.models import InstanceStatus, Rc, SearchPage
from adapter.oncor.status import parse_status
from adapter.publisher.enrich import OrderAttachments
from adapter.publisher.order_event import OrderMapping
from tests.oncor.documented_types import (
    Json,
    bare_key_form,
    broken_record,
    date_time,
    optional,
    order_record,
    status_fields,
)

ZONE = ZoneInfo("Asia/Yekaterinburg")
PAGE_SIZE = 4
JOB_ID = "e3585aea-cf1c-4766-aa4b-afcf93c2d6d5"


@st.composite
def search_results(draw: st.DrawFn) -> tuple[list[Json], str | None]:
    """Records the types allow, and maybe one they do not (its id returned)."""
    count = draw(st.integers(0, 3 * PAGE_SIZE + 1))
    records = [draw(order_record(f"#1930:{index}")) for index in range(count)]
    broken_id = None
    if draw(st.booleans()):
        broken_id = f"#1930:{count}"
        broken = {"id": broken_id, "class_name": "RcTm66Order", **draw(broken_record)}
        records.insert(draw(st.integers(0, len(records))), broken)
    return records, broken_id


def records_page_server(
    records: list[Json], *, offset_counts: str, with_total: bool, cap: int
) -> httpx.MockTransport:
    """search/start and search/get/RecordsPage as their docs describe them, nothing more.

    A page holds at most `cap` records, and the answer's `page.size` says how many it may hold.
    """

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("search/start/RcTm66OrderQuery"):
            return httpx.Response(200, json={"result": [{"id": JOB_ID}]})
        page = json.loads(request.content)["page"]
        offset, size = page.get("offset", 0), min(page["size"], cap)
        first = offset * size if offset_counts == "page" else offset
        result: Json = {"page": {**page, "size": size, "job": {"id": JOB_ID, "ready": True}}}
        if records[first : first + size]:
            result["rc"] = records[first : first + size]
        if with_total:
            result["size"] = len(records)
        return httpx.Response(200, json={"result": [result]})

    return httpx.MockTransport(answer)


async def _read_search(transport: httpx.MockTransport) -> list[SearchPage]:
    search = SearchPolicy(ready_timeout=1, page_size=PAGE_SIZE)
    async with OncorClient(
        "http://oncor.test/api/1.0/json/", "t", transport=transport, search=search
    ) as client:
        return [page async for page in client.iter_search(JOB_ID)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    results=search_results(),
    offset_counts=st.sampled_from(["page", "record"]),
    with_total=st.booleans(),
    cap=st.integers(1, PAGE_SIZE),
)
def test_client_reads_every_documented_record_and_sets_aside_only_the_one_the_types_forbid(
    results: tuple[list[Json], str | None], offset_counts: str, with_total: bool, cap: int
) -> None:
    records, broken_id = results
    transport = records_page_server(
        records, offset_counts=offset_counts, with_total=with_total, cap=cap
    )

    pages = asyncio.run(_read_search(transport))

    readable = [record.id for page in pages for record in page.records]
    unreadable = [record.id for page in pages for record in page.unreadable]
    assert sorted(readable) == sorted(
        record["id"] for record in records if record["id"] != broken_id
    )
    assert unreadable == ([broken_id] if broken_id else [])


@settings(max_examples=150, deadline=None)
@given(record=order_record("#1930:0"))
def test_every_documented_order_record_becomes_an_order_received(record: Json) -> None:
    order = Rc.model_validate(record)

    announced = OrderMapping(ZONE, "https://oncor.test").order_received(
        order, None, OrderAttachments({}, [])
    )

    assert announced.order.id == "#1930:0"
    docs = (record.get("rc_tm66_order") or {}).get("docs") or []
    assert len(announced.order.documents) == len(docs)


@settings(max_examples=150, deadline=None)
@given(
    fields=status_fields,
    bare_keys=st.booleans(),
    history=st.one_of(st.none(), st.integers(0, 2)),
    time=optional(date_time),
)
def test_status_answer_reads_the_same_in_strict_json_and_in_the_bare_key_form(
    fields: dict[str, Any], bare_keys: bool, history: int | None, time: str | None
) -> None:
    text = bare_key_form(fields) if bare_keys else json.dumps(fields, ensure_ascii=False)
    earlier = None if history is None else [{"json": text, "time": time}] * history
    answer = {"json": text, "rc_id": "#1930:0", "time": time, "history": earlier}

    def status_get(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"result": [answer]})

    status = asyncio.run(_instance_status(httpx.MockTransport(status_get)))

    assert parse_status(text) == fields
    assert status.fields() == fields
    assert status.all_statuses() == [fields["status"]] * ((history or 0) + 1)


async def _instance_status(transport: httpx.MockTransport) -> InstanceStatus:
    async with OncorClient("http://oncor.test/api/1.0/json/", "t", transport=transport) as client:
        return await client.get_instance_status("#1930:0")
