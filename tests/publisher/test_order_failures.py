"""Orders and cycles that go wrong: each is handled, counted, and the poller carries on."""

from __future__ import annotations

import logging
import time

import pytest

from adapter.emulator.process import EmulatorProcess
from adapter.messages.orders import order_event_id
from adapter.observability.logs import JsonFormatter
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.metrics import metric
from tests.support.running_publisher import (
    all_marked,
    collecting_events,
    publisher_settings,
    running_publisher,
)
from tests.support.waiting import eventually


async def _at_least(name: str, value: float, **labels: str) -> bool:
    return metric(name, **labels) >= value


async def test_order_with_only_required_fields_is_announced_and_marked(
    amqp_url: str, emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    seeded = await admin.add_orders(3, missing_optional=True)
    published = metric("dezo_orders_published_total")

    async with (
        collecting_events(amqp_url) as collector,
        running_publisher(publisher_settings(emulator, amqp_url)),
    ):
        await eventually(lambda: all_marked(admin), within=10)
        await eventually(lambda: collector.holds(3), within=5)

    assert {event.subject for event in collector.events} == set(seeded["ids"])
    assert all("primary_protocol" not in event.data["order"] for event in collector.events)
    assert metric("dezo_orders_published_total") >= published + 3


async def test_order_of_unknown_patient_is_skipped_every_cycle_while_the_others_are_marked(
    amqp_url: str, emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    unknown = await admin.add_orders(2, unknown_patient=True)
    known = await admin.add_orders(5)
    rejected = {"stage": "patient", "reason": "rejected_by_oncor"}
    failures = metric("dezo_order_failures_total", **rejected)

    async with (
        collecting_events(amqp_url) as collector,
        running_publisher(publisher_settings(emulator, amqp_url)),
    ):
        # two orders per cycle, so four means the poller went on to a second cycle
        await eventually(
            lambda: _at_least("dezo_order_failures_total", failures + 4, **rejected), within=10
        )

    orders = {order["id"]: order for order in await admin.orders()}
    assert all(orders[order_id]["status"] is not None for order_id in known["ids"])
    assert all(orders[order_id]["status"] is None for order_id in unknown["ids"])
    assert {event.subject for event in collector.events} == set(known["ids"])


async def test_search_that_stays_not_ready_ends_the_cycle_and_a_later_cycle_catches_up(
    amqp_url: str, emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.configure(job_ready_after=60)
    await admin.add_orders(3)
    errors = metric("dezo_poll_cycles_total", outcome="error")
    settings = publisher_settings(emulator, amqp_url, oncor_search_ready_timeout=0.3)

    async with collecting_events(amqp_url), running_publisher(settings):
        await eventually(
            lambda: _at_least("dezo_poll_cycles_total", errors + 2, outcome="error"), within=10
        )
        assert not await all_marked(admin)
        await admin.configure(job_ready_after=0.05)
        await eventually(lambda: all_marked(admin), within=10)


async def test_failed_status_update_leads_to_a_counted_reannouncement_with_the_same_id(
    amqp_url: str, emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    seeded = await admin.add_orders(4)
    republished = metric("dezo_orders_republished_total")
    mark_failures = metric("dezo_order_failures_total", stage="mark", reason="oncor_unavailable")
    await admin.faults(error_rate=1.0, paths=["rc/updateInstanceStatus"])

    async with (
        collecting_events(amqp_url) as collector,
        running_publisher(publisher_settings(emulator, amqp_url)),
    ):
        await eventually(
            lambda: _at_least("dezo_orders_republished_total", republished + 4), within=10
        )
        await admin.clear_faults()
        await eventually(lambda: all_marked(admin), within=10)

    assert metric("dezo_order_failures_total", stage="mark", reason="oncor_unavailable") > (
        mark_failures
    )
    ids_by_order = collector.ids_by_order()
    assert set(ids_by_order) == set(seeded["ids"])
    assert all(ids == {order_event_id(order)} for order, ids in ids_by_order.items())
    assert len(collector.events) >= 8  # each order at least twice


async def test_wrong_token_is_logged_as_a_configuration_error_and_retried(
    amqp_url: str, emulator: EmulatorProcess, caplog: pytest.LogCaptureFixture
) -> None:
    errors = metric("dezo_poll_cycles_total", outcome="error")
    settings = publisher_settings(emulator, amqp_url, oncor_token="not-the-token")

    with caplog.at_level(logging.ERROR, logger="adapter.publisher"):
        async with running_publisher(settings):
            await eventually(
                lambda: _at_least("dezo_poll_cycles_total", errors + 2, outcome="error"),
                within=10,
            )

    hints = [record for record in caplog.records if "DEZO_ONCOR_TOKEN" in record.getMessage()]
    assert len(hints) >= 2
    formatted = JsonFormatter(["not-the-token"]).format(hints[0])
    assert "not-the-token" not in hints[0].getMessage() and "not-the-token" not in formatted


async def test_stop_returns_promptly_even_while_a_search_is_pending(
    amqp_url: str, emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.configure(job_ready_after=60)
    settings = publisher_settings(emulator, amqp_url, oncor_search_ready_timeout=30)

    async with running_publisher(settings):
        await eventually(lambda: _searched(admin), within=5)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 2.0


async def _searched(admin: EmulatorAdmin) -> bool:
    return any(call["path"] == "search/start/RcTm66OrderQuery" for call in await admin.calls())
