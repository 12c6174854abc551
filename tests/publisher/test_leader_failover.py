"""Two publisher processes: only the leader polls; when it is killed, the other takes over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapter.emulator.process import EmulatorProcess
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.processes import AdapterProcess, adapter_env
from tests.support.running_publisher import all_marked, collecting_events
from tests.support.waiting import eventually

POLL_INTERVAL = 0.5
#: DEZO_ONCOR_CONNECT_TIMEOUT + DEZO_ONCOR_READ_TIMEOUT: a new leader waits this long after a
#: lost one, whose status updates may still land
HANDOVER_WAIT = 3.0


@pytest.fixture
def start_publisher(emulator: EmulatorProcess, amqp_url: str, tmp_path: Path) -> Iterator[Any]:
    env = adapter_env(
        emulator,
        amqp_url,
        poll_interval=POLL_INTERVAL,
        http_port=0,
        shutdown_grace=2,
        oncor_read_timeout=2,
    )
    started: list[AdapterProcess] = []

    def start(name: str) -> AdapterProcess:
        process = AdapterProcess(env, tmp_path / f"{name}.log", "run", "--role", "publisher")
        started.append(process.start())
        return process

    yield start
    for process in started:
        process.stop("terminate", within=15)


async def test_only_the_leader_polls_and_a_survivor_takes_over_when_it_is_killed(
    start_publisher: Any, admin: EmulatorAdmin, amqp_url: str
) -> None:
    async with collecting_events(amqp_url) as collector:
        await _elect_then_kill_the_leader(start_publisher, admin)
    assert len(collector.ids_by_order()) == 30


async def _elect_then_kill_the_leader(start_publisher: Any, admin: EmulatorAdmin) -> None:
    first = start_publisher("first")
    await eventually(_said(first, "poller leadership gained"), within=15)
    second = start_publisher("second")
    await eventually(_said(second, "adapter started"), within=15)

    await admin.add_orders(20)
    await eventually(lambda: all_marked(admin), within=10)
    searches = await _searches_during(admin, seconds=3.0)
    assert searches <= 3.0 / POLL_INTERVAL + 1, "one replica polls, at its interval"
    assert not second.said("poller leadership gained")

    first.stop("kill")
    killed_at = time.monotonic()
    await admin.add_orders(10)
    await eventually(lambda: all_marked(admin), within=HANDOVER_WAIT + POLL_INTERVAL + 5)
    took = time.monotonic() - killed_at
    assert HANDOVER_WAIT <= took < HANDOVER_WAIT + POLL_INTERVAL + 5, took
    assert second.said("poller leadership gained")


async def _searches_during(admin: EmulatorAdmin, *, seconds: float) -> int:
    started = time.time()
    await asyncio.sleep(seconds)
    return sum(
        1
        for call in await admin.calls()
        if call["path"] == "search/start/RcTm66OrderQuery" and call["time"] >= started
    )


def _said(process: AdapterProcess, message: str) -> Any:
    return lambda: process.said(message)
