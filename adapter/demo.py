"""`dezo-adapter demo`: the ONCOR emulator with sample orders, the adapter, and the events.

Everything a newcomer needs to see the adapter work, on the local RabbitMQ: orders created in
the emulator appear as `order.received` lines and get the status "Обработка началась".
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from adapter.config import load_settings
from adapter.emulator.process import start_emulator_process
from adapter.emulator.server import EmulatorOptions
from adapter.runner import run
from adapter.tools.watch import watch_events

DEMO_TOKEN = "demo-token"


async def run_demo(orders: int, port: int) -> None:
    options = EmulatorOptions(port=port, orders=orders, token=DEMO_TOKEN)
    with start_emulator_process(options) as emulator:
        settings = load_settings(
            oncor_url=emulator.api_url,
            oncor_token=DEMO_TOKEN,
            poll_interval=float(os.environ.get("DEZO_POLL_INTERVAL", "5")),
        )
        print(f"ONCOR emulator: {emulator.base_url}  (admin API: {emulator.base_url}/admin/)")
        print(
            "in another terminal, try: .venv/bin/dezo-adapter send associate-dicom"
            " --order '#1930:0' --ris-dicom https://ris.example.org/study/1 --wait"
        )
        print("events on dezo.events (Ctrl-C stops):")
        stop_watching = asyncio.Event()
        watcher = asyncio.create_task(
            watch_events(settings.amqp_url.get_secret_value(), stop_watching)
        )
        try:
            await run(settings)
        finally:
            stop_watching.set()
            with contextlib.suppress(Exception):
                await watcher
