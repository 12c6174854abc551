"""Two publisher processes: only the leader polls; when it is killed, the other takes over."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapter.emulator.process import EmulatorProcess
from tests.emulator_admin import EmulatorAdmin
from tests.publisher.conftest import all_marked, collecting_events, eventually

POLL_INTERVAL = 0.5
#: DEZO_ONCOR_CONNECT_TIMEOUT + DEZO_ONCOR_READ_TIMEOUT: a new leader waits this long after a
#: lost one, whose status updates may still land
HANDOVER_WAIT = 3.0
ADAPTER = Path(sys.executable).with_name("dezo-adapter")


class PublisherProcess:
    """`dezo-adapter run --role publisher` with its JSON log lines in a file."""

    def __init__(self, log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [str(ADAPTER), "run", "--role", "publisher"], stderr=self._log, env=env
        )

    def log_lines(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def said(self, message: str) -> bool:
        return any(line["message"] == message for line in self.log_lines())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture
def start_publisher(emulator: EmulatorProcess, amqp_url: str, tmp_path: Path) -> Iterator[Any]:
    env = {
        **os.environ,
        "DEZO_ONCOR_URL": emulator.api_url,
        "DEZO_ONCOR_TOKEN": emulator.token,
        "DEZO_AMQP_URL": amqp_url,
        "DEZO_POLL_INTERVAL": str(POLL_INTERVAL),
        "DEZO_HTTP_PORT": "0",
        "DEZO_SHUTDOWN_GRACE": "2",
        "DEZO_ONCOR_CONNECT_TIMEOUT": "1",
        "DEZO_ONCOR_READ_TIMEOUT": "2",
    }
    started: list[PublisherProcess] = []

    def start(name: str) -> PublisherProcess:
        started.append(PublisherProcess(tmp_path / f"{name}.log", env))
        return started[-1]

    yield start
    for process in started:
        process.stop()


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

    first.process.send_signal(signal.SIGKILL)
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


def _said(process: PublisherProcess, message: str) -> Any:
    async def check() -> bool:
        return process.said(message)

    return check
