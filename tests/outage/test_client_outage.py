"""The ONCOR client through outages of the emulator over real HTTP: calls wait out an outage
longer than their retry budget, ONCOR hears only the probe meanwhile, a flapping ONCOR loses no
call, and Retry-After and the concurrency and rate limits hold every caller back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from adapter.emulator.process import EmulatorProcess
from adapter.oncor import OncorCircuitOpen, OncorClient, OncorUnavailable, RetryPolicy
from adapter.oncor.breaker import BreakerPolicy
from adapter.oncor.client import PROBE_METHOD, FlowPolicy
from tests.support.emulator_admin import EmulatorAdmin

#: Spent within a second, as a command's in-process retries would be.
SHORT_RETRIES = RetryPolicy(attempts=2, max_seconds=0.5, initial_backoff=0.05, max_backoff=0.1)
QUICK_BREAKER = BreakerPolicy(failures=3, first_probe=0.2, max_probe_interval=1.0)


def make_client(emulator: EmulatorProcess, **options: Any) -> OncorClient:
    options.setdefault("retry", SHORT_RETRIES)
    options.setdefault("breaker", QUICK_BREAKER)
    options.setdefault("flow", FlowPolicy(outage_wait=30))
    return OncorClient(emulator.api_url, emulator.token, **options)


async def test_calls_outlasting_their_retry_budget_wait_for_oncor_and_succeed(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.outage(down_for=3)
    async with make_client(emulator) as client:
        started = time.monotonic()
        answers = await asyncio.gather(*(client.get_med_departments() for _ in range(10)))
        waited = time.monotonic() - started

    assert all(answers) and waited > 2.5
    refused = await admin.refused_calls()
    # The ten first attempts, then nothing but the probe, one at a time, at most 2 a second.
    assert all(call["path"] == PROBE_METHOD for call in refused[10:]), refused
    assert len(refused) - 10 <= 2 * 3


async def test_calls_queued_behind_the_concurrency_limit_stay_home_once_the_circuit_opens(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.outage(down_for=2)
    options = {"flow": FlowPolicy(max_concurrency=2), "breaker": BreakerPolicy(failures=2)}
    async with make_client(emulator, **options) as client:
        await asyncio.gather(*(client.get_med_departments() for _ in range(10)))

    refused = await admin.refused_calls()
    calls = [call["path"] for call in refused if call["path"] != PROBE_METHOD]
    # The two in flight fail and open the circuit; a third may slip into the slot the first
    # failure freed before the second failure lands. The seven others never leave.
    assert calls in (["directory/get/MedDepart"] * 2, ["directory/get/MedDepart"] * 3), calls


async def test_a_call_that_waited_longer_than_outage_wait_raises_circuit_open(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.outage()
    options = {"flow": FlowPolicy(outage_wait=0.5), "breaker": BreakerPolicy(failures=1)}
    async with make_client(emulator, **options) as client:
        started = time.monotonic()
        with pytest.raises(OncorCircuitOpen) as caught:
            await client.get_med_departments()
        assert 0.5 <= time.monotonic() - started < 2.0
        assert isinstance(caught.value, OncorUnavailable) and not caught.value.maybe_applied
        assert client.breaker.is_open

        await admin.end_outage()
        async with asyncio.timeout(5):
            await client.breaker.wait_closed()
        assert await client.get_med_departments()


async def test_a_write_that_may_have_landed_as_the_circuit_opened_raises_at_once(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    [order_id] = await admin.new_orders(1)
    await admin.faults(error_rate=1.0, error_statuses=[500], paths=["rc/updateInstanceStatus"])
    async with make_client(emulator, breaker=BreakerPolicy(failures=1)) as client:
        started = time.monotonic()
        with pytest.raises(OncorCircuitOpen) as caught:
            await client.update_instance_status(order_id, "Обработка началась")
    # Not waited out: the caller must look whether it landed before writing again.
    assert caught.value.maybe_applied
    assert time.monotonic() - started < 1.0


async def test_a_flapping_oncor_up_2s_down_2s_loses_no_call(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    workers, seconds = 4, 7.0  # down 0-2 s and 4-6 s; no call starts after 7 s
    await admin.outage(down_for=2, up_for=2)
    answered = 0

    async def keep_calling(client: OncorClient, until: float) -> None:
        nonlocal answered
        while time.monotonic() < until:
            await client.get_med_departments()
            answered += 1

    async with make_client(emulator) as client:
        until = time.monotonic() + seconds
        await asyncio.gather(*(keep_calling(client, until) for _ in range(workers)))

    assert answered > 10
    # Per down phase: what was in flight and the run that opened the circuit, then probes.
    down_phases, down_seconds = 2, 4
    burst = workers + QUICK_BREAKER.failures
    assert len(await admin.refused_calls()) <= down_phases * burst + 2 * down_seconds


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_pauses_every_caller_not_only_the_one_that_got_it(
    emulator: EmulatorProcess, admin: EmulatorAdmin, status: int
) -> None:
    [patient_id] = (await admin.add_orders(1))["patient_ids"]
    await admin.faults(
        error_rate=1.0, error_statuses=[status], retry_after=1, paths=["patient/get"]
    )
    async with make_client(emulator, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(OncorUnavailable) as caught:
            await client.get_patient(patient_id)
        assert caught.value.retry_after == 1.0
        started = time.monotonic()
        await client.get_med_departments()  # another caller, another method
        assert time.monotonic() - started >= 0.9

    [refused, other] = [call for call in await admin.calls() if call["path"] != PROBE_METHOD]
    assert (refused["status"], other["path"]) == (status, "directory/get/MedDepart")
    assert other["time"] - refused["time"] >= 0.9


async def test_max_concurrency_bounds_the_calls_in_flight(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.faults(latency_ms=300)

    async def six_calls(max_concurrency: int) -> float:
        flow = FlowPolicy(max_concurrency=max_concurrency)
        async with make_client(emulator, flow=flow) as client:
            started = time.monotonic()
            await asyncio.gather(*(client.get_med_departments() for _ in range(6)))
            return time.monotonic() - started

    assert await six_calls(6) < 0.85
    assert await six_calls(2) >= 0.9  # three rounds of two


async def test_max_rps_spaces_the_calls_out(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    async with make_client(emulator, flow=FlowPolicy(max_rps=10)) as client:
        await asyncio.gather(*(client.get_med_departments() for _ in range(11)))

    arrivals = [call["time"] for call in await admin.calls()]
    assert len(arrivals) == 11
    assert arrivals[-1] - arrivals[0] >= 0.95
