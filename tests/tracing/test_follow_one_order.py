"""Following one order from outside: the adapter as a process with no OTEL_* setting, a proxy
in front of the emulator recording what ONCOR receives, and `dezo-adapter order show`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import aio_pika
import httpx

from adapter.bus.topology import COMMANDS_EXCHANGE, ORDER_RECEIVED, TopologySettings
from adapter.emulator.process import EmulatorProcess
from adapter.emulator.protocol import API_PREFIX
from adapter.observability.tracing import well_formed
from tests.support.commands import command_body, document_data
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.processes import adapter_env, adapter_process, dezo_adapter
from tests.support.recording_proxy import RecordingProxy
from tests.support.running_consumer import BusObserver, Observed, observing
from tests.support.waiting import eventually

SENDER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SENDER_PARENT = f"00-{SENDER_TRACE}-00f067aa0ba902b7-01"
#: As `adapter_env` sets them: retry delays, and connect + read timeout for the hand-over.
TOPOLOGY = TopologySettings(retry_delays=(0.2, 0.5), handover_delay=6.0)


def trace_id(traceparent: str) -> str:
    return traceparent.split("-")[1]


async def ready(env: dict[str, str]) -> None:
    """`wait_until_ready` without blocking the loop: the proxy runs in it."""

    async def answers() -> bool:
        async with httpx.AsyncClient() as client:
            try:
                url = f"http://127.0.0.1:{env['DEZO_HTTP_PORT']}/readyz"
                return (await client.get(url, timeout=1)).status_code == 200
            except httpx.TransportError:
                return False

    await eventually(answers, within=30, what="the adapter ready")


async def announced(bus: BusObserver, count: int) -> list[dict[str, Any]]:
    def orders() -> list[Observed]:
        seen = [seen for seen in bus.events if seen.routing_key == ORDER_RECEIVED]
        return seen if len(seen) >= count else []

    found = await eventually(orders, within=30, what=f"{count} orders announced")
    for seen in found:  # the same context in the CloudEvent and the AMQP header
        assert seen.event["traceparent"] == seen.headers["traceparent"]
    return [seen.event for seen in found]


async def send_traced_conclusion(bus: BusObserver, order_id: str) -> str:
    command_id, body = command_body("order.conclusion", document_data("order.conclusion", order_id))
    exchange = await bus.channel.get_exchange(COMMANDS_EXCHANGE)
    await exchange.publish(
        aio_pika.Message(
            body,
            content_type="application/cloudevents+json",
            message_id=command_id,
            headers={"traceparent": SENDER_PARENT, "tracestate": "ris=1"},
        ),
        routing_key="order.conclusion",
    )
    return command_id


def order_show(
    emulator: EmulatorProcess, amqp_url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "DEZO_ONCOR_URL": emulator.api_url,
        "DEZO_ONCOR_TOKEN": emulator.token,
        "DEZO_AMQP_URL": amqp_url,
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        dezo_adapter("order", "show", *args), env=env, capture_output=True, text=True, timeout=60
    )


async def test_orders_and_a_command_are_traced_end_to_end_and_order_show_follows_one(
    emulator: EmulatorProcess, admin: EmulatorAdmin, amqp_url: str, tmp_path: Path
) -> None:
    order_ids = await admin.new_orders(3)
    async with (
        RecordingProxy(emulator.base_url).running() as oncor,
        observing(amqp_url, TOPOLOGY) as bus,
    ):
        env = adapter_env(emulator, amqp_url, oncor_url=oncor.url + API_PREFIX)
        with adapter_process(env, tmp_path / "adapter.log", stop="terminate") as adapter:
            await ready(env)
            # every order.received: a valid traceparent, each order a trace of its own
            events = await announced(bus, 3)
            assert sorted(event["subject"] for event in events) == sorted(order_ids)
            parents = [str(event["traceparent"]) for event in events]
            assert all(well_formed({"traceparent": parent}) for parent in parents)
            assert len({trace_id(parent) for parent in parents}) == 3
            # the status update of each order is in that order's trace
            marks = oncor.traceparents("rc/updateInstanceStatus")
            assert {trace_id(str(parent)) for parent in marks} >= {trace_id(p) for p in parents}

            # a command sent in the RIS's trace: ONCOR's writes and the outcome continue it
            command_id = await send_traced_conclusion(bus, order_ids[0])
            outcome = await bus.outcome(command_id, within=30)
            assert outcome.routing_key == "command.succeeded.order.conclusion", adapter.log_text()
            assert trace_id(outcome.event["traceparent"]) == SENDER_TRACE
            assert outcome.headers["traceparent"] == outcome.event["traceparent"]
            assert outcome.event["tracestate"] == "ris=1"
            writes = oncor.traceparents("attachment/create") + oncor.traceparents(
                "addRcTm66OrderConclusion"
            )
            assert len(writes) == 2
            assert [trace_id(str(parent)) for parent in writes] == [SENDER_TRACE] * 2

        # what ONCOR now holds for that order, in one place
        shown = order_show(emulator, amqp_url, order_ids[0])
        assert shown.returncode == 0, shown.stderr
        assert "Обработка началась" in shown.stdout
        record_id = outcome.event["data"]["record_id"]
        [document_line] = [line for line in shown.stdout.splitlines() if record_id in line]
        assert "conclusion" in document_line and "ДИАГНОЗ_ПОДТВЕРЖДЕН" in document_line
        assert "dezo-" in shown.stdout  # the uploaded PDF, by name
        assert "Dead letters\n  (none)" in shown.stdout
        as_json = json.loads(order_show(emulator, amqp_url, order_ids[0], "--json").stdout)
        assert [status["status"] for status in as_json["statuses"]] == ["Обработка началась"]
        [document] = as_json["documents"]
        assert (document["id"], document["kind"]) == (record_id, "conclusion")
        assert [file["role"] for file in document["attachments"]] == ["pdf"]
        assert as_json["dead_letters"] == []


def test_order_show_refuses_a_bad_or_unknown_order_in_one_line(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    for orid, says in (("1930", "not an ONCOR record id"), ("#9999:9", "not found")):
        shown = order_show(emulator, amqp_url, orid)
        assert shown.returncode == 2
        assert says in shown.stderr and len(shown.stderr.strip().splitlines()) == 1
        assert shown.stdout == ""


async def test_order_show_without_a_broker_still_shows_oncor(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    [order_id] = await admin.new_orders(1)
    shown = order_show(emulator, "amqp://guest:guest@127.0.0.1:1/", order_id)
    assert shown.returncode == 0, shown.stderr
    assert f"Order {order_id}" in shown.stdout
    assert "not reachable" in shown.stdout and "(no status set)" in shown.stdout
