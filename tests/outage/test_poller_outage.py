"""The order publisher through ONCOR outages: it skips its cycles while the circuit is open,
calls ONCOR no more than the probe does, announces and marks every order once it is back, and
holds back all its calls while a Retry-After runs."""

from __future__ import annotations

from adapter.emulator.process import EmulatorProcess
from adapter.oncor.client import PROBE_METHOD
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.metrics import metric
from tests.support.running_publisher import (
    all_marked,
    collecting_events,
    publisher_settings,
    running_publisher,
)
from tests.support.waiting import eventually


async def test_the_poller_skips_its_cycles_while_oncor_is_down_and_polls_when_it_is_back(
    emulator: EmulatorProcess, amqp_url: str, admin: EmulatorAdmin
) -> None:
    order_ids = await admin.new_orders(5)
    await admin.outage()
    skipped_before = metric("dezo_poll_cycles_total", outcome="oncor_down")
    settings = publisher_settings(emulator, amqp_url, poll_interval=0.3)
    async with collecting_events(amqp_url) as collector, running_publisher(settings):
        await eventually(
            lambda: _more_than(skipped_before + 3, "dezo_poll_cycles_total", outcome="oncor_down"),
            within=20,
        )
        refused = await admin.refused_calls()
        # Until it opened: one search and its in-process retries; since then, only the probe.
        searches = [call for call in refused if call["path"] != PROBE_METHOD]
        assert {call["path"] for call in searches} == {"search/start/RcTm66OrderQuery"}
        assert len(searches) <= settings.oncor_retry_attempts + 1
        probes = [call for call in refused if call["path"] == PROBE_METHOD]
        assert len(probes) <= 2 * (probes[-1]["time"] - searches[-1]["time"]) + 1
        assert collector.events == []

        await admin.end_outage()
        await eventually(lambda: all_marked(admin), within=20)
        assert set(collector.ids_by_order()) == set(order_ids)


async def test_an_outage_during_a_poll_cycle_delays_its_orders_and_loses_none(
    emulator: EmulatorProcess, amqp_url: str, admin: EmulatorAdmin
) -> None:
    order_ids = await admin.new_orders(60)
    await admin.faults(latency_ms=30)  # a cycle of a few seconds: the outage falls within it
    settings = publisher_settings(emulator, amqp_url, poll_concurrency=4)
    async with collecting_events(amqp_url) as collector, running_publisher(settings):
        await eventually(lambda: collector.holds(5), within=20, every=0.02)
        await admin.outage(down_for=3)
        await eventually(lambda: all_marked(admin), within=40)
        assert set(collector.ids_by_order()) == set(order_ids)
        assert all(order["status_updates"] == 1 for order in await admin.orders())

    refused = await admin.refused_calls()
    # What was in flight when ONCOR went failed; from a second later on, only the probe called.
    later = [call for call in refused if call["time"] > refused[0]["time"] + 1]
    assert {call["path"] for call in later} == {PROBE_METHOD}
    assert len(later) <= 2 * (later[-1]["time"] - refused[0]["time"] - 1) + 1


async def test_a_429_with_retry_after_holds_every_call_of_the_poller_back(
    emulator: EmulatorProcess, amqp_url: str, admin: EmulatorAdmin
) -> None:
    order_ids = await admin.new_orders(3)
    await admin.faults(error_rate=1.0, error_statuses=[429], retry_after=1, paths=["patient/get"])
    settings = publisher_settings(emulator, amqp_url)
    async with collecting_events(amqp_url) as collector, running_publisher(settings):
        await eventually(lambda: _answered(admin, 429, times=2), within=20, every=0.05)
        await admin.clear_faults()
        await eventually(lambda: all_marked(admin), within=20)
        assert set(collector.ids_by_order()) == set(order_ids)

    calls = await admin.calls()
    for refused in (call for call in calls if call["status"] == 429):
        # Calls already on their way when the 429 came may arrive just after it; none later.
        held = [call for call in calls if 0.1 < call["time"] - refused["time"] < 0.9]
        assert held == [], held


async def _answered(admin: EmulatorAdmin, status: int, times: int) -> bool:
    return sum(call["status"] == status for call in await admin.calls()) >= times


async def _more_than(threshold: float, name: str, **labels: str) -> bool:
    return metric(name, **labels) > threshold
