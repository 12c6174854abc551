"""The publisher against an ONCOR that answers as its documented types allow, not only as its
examples show: every readable order announced and marked, the deleted one left alone."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest

from adapter.emulator.process import EmulatorProcess
from adapter.emulator.variance import ODDITIES, STALE_ATTACHMENT_ID
from adapter.oncor import OncorClient, SearchPolicy
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.metrics import metric
from tests.support.running_publisher import collecting_events, publisher_settings, running_publisher
from tests.support.waiting import eventually

SEARCH = SearchPolicy(ready_timeout=5, page_size=3)


async def test_every_readable_order_of_a_varied_oncor_is_announced_and_marked(
    amqp_url: str, emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.configure(variance=True)  # no page totals, stale ids refused, bare-key statuses
    plain = (await admin.add_orders(5))["ids"]
    odd = {oddity: (await admin.add_orders(1, oddity=oddity))["ids"][0] for oddity in ODDITIES}
    deleted = odd.pop("deleted")
    readable = {*plain, *odd.values()}
    deleted_seen = metric("dezo_orders_deleted_total")
    # pages of 3 without a total: the last page is known by being short
    settings = publisher_settings(emulator, amqp_url, oncor_page_size=3)

    async def readable_marked() -> bool:
        orders = {order["id"]: order for order in await admin.orders()}
        return all(orders[order_id]["status"] is not None for order_id in readable)

    async with collecting_events(amqp_url) as collector, running_publisher(settings):
        await eventually(readable_marked, within=15)
        await eventually(lambda: collector.holds(len(readable)), within=5)
        await eventually(lambda: _counted(deleted_seen), within=5)

    announced = {event.subject: event.data for event in collector.events}
    assert set(announced) == readable
    assert (await admin.order(deleted))["status"] is None
    assert announced[odd["stale_attachment"]]["missing_attachment_ids"] == [STALE_ATTACHMENT_ID]
    assert len(announced[odd["stale_attachment"]]["attachments"]) >= 1  # the others resolved
    assert announced[odd["null_docs"]]["order"]["documents"] == []
    dose = announced[odd["string_dose"]]["order"]["primary_protocol"]["dose_msv"]
    assert isinstance(dose, float) and dose > 0
    assert announced[odd["t_time"]]["order"]["created_at"].endswith("+05:00")
    assert ".125" in announced[odd["fractional_seconds"]]["order"]["created_at"]
    assert announced[odd["number_for_string"]]["order"]["purpose"]["id"].isdigit()
    assert announced[odd["null_order"]]["order"]["documents"] == []


async def test_orders_created_today_are_found_by_an_oncor_that_ends_a_bare_to_date_at_midnight(
    amqp_url: str, emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.configure(bare_to_date="day_start")  # a search up to "today" would miss them
    seeded = (await admin.add_orders(3))["ids"]

    async with (
        collecting_events(amqp_url) as collector,
        running_publisher(publisher_settings(emulator, amqp_url)),
    ):
        await eventually(lambda: collector.holds(3), within=10)

    assert {event.subject for event in collector.events} == set(seeded)


async def _counted(before: float) -> bool:
    return metric("dezo_orders_deleted_total") > before


class BreakingOneRecord(httpx.AsyncBaseTransport):
    """Passes calls to the emulator, but gives one order in a form ONCOR's types do not allow."""

    def __init__(self, broken_id: str) -> None:
        self._emulator = httpx.AsyncHTTPTransport()
        self._broken_id = broken_id

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._emulator.handle_async_request(request)
        if not request.url.path.endswith("search/get/RecordsPage"):
            return response
        answer = json.loads(await response.aread())
        for record in answer["result"][0].get("rc", []):
            if record["id"] == self._broken_id:
                record["published"] = "вчера"  # an object in the types
        return httpx.Response(response.status_code, json=answer)

    async def aclose(self) -> None:
        await self._emulator.aclose()


async def test_a_record_the_types_forbid_is_skipped_by_id_every_cycle_and_holds_back_no_other(
    amqp_url: str,
    emulator: EmulatorProcess,
    admin: EmulatorAdmin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, *others = (await admin.add_orders(7))["ids"]
    failures = metric("dezo_order_failures_total", stage="record", reason="invalid")
    settings = publisher_settings(emulator, amqp_url, oncor_page_size=3)
    oncor = OncorClient(
        emulator.api_url, emulator.token, transport=BreakingOneRecord(broken), search=SEARCH
    )

    with caplog.at_level(logging.WARNING, logger="adapter.publisher"):
        async with collecting_events(amqp_url) as collector, running_publisher(settings, oncor):
            await eventually(lambda: collector.holds(len(others)), within=10)
            await eventually(lambda: _skipped_twice(failures), within=10)
            skipped_since = metric("dezo_orders_skipped_since_timestamp_seconds")

    assert {event.subject for event in collector.events} == set(others)
    assert (await admin.order(broken))["status"] is None
    assert 0 < skipped_since <= time.time()
    skips = [record for record in caplog.records if getattr(record, "order_id", None) == broken]
    assert skips and all(getattr(record, "stage", None) == "record" for record in skips)
    assert "invalid fields: published" in getattr(skips[0], "error", "")
    assert "вчера" not in getattr(skips[0], "error", "")  # field names only, never values


async def _skipped_twice(before: float) -> bool:
    return metric("dezo_order_failures_total", stage="record", reason="invalid") >= before + 2
