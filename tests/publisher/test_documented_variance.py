"""The publisher against an ONCOR that answers as its documented types allow, not only as its
examples show: every readable order announced and marked, the deleted one left alone."""

from __future__ import annotations

from adapter.emulator.process import EmulatorProcess
from adapter.emulator.variance import ODDITIES, STALE_ATTACHMENT_ID
from tests.publisher.conftest import (
    EmulatorAdmin,
    collecting_events,
    eventually,
    metric,
    publisher_settings,
    running_publisher,
)


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
