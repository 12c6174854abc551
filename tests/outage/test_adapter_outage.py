"""A real `dezo-adapter run` through an ONCOR outage longer than the whole retry schedule, as
the issue tried it: conclusions keep arriving while ONCOR answers 503, and every one of them
succeeds once ONCOR is back, with one document each; meanwhile ONCOR hears from the adapter at
most twice a second, /readyz says ONCOR is unreachable, /healthz stays green, and the log says
so twice in all."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest

from adapter.emulator.process import EmulatorProcess
from tests.health.support import BusProbe, running_adapter
from tests.support.commands import document_data
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.processes import adapter_env

CONCLUSIONS = 40
OUTAGE = 12.0  # seconds; the retry schedule, in process and through the queues, ends before


def circuit_state(metrics_text: str) -> str:
    [state] = re.findall(r'^dezo_oncor_circuit_state\{state="(\w+)"\} 1\.0$', metrics_text, re.M)
    return state


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_conclusions_arriving_during_a_long_outage_all_succeed_once_oncor_is_back(
    emulator: EmulatorProcess, amqp_url: str, admin: EmulatorAdmin, tmp_path: Path
) -> None:
    env = adapter_env(emulator, amqp_url, command_retry_delays="[1, 2]")
    log_path = tmp_path / "adapter.log"
    async with running_adapter(env, log_path) as adapter:
        await adapter.ready()
        probe = BusProbe(amqp_url)
        await probe.bind_events()
        order_ids = await admin.new_orders(CONCLUSIONS)

        await admin.outage(down_for=OUTAGE)
        down_at = time.time()
        command_ids = []
        for order_id in order_ids:  # arriving over most of the outage
            data = document_data("order.conclusion", order_id)
            command_ids.append(await probe.send("order.conclusion", data))
            await asyncio.sleep(OUTAGE * 0.6 / CONCLUSIONS)

        await adapter.not_ready(within=5)
        readiness = await adapter.readiness()
        assert readiness["checks"]["oncor_reachable"] is False
        assert readiness["checks"]["commands_consumer"] is True
        assert await adapter.status("/healthz") == 200
        assert circuit_state((await adapter.ops.get("/metrics")).text) != "closed"
        assert [event for event in await probe.collect() if "failed" in event["routing_key"]] == []

        outcomes = [await probe.outcome(command_id, within=40) for command_id in command_ids]
        assert {outcome["routing_key"] for outcome in outcomes} == {
            "command.succeeded.order.conclusion"
        }
        for order_id in order_ids:
            assert len(await admin.documents(order_id)) == 1
        await adapter.ready(within=5)
        assert circuit_state((await adapter.ops.get("/metrics")).text) == "closed"

    refused = await admin.refused_calls()
    assert refused[-1]["time"] - down_at <= OUTAGE + 0.5
    assert len(refused) <= 2 * OUTAGE, [call["path"] for call in refused]
    messages = [json.loads(line)["message"] for line in log_path.read_text().splitlines()]
    assert [message for message in messages if message.startswith("ONCOR circuit")] == [
        "ONCOR circuit opened: no calls to ONCOR but a probe until it answers",
        "ONCOR circuit closed: ONCOR answers again",
    ]
