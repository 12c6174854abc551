"""The command consumer knows whether the broker delivers to it, and registers again by itself
when its consumer goes missing on a channel that stays open, as aio-pika's restore can leave it
(aio-pika issues 231, 334, 626)."""

from __future__ import annotations

import asyncio

import pytest

from adapter.bus import subscription
from adapter.bus.connection import Bus
from adapter.config import load_settings
from adapter.consumer.assembly import attachment_downloads, build_consumer
from adapter.emulator.process import EmulatorProcess
from adapter.observability import metrics
from adapter.runner import build_oncor_client
from tests.health.support import BusProbe, commands_still_consumed
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.waiting import eventually


@pytest.mark.timeout(30)
async def test_consumer_missing_from_its_open_channel_is_noticed_and_registered_again(
    emulator: EmulatorProcess, amqp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscription, "CHECK_INTERVAL", 0.2)
    settings = load_settings(
        oncor_url=emulator.api_url, oncor_token=emulator.token, amqp_url=amqp_url
    )
    admin, probe = EmulatorAdmin(emulator), BusProbe(amqp_url)
    async with (
        build_oncor_client(settings, metrics.observe_oncor_call) as oncor,
        attachment_downloads(settings) as downloads,
    ):
        bus = Bus(amqp_url, topology=settings.topology)
        await bus.connect()
        consumer = build_consumer(settings, oncor, bus, downloads)
        stop = asyncio.Event()
        running = asyncio.create_task(consumer.run(stop))
        try:
            await eventually(lambda: consumer.consuming, within=10, every=0.02, what="consuming")
            await probe.bind_events()

            # Consumers disappear while their channels stay open and nothing is said about it:
            # the one on the commands, and the one holding the commands ownership.
            subscriptions = (consumer._commands, consumer._ownership._subscription)
            missing = {}
            for lost in subscriptions:
                wire, tag = lost._wire, lost._tag
                assert wire is not None and tag is not None
                await wire.basic_cancel(tag)
                missing[lost.queue_name] = tag
            assert not consumer.consuming

            await eventually(
                lambda: consumer.consuming, within=5, every=0.02, what="consuming again"
            )
            for lost in subscriptions:
                assert lost._tag != missing[lost.queue_name]
            await commands_still_consumed(probe, admin)

            stop.set()
            await asyncio.wait_for(running, 10)
            assert not consumer.consuming
        finally:
            stop.set()
            await asyncio.gather(running, return_exceptions=True)
            await bus.close()
            await admin.close()
