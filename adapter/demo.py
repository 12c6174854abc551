"""`dezo-adapter demo`: the ONCOR emulator with sample orders, the adapter, and the events.

Everything a newcomer needs to see the adapter work: orders created in the emulator appear as
`order.received` lines and get the status "Обработка началась". The broker is DEZO_AMQP_URL,
else the local one, else one the demo starts for itself (adapter/demo_broker.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from adapter.bus.connection import Bus
from adapter.bus.topology import TopologySettings
from adapter.config import load_settings
from adapter.demo_broker import demo_broker
from adapter.emulator.options import EmulatorOptions
from adapter.emulator.process import start_emulator_process
from adapter.observability.logs import configure_logging
from adapter.runner import run
from adapter.tools.watch import watch_on

DEMO_TOKEN = "demo-token"

log = logging.getLogger(__name__)


def run_demo(orders: int, port: int) -> None:
    """Find or start a broker, then run the demo on it until Ctrl-C or SIGTERM; raises
    `NoBroker` when there is none to be had, `ConfigError` on a bad DEZO_* value."""
    # SIGTERM unwinds like Ctrl-C, so a broker the demo started is removed either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    load_settings(oncor_token=DEMO_TOKEN)  # a bad DEZO_* value stops us before any broker
    configure_logging()  # before the first connection attempt, so its errors are told once
    with demo_broker() as broker:
        print(broker.announcement, flush=True)
        asyncio.run(_demo(orders, port, broker.amqp_url))


async def _demo(orders: int, port: int, amqp_url: str) -> None:
    options = EmulatorOptions(port=port, orders=orders, token=DEMO_TOKEN)
    with start_emulator_process(options) as emulator:
        settings = load_settings(
            oncor_url=emulator.api_url,
            oncor_token=DEMO_TOKEN,
            amqp_url=amqp_url,
            poll_interval=float(os.environ.get("DEZO_POLL_INTERVAL", "5")),
        )
        print(f"ONCOR emulator: {emulator.base_url}  (admin API: {emulator.base_url}/admin/)")
        print(
            "in another terminal, try: .venv/bin/dezo-adapter send associate-dicom"
            " --order '#1930:0' --ris-dicom https://ris.example.org/study/1 --wait"
        )
        print("events on dezo.events (Ctrl-C stops):", flush=True)
        watcher = asyncio.create_task(_watch(amqp_url, settings.topology))
        try:
            await run(settings)
        finally:
            watcher.cancel()  # it only shows events; it may still be waiting for the broker
            await asyncio.gather(watcher, return_exceptions=True)


async def _watch(amqp_url: str, topology: TopologySettings) -> None:
    """Show the events until cancelled."""
    # Through a Bus: its reconnect attempts are told in one line each, as the adapter's are. It
    # declares the adapter's topology too: on a new broker, binding to dezo.events before the
    # adapter had declared it failed, and no order was shown.
    bus = Bus(amqp_url, name="dezo-adapter demo watch", topology=topology)
    try:
        await bus.connect()
        await watch_on(bus.connection, asyncio.Event())  # never set: it ends by cancellation
    except Exception as exc:
        log.error("cannot show the events", extra={"error": repr(exc)})
    finally:
        await bus.close()
