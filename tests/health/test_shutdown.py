"""SIGTERM as Kubernetes sends it: the command in flight is finished within the grace period,
or left unacknowledged for the next consumer when the grace is too short; the process exits
promptly and with status 0 either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter.emulator.process import EmulatorProcess
from tests.health.support import (
    Adapter,
    BusProbe,
    EmulatorAdmin,
    order_associated,
    running_adapter,
)
from tests.support.processes import adapter_env

STATUS_UPDATE = "rc/updateInstanceStatus"


async def command_in_flight(
    adapter: Adapter, admin: EmulatorAdmin, probe: BusProbe
) -> tuple[str, str]:
    """An associate-dicom command whose status update ONCOR is still answering, slowly."""
    [order_id] = await admin.new_orders(1)
    await probe.bind_events()
    command_id = await probe.associate_dicom(order_id)

    async def update_pending() -> bool:
        return any(
            call["path"] == STATUS_UPDATE and call["status"] is None for call in await admin.calls()
        )

    await adapter.until("the status update in flight", update_pending, within=10)
    return order_id, command_id


@pytest.mark.timeout(60)
async def test_sigterm_finishes_the_command_in_flight_and_exits_zero(
    emulator: EmulatorProcess, amqp_url: str, admin: EmulatorAdmin, tmp_path: Path
) -> None:
    grace = 5.0
    env = adapter_env(emulator, amqp_url, shutdown_grace=grace)
    probe = BusProbe(amqp_url)
    async with running_adapter(env, tmp_path / "adapter.log") as adapter:
        await adapter.ready()
        await admin.faults(latency_ms=1500, paths=[STATUS_UPDATE])
        order_id, command_id = await command_in_flight(adapter, admin, probe)

        code, seconds = await adapter.terminate(within=grace + 5)

    assert code == 0, adapter.log_tail()
    assert seconds < grace + 3
    # Stepping down from a role must not cost the connection the command is on (waiting.to_the_end)
    assert "broker connection lost" not in adapter.process.log_text(), adapter.log_tail()
    outcome = await probe.outcome(command_id, within=2)
    assert outcome["routing_key"] == "command.succeeded.order.associate-dicom"
    assert await order_associated(admin, order_id)
    assert await probe.take_command() is None  # acknowledged, not left for anyone else


@pytest.mark.timeout(60)
async def test_sigterm_past_the_grace_leaves_the_command_unacked_for_the_next_consumer(
    emulator: EmulatorProcess, amqp_url: str, admin: EmulatorAdmin, tmp_path: Path
) -> None:
    grace = 0.5
    env = adapter_env(emulator, amqp_url, shutdown_grace=grace)
    probe = BusProbe(amqp_url)
    async with running_adapter(env, tmp_path / "adapter.log") as adapter:
        await adapter.ready()
        await admin.faults(latency_ms=5000, paths=[STATUS_UPDATE])
        _, command_id = await command_in_flight(adapter, admin, probe)

        code, seconds = await adapter.terminate(within=grace + 5)

    assert code == 0, adapter.log_tail()
    assert seconds < grace + 3
    await probe.collect()
    assert probe.outcomes_of(command_id) == []
    redelivery = await probe.take_command()
    assert redelivery is not None
    assert redelivery.message_id == command_id
    assert redelivery.redelivered
