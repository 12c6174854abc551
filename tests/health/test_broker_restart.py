"""A broker restart under a running adapter: unready while RabbitMQ is down, ready again after,
and both halves work again: commands are consumed and new orders are polled and marked.

This stops the RabbitMQ application itself, so every virtual host on that broker goes down for a
few seconds: it lives in a module of its own, is kept short, and always starts the broker again.
Other tests connect per test, so they are not affected once it has finished.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapter.emulator.process import EmulatorProcess
from tests.health.support import (
    BusProbe,
    EmulatorAdmin,
    commands_still_consumed,
    running_adapter,
)
from tests.support.broker import Broker
from tests.support.processes import adapter_env

PROCESSING_STARTED = {"status": "Обработка началась"}


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_after_a_broker_restart_the_adapter_is_ready_consumes_and_polls_again(
    emulator: EmulatorProcess, amqp_url: str, broker: Broker, admin: EmulatorAdmin, tmp_path: Path
) -> None:
    probe = BusProbe(amqp_url)
    env = adapter_env(emulator, amqp_url)
    async with running_adapter(env, tmp_path / "adapter.log") as adapter:
        await adapter.ready()
        await probe.bind_events()

        try:
            await asyncio.to_thread(broker.ctl, "stop_app")
            await adapter.not_ready(within=10)
            await asyncio.sleep(1.0)  # down for a while, through a reconnect attempt
            assert await adapter.status("/healthz") == 200
            readiness = await adapter.readiness()
            assert readiness["checks"]["broker_connected"] is False
            assert readiness["checks"]["commands_consumer"] is False
            assert readiness["checks"]["leader_consumer"] is False
        finally:
            await asyncio.to_thread(broker.ctl, "start_app")
            await asyncio.to_thread(broker.ctl, "await_startup")

        await adapter.ready(within=30)
        await commands_still_consumed(probe, admin)

        [order_id] = await admin.new_orders(1)

        async def marked() -> bool:
            return PROCESSING_STARTED in (await admin.order(order_id))["status_history"]

        await adapter.until("the new order marked", marked, within=15)
