"""One polling cycle against the in-memory ONCOR and bus: announce, then mark."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapter.bus.topology import EVENTS_EXCHANGE, ORDER_RECEIVED
from adapter.oncor.errors import OncorAuthError, OncorUnavailable
from adapter.oncor.models import InstanceStatus, RcTm66OrderQuery, SearchJob
from adapter.oncor.status import STATUS_PROCESSING_STARTED
from adapter.publisher.enrich import SharedCalls
from adapter.publisher.poller import Poller, PollSettings
from tests.support.memory_bus import MemoryBus
from tests.support.memory_oncor import MemoryOncor, not_found

SETTINGS = PollSettings(
    interval=0.0,
    concurrency=4,
    page_size=3,
    from_date=date(2026, 11, 1),
    lookback_days=7,
    zone=ZoneInfo("Europe/Moscow"),
    oncor_origin="https://oncor.example",
)


def always() -> bool:
    return True


def announced(bus: MemoryBus) -> list[str]:
    return [sent.data["order"]["id"] for sent in bus.to(EVENTS_EXCHANGE, ORDER_RECEIVED)]


def poller(oncor: MemoryOncor, bus: MemoryBus) -> Poller:
    return Poller(SETTINGS, oncor, bus)


async def test_orders_without_status_are_announced_then_marked() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    ids = [oncor.add_order().id for _ in range(5)]  # two pages
    report = await poller(oncor, bus).run_cycle(always)
    assert sorted(announced(bus)) == sorted(ids)
    assert all(oncor.status_of(id_ or "") == STATUS_PROCESSING_STARTED for id_ in ids)
    assert (report.outcome, report.found, report.published, report.marked) == ("success", 5, 5, 5)


async def test_marked_orders_are_not_announced_again() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    oncor.add_order()
    cycles = poller(oncor, bus)
    await cycles.run_cycle(always)
    second = await cycles.run_cycle(always)
    assert len(announced(bus)) == 1
    assert second.found == 0


async def test_orders_created_before_the_start_date_are_not_searched() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    oncor.add_order(created="2026-10-01 09:00:00")
    report = await poller(oncor, bus).run_cycle(always)
    assert report.found == 0 and bus.published == []


async def test_event_carries_the_patient_and_a_stable_id_per_order() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    order = oncor.add_order()
    cycles = poller(oncor, bus)
    await cycles.run_cycle(always)
    [sent] = bus.published
    assert sent.data["patient"]["last_name"] == "Ivanov"
    assert sent.message.correlation_id == order.id


async def test_an_odd_record_is_skipped_and_the_others_go_out() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    good = oncor.add_order().id
    oncor.add_unreadable_record("RcTm66Order")
    report = await poller(oncor, bus).run_cycle(always)
    assert announced(bus) == [good]
    assert (report.found, report.skipped, report.outcome) == (2, 1, "success")


@pytest.mark.parametrize(
    ("left_out", "counted_as"),
    [({"deleted": True}, "deleted"), ({"patient_id": "#20:404"}, "skipped")],
    ids=["deleted", "patient refused"],
)
async def test_order_that_cannot_go_out_is_left_unmarked_and_the_others_go(
    left_out: dict[str, Any], counted_as: str
) -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    kept = oncor.add_order().id
    dropped = oncor.add_order(**left_out).id
    report = await poller(oncor, bus).run_cycle(always)
    assert announced(bus) == [kept]
    assert oncor.status_of(dropped or "") is None
    assert getattr(report, counted_as) == 1


async def test_stale_attachment_is_listed_missing_and_the_others_described() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    known = oncor.add_attachment("referral.pdf")
    oncor.add_order(attachment_ids=[known, "#60:404"])
    neighbour = oncor.add_attachment("scan.pdf")
    oncor.add_order(attachment_ids=[neighbour])
    await poller(oncor, bus).run_cycle(always)
    by_order = {sent.data["order"]["id"]: sent.data for sent in bus.published}
    stale = next(data for data in by_order.values() if data.get("missing_attachment_ids"))
    assert stale["missing_attachment_ids"] == ["#60:404"]
    assert [a["id"] for a in stale["attachments"]] == [known]
    assert sum(len(data["attachments"]) for data in by_order.values()) == 2


async def test_leadership_lost_after_the_announcement_leaves_the_order_unmarked() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    order_id = oncor.add_order().id
    answers = iter([True, False])
    report = await poller(oncor, bus).run_cycle(lambda: next(answers))
    assert announced(bus) == [order_id]
    assert oncor.status_of(order_id or "") is None
    assert report.outcome == "interrupted" and report.marked == 0


async def test_nothing_is_announced_without_leadership() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    oncor.add_order()
    report = await poller(oncor, bus).run_cycle(lambda: False)
    assert bus.published == [] and report.outcome == "interrupted"


async def test_unconfirmed_announcement_stops_the_cycle_and_marks_nothing() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    order_id = oncor.add_order().id
    bus.refuse_publishes = ConnectionError("broker away")
    report = await poller(oncor, bus).run_cycle(always)
    assert report.outcome == "error"
    assert oncor.status_of(order_id or "") is None


async def test_order_whose_mark_failed_is_announced_again_next_cycle() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    order_id = oncor.add_order().id
    oncor.fail("update_instance_status", OncorUnavailable("rc/updateInstanceStatus", "HTTP 503"))
    cycles = poller(oncor, bus)
    first = await cycles.run_cycle(always)
    second = await cycles.run_cycle(always)
    assert announced(bus) == [order_id, order_id]
    assert bus.published[0].event["id"] == bus.published[1].event["id"]
    assert (first.marked, second.marked) == (0, 1)


async def test_search_refused_for_the_token_ends_the_cycle_as_an_error() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    oncor.add_order()
    oncor.fail("start_order_search", OncorAuthError("search/start/RcTm66OrderQuery", 401))
    report = await poller(oncor, bus).run_cycle(always)
    assert report.outcome == "error" and bus.published == []


async def test_search_failure_ends_the_cycle_and_the_next_one_carries_on() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    oncor.add_order()
    oncor.fail("start_order_search", not_found("search/start/RcTm66OrderQuery", "job"))
    cycles = poller(oncor, bus)
    assert (await cycles.run_cycle(always)).outcome == "error"
    assert (await cycles.run_cycle(always)).published == 1


async def test_cycle_is_skipped_while_the_circuit_breaker_holds_oncor_for_down() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    oncor.add_order()
    oncor.breaker.open()
    report = await poller(oncor, bus).run_cycle(always)
    assert report.outcome == "oncor_down"
    assert "start_order_search" not in oncor.calls


async def test_each_patient_is_fetched_once_per_cycle() -> None:
    oncor, bus = MemoryOncor(), MemoryBus()
    patient = oncor.add_patient().id
    for _ in range(4):
        oncor.add_order(patient_id=patient)
    await poller(oncor, bus).run_cycle(always)
    assert oncor.calls.count("get_patient") == 1
    assert len(announced(bus)) == 4


class HangingMark(MemoryOncor):
    """ONCOR whose status update of one order hangs until `answer` is set (a lost reply)."""

    def __init__(self) -> None:
        super().__init__()
        self.slow_order = self.add_order().id
        self.answer = asyncio.Event()

    async def update_instance_status(
        self, record_id: str, status: str, **fields: str
    ) -> InstanceStatus:
        if record_id == self.slow_order:
            await self.answer.wait()
        return await super().update_instance_status(record_id, status, **fields)


async def test_a_hanging_status_update_holds_up_no_other_order_nor_is_announced_again() -> None:
    oncor, bus = HangingMark(), MemoryBus()
    cycles = poller(oncor, bus)
    first = await asyncio.wait_for(cycles.run_cycle(always), 1)
    later = oncor.add_order().id
    second = await asyncio.wait_for(cycles.run_cycle(always), 1)
    assert announced(bus) == [oncor.slow_order, later]  # the slow one once only
    assert oncor.status_of(later or "") == STATUS_PROCESSING_STARTED
    assert (first.marked, second.marked, second.in_flight) == (0, 1, 1)
    oncor.answer.set()
    await cycles.settle(1)
    assert oncor.status_of(oncor.slow_order or "") == STATUS_PROCESSING_STARTED
    assert first.marked == 1  # counted in its own cycle's report
    assert (await cycles.run_cycle(always)).found == 0


async def test_a_status_update_that_failed_late_lets_the_order_be_announced_again() -> None:
    oncor, bus = HangingMark(), MemoryBus()
    oncor.fail("update_instance_status", OncorUnavailable("rc/updateInstanceStatus", "timeout"))
    cycles = poller(oncor, bus)
    await cycles.run_cycle(always)
    oncor.answer.set()
    await cycles.settle(1)
    await cycles.run_cycle(always)
    assert announced(bus) == [oncor.slow_order, oncor.slow_order]
    assert oncor.status_of(oncor.slow_order or "") == STATUS_PROCESSING_STARTED


async def test_shared_calls_remember_the_latest_only() -> None:
    made: list[int] = []

    async def call(key: int) -> int:
        made.append(key)
        return key

    shared: SharedCalls[int, int] = SharedCalls(call, remembered=2)
    for key in (1, 2, 3, 3, 2, 1):
        assert await shared.get(key) == key
    assert made == [1, 2, 3, 1]  # 1 was forgotten when 3 came


class MarkLandsDuringSearch(HangingMark):
    """The slow status update lands after the second search started: that one still finds it."""

    async def start_order_search(self, query: RcTm66OrderQuery) -> SearchJob:
        job = await super().start_order_search(query)
        if self.calls.count("start_order_search") == 2:
            self.answer.set()
        for _ in range(5):  # the update's task finishes
            await asyncio.sleep(0)
        return job


async def test_an_order_marked_after_the_search_started_is_not_announced_again() -> None:
    oncor, bus = MarkLandsDuringSearch(), MemoryBus()
    cycles = poller(oncor, bus)
    await cycles.run_cycle(always)
    second = await cycles.run_cycle(always)
    assert oncor.status_of(oncor.slow_order or "") == STATUS_PROCESSING_STARTED
    assert announced(bus) == [oncor.slow_order]
    assert (second.found, second.in_flight) == (1, 1)


async def test_a_status_update_waiting_its_turn_does_not_start_once_leadership_is_lost() -> None:
    oncor, bus = HangingMark(), MemoryBus()
    leading = True
    cycles = Poller(replace(SETTINGS, concurrency=1), oncor, bus)  # one update at a time
    later = oncor.add_order().id
    await cycles.run_cycle(lambda: leading)  # the slow update holds the only slot
    leading = False
    oncor.answer.set()
    await cycles.settle(1)
    assert sorted(announced(bus)) == sorted([oncor.slow_order, later])
    assert oncor.status_of(later or "") is None  # its update was still waiting: not started
