"""What a phase drives and observes: orders seeded in ONCOR, commands published, events collected.

The driver runs in the benchmark's own process; what it measures is the process under test
(adapter or baseline), which it starts and stops around each phase.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from adapter.bus.topology import COMMANDS_EXCHANGE, EVENTS_EXCHANGE, declare_topology
from bench.adapter_run import ChildProcess
from bench.environment import EmulatorAdmin
from bench.stats import CpuMeter, Latencies, LatencyResult, PhaseResult

EXPERT = "39115-661768-26(20190905)"  # a MedResource the emulator knows
CONCLUSION_CODE = "ДИАГНОЗ_ПОДТВЕРЖДЕН"
PUBLISHES_IN_FLIGHT = 100  # enough to keep a confirmed publisher far from its per-confirm cap
PHASE_TIMEOUT = 300.0
#: The paced orders' moments, the same on both stands and in every run.
PACED_SEED = 13


def pdf_bytes(size: int) -> bytes:
    """A 'PDF' of `size` bytes: the magic, then random bytes (incompressible, like a scan)."""
    head = b"%PDF-1.7\n"
    return head + os.urandom(max(0, size - len(head)))


def conclusion(order_id: str, pdf: dict[str, str]) -> tuple[str, bytes]:
    """A conclusion command as another service would publish it: (command id, body)."""
    command_id = str(uuid.uuid4())
    event = {
        "specversion": "1.0",
        "id": command_id,
        "source": "urn:bench",
        "type": "ru.oncor.dezo.order.conclusion.v1",
        "time": datetime.now(UTC).isoformat(),
        "data": {
            "order_id": order_id,
            "conclusion_code": CONCLUSION_CODE,
            "description": f"benchmark conclusion for {order_id}",
            "expert_id": EXPERT,
            "pdf": pdf,
        },
    }
    return command_id, json.dumps(event, ensure_ascii=False).encode()


def inline_pdf(content: bytes) -> dict[str, str]:
    return {
        "name": "conclusion.pdf",
        "media_type": "application/pdf",
        "content_base64": base64.b64encode(content).decode(),
    }


def pdf_by_url(url: str) -> dict[str, str]:
    return {"name": "conclusion.pdf", "media_type": "application/pdf", "url": url}


@dataclass
class Collector:
    """Every event on `dezo.events`: first arrival per correlation id (an order or command id)."""

    arrivals: dict[str, float] = field(default_factory=dict)
    routing_keys: Counter[str] = field(default_factory=Counter)
    repeats: int = 0  # events for a correlation id seen before: an order announced again
    _waiting: set[str] = field(default_factory=set)
    _all_in: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, ids: Iterable[str] = ()) -> None:
        """Start afresh, waiting for these ids (more may be added)."""
        self.arrivals.clear()
        self.routing_keys.clear()
        self.repeats = 0
        self._waiting = set()
        self.add_expected(ids)

    def add_expected(self, ids: Iterable[str]) -> None:
        self._waiting.update(id_ for id_ in ids if id_ not in self.arrivals)
        if self._waiting:
            self._all_in.clear()
        else:
            self._all_in.set()

    async def all_in(self) -> None:
        await asyncio.wait_for(self._all_in.wait(), PHASE_TIMEOUT)

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        now = time.monotonic()
        key = message.correlation_id
        self.routing_keys[message.routing_key or ""] += 1
        if key is None or key in self.arrivals:
            self.repeats += key is not None  # a re-publish: the first arrival counts
            return
        self.arrivals[key] = now
        self._waiting.discard(key)
        if not self._waiting:
            self._all_in.set()


class Driver:
    """The benchmark's side of the bus and of ONCOR: seeds, publishes, collects."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        publishing: AbstractChannel,
        admin: EmulatorAdmin,
        neighbours: dict[str, int],
    ) -> None:
        self._connection = connection
        self._publishing = publishing
        self.admin = admin
        self.collector = Collector()
        self._neighbours = neighbours  # pids whose CPU each phase reports beside its own

    @classmethod
    async def connect(
        cls, amqp_url: str, admin: EmulatorAdmin, neighbours: dict[str, int]
    ) -> Driver:
        connection = await aio_pika.connect_robust(amqp_url)
        channel = await connection.channel()
        await declare_topology(channel)
        publishing = await connection.channel(publisher_confirms=True)
        driver = cls(connection, publishing, admin, neighbours)
        queue = await channel.declare_queue("bench.events", exclusive=True)
        await queue.bind(EVENTS_EXCHANGE, "#")
        # no_ack: the driver's own CPU stays small, and the same for adapter and baseline.
        await queue.consume(driver.collector.on_message, no_ack=True)
        return driver

    def _meter(self, process: ChildProcess) -> CpuMeter:
        meter = CpuMeter({"tested": process.pid, **self._neighbours})
        meter.start()
        return meter

    def _result(
        self,
        name: str,
        process: ChildProcess,
        meter: CpuMeter,
        seconds: float,
        latencies: list[float],
    ) -> PhaseResult:
        """The phase's figures: one latency per message, seconds each."""
        cpu = meter.used()
        return PhaseResult(
            name=name,
            messages=len(latencies),
            seconds=seconds,
            latency=Latencies.of(latencies),
            samples=latencies,
            cpu_seconds=cpu.pop("tested"),
            peak_rss_mb=process.peak_rss_mb(),
            neighbours_cpu=cpu,
            outcomes=dict(self.collector.routing_keys),
        )

    async def close(self) -> None:
        await self._connection.close()

    # --- orders ------------------------------------------------------------------------------

    async def order_backlog(
        self, name: str, process: ChildProcess, count: int, *, marks_within: float = 30.0
    ) -> PhaseResult:
        """`count` orders appear in ONCOR at once; until each is announced (and marked, for
        `marks_within` seconds at most)."""
        await self.admin.clear_calls()
        self.collector.expect()
        meter = self._meter(process)
        ids = await self.admin.add_orders(count)
        created = time.monotonic()
        self.collector.add_expected(ids)
        await self.collector.all_in()
        latencies = [self.collector.arrivals[id_] - created for id_ in ids]
        await self._until_marked(count, marks_within)
        result = self._result(name, process, meter, max(latencies), latencies)
        result.oncor_calls = await self.admin.call_counts()
        return result

    async def paced_orders(
        self, name: str, rate: float, count: int, *, batch: int = 10, delay: float = 0.0
    ) -> LatencyResult:
        """Orders created in small batches well below capacity: latency without a backlog.
        `delay` shifts the batches: two stands paced at once mostly take turns.

        Each batch comes at a random moment of its slot, the same moments on both stands. At
        fixed moments, batches every 0.2 s met polls every 0.2 s at one phase for the whole run:
        each stand's orders waited for their poll a constant 0 to 200 ms, drawn anew every run
        (paced p50s of 242 and 107 ms in one run), which decided the added p99 more than any
        work did."""
        created: dict[str, float] = {}
        self.collector.expect()
        interval = batch / rate
        start = time.monotonic() + delay
        moments = random.Random(PACED_SEED)
        for step in range(max(1, round(count / batch))):
            await _sleep_until(start + (step + moments.random()) * interval)
            ids = await self.admin.add_orders(batch)
            now = time.monotonic()
            created.update(dict.fromkeys(ids, now))
            self.collector.add_expected(ids)
        await self.collector.all_in()
        latencies = [self.collector.arrivals[id_] - at for id_, at in created.items()]
        return LatencyResult.of(name, rate, latencies)

    async def _until_marked(self, count: int, within: float = 30.0) -> None:
        """The status updates follow the publishes; wait for them before counting calls."""
        deadline = time.monotonic() + within
        while (await self.admin.call_counts()).get("rc/updateInstanceStatus", 0) < count:
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)

    # --- commands ----------------------------------------------------------------------------

    async def command_burst(
        self, name: str, process: ChildProcess, commands: list[tuple[str, bytes]]
    ) -> PhaseResult:
        """Every command published as fast as the broker confirms; until every outcome is in."""
        await self.admin.clear_calls()
        self.collector.expect({command_id for command_id, _ in commands})
        meter = self._meter(process)
        published = await self._publish_all(commands)
        await self.collector.all_in()
        seconds = max(self.collector.arrivals.values()) - min(published.values())
        latencies = [self.collector.arrivals[id_] - at for id_, at in published.items()]
        result = self._result(name, process, meter, seconds, latencies)
        result.oncor_calls = await self.admin.call_counts()
        return result

    async def paced_commands(
        self, name: str, commands: list[tuple[str, bytes]], rate: float, *, delay: float = 0.0
    ) -> LatencyResult:
        """Commands published one by one at `rate` per second: latency without a queue.
        `delay` shifts the publishes: two stands paced at once take turns."""
        self.collector.expect({command_id for command_id, _ in commands})
        published: dict[str, float] = {}
        start = time.monotonic() + delay
        sends = []
        for index, command in enumerate(commands):
            await _sleep_until(start + index / rate)
            sends.append(asyncio.create_task(self._publish(command, published)))
        await asyncio.gather(*sends)
        await self.collector.all_in()
        latencies = [self.collector.arrivals[id_] - at for id_, at in published.items()]
        return LatencyResult.of(name, rate, latencies)

    async def one_command(self, command: tuple[str, bytes]) -> dict[str, int]:
        self.collector.expect({command[0]})
        await self._publish(command, {})
        await self.collector.all_in()
        return dict(self.collector.routing_keys)

    async def _publish_all(self, commands: list[tuple[str, bytes]]) -> dict[str, float]:
        published: dict[str, float] = {}
        room = asyncio.Semaphore(PUBLISHES_IN_FLIGHT)

        async def send(command: tuple[str, bytes]) -> None:
            async with room:
                await self._publish(command, published)

        await asyncio.gather(*(send(command) for command in commands))
        return published

    async def _publish(self, command: tuple[str, bytes], published: dict[str, float]) -> None:
        command_id, body = command
        exchange = await self._publishing.get_exchange(COMMANDS_EXCHANGE, ensure=False)
        published[command_id] = time.monotonic()
        await exchange.publish(
            aio_pika.Message(
                body,
                content_type="application/cloudevents+json",
                message_id=command_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key="order.conclusion",
        )


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
