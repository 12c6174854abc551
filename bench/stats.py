"""Figures of a benchmark phase: throughput, latency percentiles, CPU and memory of a process."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: A paced run is also read as this many consecutive parts, each with its own p99: a stall of
#: the shared broker (a quorum WAL roll-over: half a second to a second, about one per paced
#: commands run, bench/ README) decides the p99 of the whole run and of one part only.
PACED_PARTS = 5


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation between two."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc/<pid>/stat (its own, not children's)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size (VmHWM) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


class CpuMeter:
    """CPU seconds of several processes over one phase: the one under test and its neighbours.

    On a shared 2-core machine the neighbours (emulator, broker, the driver itself) take their
    part of the same CPU, so their figures explain a throughput as much as the adapter's own.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._start: dict[str, float] = {}

    def start(self) -> None:
        self._start = {name: cpu_seconds(pid) for name, pid in self._pids.items()}

    def used(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) - self._start[name] for name, pid in self._pids.items()}


@dataclass
class Latencies:
    """End-to-end latencies of one phase, in milliseconds."""

    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latencies:
        millis = [value * 1000 for value in seconds]
        return cls(
            p50=percentile(millis, 0.50),
            p95=percentile(millis, 0.95),
            p99=percentile(millis, 0.99),
            max=max(millis, default=math.nan),
        )


@dataclass
class PhaseResult:
    """What one implementation (adapter or baseline) did in one phase."""

    name: str  # e.g. "orders/adapter"
    messages: int
    seconds: float
    latency: Latencies
    cpu_seconds: float  # of the process under test, during the phase only
    peak_rss_mb: float
    neighbours_cpu: dict[str, float] = field(default_factory=dict)  # emulator, broker, driver
    oncor_calls: dict[str, int] = field(default_factory=dict)  # by API path, during the phase
    outcomes: dict[str, int] = field(default_factory=dict)  # routing keys of what came back
    #: each message's latency, seconds: what `latency` sums up, kept for `joined`
    samples: list[float] = field(default_factory=list, repr=False)

    def joined(self, later: PhaseResult) -> PhaseResult:
        """Two runs of one phase by the same process as one: their messages, time, CPU and
        latencies together, the higher peak RSS."""
        samples = self.samples + later.samples
        return PhaseResult(
            name=self.name,
            messages=self.messages + later.messages,
            seconds=self.seconds + later.seconds,
            latency=Latencies.of(samples),
            cpu_seconds=self.cpu_seconds + later.cpu_seconds,
            peak_rss_mb=max(self.peak_rss_mb, later.peak_rss_mb),
            neighbours_cpu=_summed(self.neighbours_cpu, later.neighbours_cpu),
            oncor_calls=_summed(self.oncor_calls, later.oncor_calls),
            outcomes=_summed(self.outcomes, later.outcomes),
            samples=samples,
        )

    @property
    def throughput(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else math.nan

    @property
    def cpu_per_1000(self) -> float:
        return 1000 * self.cpu_seconds / self.messages if self.messages else math.nan

    @property
    def calls_per_message(self) -> float:
        return sum(self.oncor_calls.values()) / self.messages if self.messages else math.nan

    def as_dict(self) -> dict[str, Any]:
        figures = asdict(self)
        del figures["samples"]
        figures.update(
            throughput=self.throughput,
            cpu_seconds_per_1000=self.cpu_per_1000,
            oncor_calls_per_message=self.calls_per_message,
        )
        return figures


@dataclass
class LatencyResult:
    """A paced run well below capacity: latency without queueing, for adapter vs baseline."""

    name: str
    rate: float  # messages per second offered
    messages: int
    latency: Latencies
    #: each message's latency, seconds, in the order they were sent
    samples: list[float] = field(default_factory=list, repr=False)

    @classmethod
    def of(cls, name: str, rate: float, samples: list[float]) -> LatencyResult:
        return cls(name, rate, len(samples), Latencies.of(samples), samples)

    def p99_by_part(self) -> list[float]:
        """The p99 (ms) of each of `PACED_PARTS` consecutive parts of the run."""
        size = len(self.samples) // PACED_PARTS
        if not size:
            return []
        parts = (self.samples[n * size : (n + 1) * size] for n in range(PACED_PARTS))
        return [Latencies.of(part).p99 for part in parts]

    def as_dict(self) -> dict[str, Any]:
        figures = asdict(self)
        del figures["samples"]
        figures["p99_by_part"] = self.p99_by_part()
        return figures


def _summed(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    return {key: first.get(key, 0) + second.get(key, 0) for key in first.keys() | second.keys()}


def ratio(adapter: float, baseline: float) -> float:
    return adapter / baseline if baseline else math.nan
