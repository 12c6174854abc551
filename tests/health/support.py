"""A real `dezo-adapter run` for health tests: the process, its operations port, the emulator's
admin API, and a probe on the bus that sends commands and reads outcome events."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx

from adapter.bus.topology import COMMANDS_EXCHANGE, COMMANDS_QUEUE, EVENTS_EXCHANGE
from tests.support.commands import command_body
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.processes import AdapterProcess
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
EVENTS_PROBE_QUEUE = "test.health.events"
DICOM_LINK = "https://ris.example/viewer?study=1.2.840.113619.2"


@dataclass
class Adapter:
    """One `dezo-adapter run` process and its operations port."""

    process: AdapterProcess
    ops: httpx.AsyncClient

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.process.log_text().splitlines()[-lines:])

    async def status(self, path: str) -> int | None:
        """The HTTP status of /healthz, /readyz or /metrics; None when the port does not answer."""
        try:
            return (await self.ops.get(path)).status_code
        except httpx.TransportError:
            return None

    async def readiness(self) -> dict[str, Any]:
        body: dict[str, Any] = (await self.ops.get("/readyz")).json()
        return body

    async def until(
        self, what: str, check: Callable[[], Awaitable[bool]], within: float, every: float = 0.05
    ) -> float:
        """Wait until `check()` holds, failing early if the process exits; returns the wait."""
        started = time.monotonic()

        async def holds() -> bool:
            if (code := self.process.popen.poll()) is not None:
                raise AssertionError(f"the adapter exited ({code}) before {what}")
            return await check()

        try:
            await eventually(holds, within=within, every=every, what=what)
        except AssertionError as failed:
            raise AssertionError(f"{failed}:\n{self.log_tail()}") from None
        return time.monotonic() - started

    async def ready(self, within: float = 20.0) -> float:
        return await self.until("ready", lambda: self._is(200, "/readyz"), within)

    async def not_ready(self, within: float = 20.0) -> float:
        # often: a dropped connection may be back within half a second
        return await self.until("unready", lambda: self._is(503, "/readyz"), within, every=0.01)

    async def _is(self, status: int, path: str) -> bool:
        return await self.status(path) == status

    async def terminate(self, within: float) -> tuple[int, float]:
        """SIGTERM, as Kubernetes stops a pod; returns the exit code and the seconds it took."""
        started = time.monotonic()
        code = await asyncio.to_thread(self.process.stop, "terminate", within)
        return code, time.monotonic() - started


@asynccontextmanager
async def running_adapter(env: dict[str, str], log_path: Path) -> AsyncIterator[Adapter]:
    """`dezo-adapter run` with stdout and stderr in `log_path`; killed if still running after."""
    process = AdapterProcess(env, log_path).start()
    port = env["DEZO_HTTP_PORT"]
    ops = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5)
    try:
        yield Adapter(process, ops)
    finally:
        await ops.aclose()
        await asyncio.to_thread(process.stop, "kill")


@dataclass
class BusProbe:
    """Sends commands and reads events over short-lived connections, so that broker outages
    in a test never touch the probe; events wait in a durable queue in between."""

    amqp_url: str
    events: list[dict[str, Any]] = field(default_factory=list)

    async def bind_events(self) -> None:
        """Start collecting every event; the adapter must have declared the topology."""
        async with await aio_pika.connect(self.amqp_url) as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(EVENTS_PROBE_QUEUE, durable=True)
            await queue.bind(EVENTS_EXCHANGE, "#")

    async def send(
        self, command: str, data: dict[str, Any], body: bytes | None = None, **properties: Any
    ) -> str:
        command_id = str(uuid.uuid4())
        async with await aio_pika.connect(self.amqp_url) as connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(COMMANDS_EXCHANGE)
            message = aio_pika.Message(
                command_body(command, data, command_id)[1] if body is None else body,
                content_type="application/cloudevents+json",
                message_id=command_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                **properties,
            )
            await exchange.publish(message, routing_key=command)
        return command_id

    async def associate_dicom(self, order_id: str) -> str:
        return await self.send(
            "order.associate-dicom", {"order_id": order_id, "ris_dicom": DICOM_LINK}
        )

    async def collect(self) -> list[dict[str, Any]]:
        """Move every event waiting in the probe's queue into `events`."""
        async with await aio_pika.connect(self.amqp_url) as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(EVENTS_PROBE_QUEUE, passive=True)
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                self.events.append({"routing_key": message.routing_key, **json.loads(message.body)})
        return self.events

    def outcomes_of(self, command_id: str) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events
            if event["routing_key"].startswith("command.")
            and event["data"].get("command_id") == command_id
        ]

    async def outcome(self, command_id: str, within: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while not self.outcomes_of(command_id):
            if time.monotonic() > deadline:
                raise AssertionError(f"no outcome of {command_id} within {within} s")
            await asyncio.sleep(0.1)
            await self.collect()
        [outcome] = self.outcomes_of(command_id)
        return outcome

    async def take_command(self) -> aio_pika.abc.AbstractIncomingMessage | None:
        """The next command waiting in `dezo.commands`, taken and acknowledged."""
        async with await aio_pika.connect(self.amqp_url) as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(COMMANDS_QUEUE, passive=True)
            message = await queue.get(fail=False)
            if message is not None:
                await message.ack()
            return message


async def order_associated(admin: EmulatorAdmin, order_id: str) -> bool:
    """The order's status history holds the association (the poller may have marked it since)."""
    order = await admin.order(order_id)
    associated = {"status": "Ассоциация DICOM", "ris_dicom": DICOM_LINK}
    return associated in [order["status"], *order["status_history"]]


async def commands_still_consumed(probe: BusProbe, admin: EmulatorAdmin) -> None:
    """A new order's associate-dicom command is consumed: its outcome and its ONCOR status."""
    [order_id] = await admin.new_orders(1)
    command_id = await probe.associate_dicom(order_id)
    outcome = await probe.outcome(command_id)
    assert outcome["routing_key"] == "command.succeeded.order.associate-dicom"
    assert await order_associated(admin, order_id)
