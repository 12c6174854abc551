"""A backlog of orders over many pages and shared patients: each announced once, marked once."""

from __future__ import annotations

from collections import Counter

from adapter.emulator.process import EmulatorProcess
from adapter.messages.orders import ORDER_RECEIVED_TYPE, order_event_id
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.running_publisher import (
    all_marked,
    collecting_events,
    publisher_settings,
    running_publisher,
)
from tests.support.waiting import eventually


async def test_backlog_of_500_orders_is_announced_once_and_marked_once(
    amqp_url: str, emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    seeded = await admin.add_orders(500, patients=100)
    settings = publisher_settings(emulator, amqp_url, oncor_page_size=50)

    async with collecting_events(amqp_url) as collector, running_publisher(settings):
        await eventually(lambda: all_marked(admin), within=30)
        await eventually(lambda: collector.holds(500), within=10)

    assert {event.subject for event in collector.events} == set(seeded["ids"])
    assert len({event.id for event in collector.events}) == 500
    for event in collector.events:
        assert event.id == order_event_id(event.subject)
        assert event.correlation_id == event.subject
        assert event.type == ORDER_RECEIVED_TYPE
        assert event.data["patient"]["id"] == event.data["order"]["patient_id"]
    orders = await admin.orders()
    assert {order["status_updates"] for order in orders} == {1}
    assert {order["status"]["status"] for order in orders} == {"Обработка началась"}
    for cycle in await admin.cycles():
        patient_fetches = Counter(call["id"] for call in cycle if call["path"] == "patient/get")
        assert all(count == 1 for count in patient_fetches.values()), patient_fetches
