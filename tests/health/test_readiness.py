"""Readiness follows the broker and our consumers; liveness does not: a real `dezo-adapter run`
whose broker connections are closed under it or refused for a while."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from adapter.emulator.process import EmulatorProcess
from tests.health.support import (
    Adapter,
    BusProbe,
    EmulatorAdmin,
    commands_still_consumed,
    running_adapter,
)
from tests.support.broker import Broker
from tests.support.processes import adapter_env

ALL_READY = {
    "broker_connected": True,
    "oncor_reachable": True,
    "leader_consumer": True,
    "commands_consumer": True,
}


def vhost_of(amqp_url: str) -> str:
    return unquote(urlsplit(amqp_url).path[1:])


def gauge(metrics_text: str, name: str) -> float | None:
    match = re.search(rf"^{name} (\S+)$", metrics_text, re.MULTILINE)
    return float(match.group(1)) if match else None


@pytest.fixture
async def adapter(
    emulator: EmulatorProcess, amqp_url: str, tmp_path: Path
) -> AsyncIterator[Adapter]:
    env = adapter_env(emulator, amqp_url)
    async with running_adapter(env, tmp_path / "adapter.log") as running:
        await running.ready()
        yield running


@pytest.mark.timeout(60)
async def test_readiness_drops_while_the_broker_drops_us_and_commands_are_consumed_after(
    adapter: Adapter, admin: EmulatorAdmin, amqp_url: str, broker: Broker
) -> None:
    assert (await adapter.readiness())["checks"] == ALL_READY
    probe = BusProbe(amqp_url)
    await probe.bind_events()

    unready = asyncio.create_task(adapter.not_ready(within=10))
    await asyncio.to_thread(
        broker.ctl, "close_all_connections", "--vhost", vhost_of(amqp_url), "health test"
    )
    await unready
    await adapter.ready(within=30)

    assert (await adapter.readiness())["checks"] == ALL_READY
    await commands_still_consumed(probe, admin)


@pytest.mark.timeout(60)
async def test_healthz_and_metrics_answer_through_a_broker_outage_while_readyz_fails(
    adapter: Adapter, amqp_url: str, broker: Broker
) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert await adapter.status(path) == 200, path
    assert (await adapter.ops.get("/healthz")).json()["checks"] == {
        "event_loop": True,
        "poller": True,
    }
    assert gauge((await adapter.ops.get("/metrics")).text, "dezo_ready") == 1

    # The broker refuses this vhost until the permissions are back: an outage of our own.
    vhost, user = vhost_of(amqp_url), urlsplit(broker.url).username or "guest"
    await asyncio.to_thread(broker.ctl, "clear_permissions", "-p", vhost, user)
    try:
        await asyncio.to_thread(broker.ctl, "close_all_connections", "--vhost", vhost, "outage")
        await adapter.not_ready(within=10)
        for _ in range(5):  # seconds of outage, through a failed reconnect attempt or two
            assert await adapter.status("/healthz") == 200
            readiness = await adapter.readiness()
            assert readiness["ready"] is False
            assert readiness["checks"]["broker_connected"] is False
            assert readiness["checks"]["commands_consumer"] is False
            metrics = (await adapter.ops.get("/metrics")).text
            assert gauge(metrics, "dezo_ready") == 0
            assert gauge(metrics, "dezo_broker_connected") == 0
            await asyncio.sleep(0.5)
    finally:
        await asyncio.to_thread(broker.ctl, "set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    await adapter.ready(within=30)
    assert await adapter.status("/healthz") == 200
