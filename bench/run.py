"""Benchmark the adapter against a raw baseline in one run, on the local RabbitMQ and emulator.

    python bench/run.py [--orders 2000] [--commands 1000] [--pdf-kb 100] [--latency-ms 20]
                        [--big-pdf-mb 50] [--json out.json]

Phases, each run by the adapter and then by the baseline against the same emulator:
  orders    a backlog of N orders appears in ONCOR; the publisher announces and marks each;
            then orders trickle in at --paced-rate for latency without a backlog
  commands  N conclusion commands with inline PDFs published at once; then at --paced-rate
and finally the adapter's consumer alone with one PDF of --big-pdf-mb by URL (peak memory).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.adapter_run import ChildProcess, Target, start_adapter, start_baseline
from bench.environment import EmulatorAdmin, broker_pid, emulator, file_server, own_vhost
from bench.scenario import Driver, conclusion, inline_pdf, pdf_by_url, pdf_bytes
from bench.stats import LatencyResult, PhaseResult, ratio

MB = 2**20
POLL_INTERVAL = 0.2  # seconds, adapter and baseline alike: a backlog is found at once


@dataclass
class Comparison:
    """One phase run by both: the backlog (or burst) figures and the paced latencies."""

    adapter: PhaseResult
    adapter_paced: LatencyResult
    baseline: PhaseResult
    baseline_paced: LatencyResult

    @property
    def throughput_ratio(self) -> float:
        return ratio(self.adapter.throughput, self.baseline.throughput)

    @property
    def added_p99_ms(self) -> float:
        return self.adapter_paced.latency.p99 - self.baseline_paced.latency.p99

    def as_dict(self) -> dict[str, Any]:
        return {
            "adapter": self.adapter.as_dict(),
            "baseline": self.baseline.as_dict(),
            "adapter_paced": self.adapter_paced.as_dict(),
            "baseline_paced": self.baseline_paced.as_dict(),
            "throughput_ratio": self.throughput_ratio,
            "added_p99_ms": self.added_p99_ms,
        }


@dataclass
class BigPdf:
    size_mb: float
    peak_rss_mb: float
    outcomes: dict[str, int]

    @property
    def target_mb(self) -> float:
        return 4 * self.size_mb + 150

    def as_dict(self) -> dict[str, Any]:
        return {
            "size_mb": self.size_mb,
            "peak_rss_mb": self.peak_rss_mb,
            "target_mb": self.target_mb,
            "outcomes": self.outcomes,
        }


class Bench:
    def __init__(self, args: argparse.Namespace, driver: Driver, target: Target, logs: Path):
        self.args = args
        self.driver = driver
        self.admin = driver.admin
        self.target = target
        self.logs = logs

    async def orders(self) -> Comparison:
        return Comparison(
            *await self._orders_by("adapter", self._publisher),
            *await self._orders_by("baseline", self._baseline_orders),
        )

    async def commands(self) -> Comparison:
        pdf = inline_pdf(pdf_bytes(self.args.pdf_kb * 1024))
        return Comparison(
            *await self._commands_by("adapter", self._consumer, pdf),
            *await self._commands_by("baseline", self._baseline_commands, pdf),
        )

    async def _orders_by(
        self, who: str, start: Callable[[], ChildProcess]
    ) -> tuple[PhaseResult, LatencyResult]:
        await self.admin.reset(self.args.latency_ms)
        with await asyncio.to_thread(start) as process:
            backlog = await self.driver.order_backlog(f"orders/{who}", process, self.args.orders)
            paced = await self.driver.paced_orders(
                f"orders/{who}", self.args.paced_rate, self.args.paced_seconds
            )
        return backlog, paced

    async def _commands_by(
        self, who: str, start: Callable[[], ChildProcess], pdf: dict[str, str]
    ) -> tuple[PhaseResult, LatencyResult]:
        await self.admin.reset(self.args.latency_ms)
        paced_count = max(1, round(self.args.paced_rate * self.args.paced_seconds))
        # One command per order: commands for one order queue behind each other by design.
        orders = await self.admin.add_orders(self.args.commands + paced_count)
        commands = [conclusion(order_id, pdf) for order_id in orders]
        burst, trickle = commands[: self.args.commands], commands[self.args.commands :]
        with await asyncio.to_thread(start) as process:
            result = await self.driver.command_burst(f"commands/{who}", process, burst)
            paced = await self.driver.paced_commands(
                f"commands/{who}", trickle, self.args.paced_rate
            )
        return result, paced

    async def big_pdf(self) -> BigPdf:
        await self.admin.reset(self.args.latency_ms)
        (order_id,) = await self.admin.add_orders(1)
        path = self.logs / "big.pdf"
        size = await asyncio.to_thread(_write_pdf, path, self.args.big_pdf_mb * MB)
        with file_server({"big.pdf": path}) as base_url:
            # URL attachments are refused unless their host is allowed (DEZO_ATTACHMENT_URL_...).
            allowed = json.dumps([urlsplit(base_url).netloc])
            consumer = partial(self._consumer, attachment_url_allowed_hosts=allowed)
            with await asyncio.to_thread(consumer) as process:
                command = conclusion(order_id, pdf_by_url(f"{base_url}/big.pdf"))
                outcomes = await self.driver.one_command(command)
                peak = process.peak_rss_mb()
        return BigPdf(size / MB, peak, outcomes)

    # --- the processes under test, configured alike ------------------------------------------

    def _publisher(self) -> ChildProcess:
        return start_adapter(
            "publisher", self.target, self.logs, poll_interval=POLL_INTERVAL, **self._log()
        )

    def _consumer(self, **settings: str | int | float) -> ChildProcess:
        return start_adapter("consumer", self.target, self.logs, **settings, **self._log())

    def _baseline_orders(self) -> ChildProcess:
        return start_baseline("orders", self.target, self.logs, poll_interval=POLL_INTERVAL)

    def _baseline_commands(self) -> ChildProcess:
        return start_baseline("commands", self.target, self.logs)

    def _log(self) -> dict[str, str]:
        return {"log_level": self.args.log_level}


def _write_pdf(path: Path, size: int) -> int:
    """A PDF of `size` random bytes, written in slices: the driver need not hold it either."""
    with path.open("wb") as file:
        file.write(b"%PDF-1.7\n")
        for _ in range(size // MB):
            file.write(os.urandom(MB))
    return path.stat().st_size


# --- the report -----------------------------------------------------------------------------


def _row(label: str, adapter: float, baseline: float, unit: str = "", digits: int = 1) -> str:
    shown = f"{adapter:,.{digits}f}", f"{baseline:,.{digits}f}", f"{ratio(adapter, baseline):.2f}"
    return f"  {label:<34}{shown[0]:>12}{shown[1]:>12}{shown[2]:>8}  {unit}"


def _latency_rows(label: str, adapter: Any, baseline: Any) -> list[str]:
    return [
        _row(f"{label} p{q}", getattr(adapter, f"p{q}"), getattr(baseline, f"p{q}"), "ms")
        for q in (50, 95, 99)
    ]


def _calls(result: PhaseResult) -> str:
    per = {path: count / result.messages for path, count in sorted(result.oncor_calls.items())}
    return ", ".join(f"{path} {value:.2f}" for path, value in per.items())


def report(title: str, unit: str, comparison: Comparison) -> list[str]:
    a, b = comparison.adapter, comparison.baseline
    lines = [
        f"{title}: {a.messages} {unit}s",
        f"  {'':<34}{'adapter':>12}{'baseline':>12}{'ratio':>8}",
        _row(f"throughput ({unit}s/s)", a.throughput, b.throughput, "", 0),
        *_latency_rows("latency, backlog", a.latency, b.latency),
        *_latency_rows(
            f"latency, paced {comparison.adapter_paced.rate:g}/s",
            comparison.adapter_paced.latency,
            comparison.baseline_paced.latency,
        ),
        _row(f"ONCOR calls per {unit}", a.calls_per_message, b.calls_per_message, "", 2),
        _row(f"CPU s per 1,000 {unit}s", a.cpu_per_1000, b.cpu_per_1000, "s", 2),
        _row("peak RSS", a.peak_rss_mb, b.peak_rss_mb, "MB", 0),
        *(
            _row(
                f"  {name} CPU s per 1,000",
                1000 * a.neighbours_cpu[name] / a.messages,
                1000 * b.neighbours_cpu.get(name, math.nan) / b.messages,
                "s",
                2,
            )
            for name in sorted(a.neighbours_cpu)
        ),
        f"  adapter calls per {unit}: {_calls(a)}",
        f"  outcomes: adapter {a.outcomes}, baseline {b.outcomes}",
    ]
    return lines


def targets(orders: Comparison, commands: Comparison, big: BigPdf) -> list[tuple[str, bool]]:
    return [
        (f"orders ≥ 0.7 × baseline: {orders.throughput_ratio:.2f}", orders.throughput_ratio >= 0.7),
        (
            f"commands ≥ 0.7 × baseline: {commands.throughput_ratio:.2f}",
            commands.throughput_ratio >= 0.7,
        ),
        (f"orders ≥ 300/s: {orders.adapter.throughput:.0f}/s", orders.adapter.throughput >= 300),
        (
            f"commands ≥ 200/s: {commands.adapter.throughput:.0f}/s",
            commands.adapter.throughput >= 200,
        ),
        (
            f"added p99 (paced) ≤ 10 ms: orders {orders.added_p99_ms:+.1f} ms,"
            f" commands {commands.added_p99_ms:+.1f} ms",
            max(orders.added_p99_ms, commands.added_p99_ms) <= 10,
        ),
        (
            f"peak RSS with a {big.size_mb:.0f} MB PDF ≤ {big.target_mb:.0f} MB:"
            f" {big.peak_rss_mb:.0f} MB",
            big.peak_rss_mb <= big.target_mb,
        ),
    ]


async def main(args: argparse.Namespace) -> int:
    load = os.getloadavg()
    print(
        f"ONCOR latency {args.latency_ms} ms; {args.orders} orders; {args.commands} commands"
        f" with {args.pdf_kb} KB PDFs; paced {args.paced_rate:g}/s for {args.paced_seconds:g} s;"
        f" load average {load[0]:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    with (
        own_vhost(args.amqp_url) as amqp_url,
        tempfile.TemporaryDirectory(prefix="dezo-bench-") as work,
        emulator(Path(work) / "emulator.log") as emu,
    ):
        neighbours = {"emulator": emu.process.pid, "driver": os.getpid()}
        broker = broker_pid()
        if broker is not None:
            neighbours["broker"] = broker
        admin = EmulatorAdmin(emu.base_url)
        driver = await Driver.connect(amqp_url, admin, neighbours)
        bench = Bench(args, driver, Target(emu.api_url, emu.token, amqp_url), Path(work))
        try:
            orders = await bench.orders()
            print("\n".join(report("Orders", "order", orders)), flush=True)
            commands = await bench.commands()
            print("\n".join(report("Commands", "command", commands)), flush=True)
            big = await bench.big_pdf()
            print(
                f"Big PDF by URL: {big.size_mb:.0f} MB; consumer peak RSS"
                f" {big.peak_rss_mb:.0f} MB; outcomes {big.outcomes}"
            )
        finally:
            await driver.close()
            await admin.close()
            if args.keep_logs:
                _keep_logs(Path(work), Path(args.keep_logs))
    checked = targets(orders, commands, big)
    print("Targets:")
    for text, met in checked:
        print(f"  [{'met' if met else 'MISSED'}] {text}")
    if args.json:
        figures = {
            "settings": vars(args),
            "load_average": load,
            "orders": orders.as_dict(),
            "commands": commands.as_dict(),
            "big_pdf": big.as_dict(),
            "targets": {text: met for text, met in checked},
        }
        _save(Path(args.json), figures)
    return 0


def _keep_logs(work: Path, keep: Path) -> None:
    keep.mkdir(parents=True, exist_ok=True)
    for log in work.glob("*.log"):
        shutil.move(log, keep / log.name)


def _save(path: Path, figures: dict[str, Any]) -> None:
    path.write_text(json.dumps(_finite(figures), indent=2, ensure_ascii=False) + "\n")


def _finite(value: Any) -> Any:
    """NaN (an empty phase) as null: strict JSON readers refuse NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="orders in the backlog")
    parser.add_argument("--commands", type=int, default=1000, help="conclusion commands")
    parser.add_argument("--pdf-kb", type=int, default=100, help="inline PDF size, KiB")
    parser.add_argument("--latency-ms", type=int, default=20, help="emulator latency per call")
    parser.add_argument("--big-pdf-mb", type=int, default=50, help="PDF by URL, MiB")
    parser.add_argument("--paced-rate", type=float, default=50.0, help="messages/s when paced")
    parser.add_argument("--paced-seconds", type=float, default=4.0, help="length of paced runs")
    parser.add_argument("--log-level", default="INFO", help="DEZO_LOG_LEVEL of the adapter")
    parser.add_argument(
        "--amqp-url",
        default=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
        help="the broker; the benchmark creates and deletes a vhost of its own on it",
    )
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--keep-logs", help="move the processes' logs to this directory")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
