"""Broker connections cut mid-cycle and a flaky ONCOR: nothing lost, nothing marked unannounced."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from urllib.parse import unquote, urlsplit

import pytest

from adapter.emulator.process import EmulatorProcess
from adapter.messages.orders import order_event_id
from adapter.observability.logs import JsonFormatter
from tests.support.broker import Broker
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.running_publisher import (
    EventCollector,
    all_marked,
    collecting_events,
    publisher_settings,
    running_publisher,
)
from tests.support.waiting import eventually


async def test_cut_broker_connections_and_flaky_oncor_lose_no_order_and_mark_none_unannounced(
    amqp_url: str,
    emulator: EmulatorProcess,
    admin: EmulatorAdmin,
    broker: Broker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="adapter")
    seeded = await admin.add_orders(400, patients=80)
    settings = publisher_settings(
        emulator, amqp_url, oncor_page_size=50, oncor_read_timeout=0.5, poll_concurrency=4
    )
    vhost = unquote(urlsplit(amqp_url).path[1:])

    async with collecting_events(amqp_url) as collector, running_publisher(settings):
        await admin.faults(error_rate=0.1, timeout_rate=0.1, timeout_seconds=0.8, latency_ms=5)
        for announced in (40, 150):
            await eventually(partial(collector.holds, announced), within=30, every=0.05)
            await asyncio.to_thread(broker.ctl, "close_all_connections", "-p", vhost, "test")
        await asyncio.sleep(2)
        await admin.clear_faults()
        await eventually(lambda: all_marked(admin), within=40)
        await eventually(lambda: _announced(collector, seeded["ids"]), within=10)

    ids_by_order = collector.ids_by_order()
    assert set(ids_by_order) == set(seeded["ids"]), "every order was announced"
    for order_id, ids in ids_by_order.items():
        assert ids == {order_event_id(order_id)}, "re-announcements of an order share its id"
    marked = {order["id"] for order in await admin.orders() if order["status"] is not None}
    assert marked <= set(ids_by_order), "no order marked without a confirmed announcement"
    _assert_no_patient_data_logged(caplog.records, collector)


def _assert_no_patient_data_logged(
    records: list[logging.LogRecord], collector: EventCollector
) -> None:
    ours = [record for record in records if record.name.startswith("adapter.")]
    assert any(getattr(record, "order_id", None) for record in ours), "order ids are logged"
    lines = "\n".join(JsonFormatter().format(record) for record in ours)
    for event in collector.events:
        patient = event.data["patient"]
        for personal in ("last_name", "first_name", "snils", "birth_day"):
            if patient.get(personal):
                assert patient[personal] not in lines, f"patient {personal} in a log line"


async def _announced(collector: EventCollector, order_ids: list[str]) -> bool:
    return set(collector.ids_by_order()) >= set(order_ids)
