"""The benchmark runs end to end on a small size and writes every figure it promises.

Timings are not checked: a benchmark, not a timed test (see bench/run.py and the README).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.broker import Broker

ROOT = Path(__file__).resolve().parents[2]
PHASE_KEYS = {"adapter", "baseline", "adapter_paced", "baseline_paced"}
FIGURES = {"throughput", "cpu_seconds_per_1000", "peak_rss_mb", "oncor_calls_per_message"}


@pytest.mark.slow
def test_bench_runs_on_a_small_size(broker: Broker, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    small = ["--orders", "30", "--commands", "10", "--paced", "10", "--big-pdf-mb", "1"]
    where = ["--amqp-url", broker.url, "--json", str(out)]
    subprocess.run(
        [sys.executable, "bench/run.py", *small, *where],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=240,
    )
    figures = json.loads(out.read_text())
    assert len(figures["load_average"]) == 3
    for phase in ("orders", "commands"):
        assert figures[phase].keys() >= PHASE_KEYS
        assert {"throughput_ratio", "added_p99_ms"} <= figures[phase].keys()
        for who in ("adapter", "baseline"):
            assert figures[phase][who].keys() >= FIGURES
            assert "broker" in figures[phase][who]["neighbours_cpu"]
        assert figures[phase]["adapter_paced"]["messages"] == 10
        assert len(figures[phase]["adapter_paced"]["p99_by_part"]) == 5  # of 2 messages each
        assert len(figures[phase]["added_p99_ms_by_part"]) == 5
        assert figures[phase]["added_p99_ms_median_of_parts"] is not None
    faults = figures["orders_write_faults"]
    assert {"throughput_ratio", "announced_again"} <= faults.keys()
    assert faults["adapter"]["messages"] == 30
    assert figures["big_pdf"]["outcomes"] == {"command.succeeded.order.conclusion": 1}


@pytest.mark.slow
def test_own_cost_runs_on_a_small_size() -> None:
    done = subprocess.run(
        [sys.executable, "bench/own_cost.py", "--pages", "2", "--runs", "1"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    header, whole, *parts = done.stdout.splitlines()
    assert "200 orders a run" in header
    words = whole.split()
    assert words[:3] == ["all", "of", "it"] and float(words[3]) > 0 and words[4] == "µs"
    assert [part.split()[0] for part in parts] == ["mapping", "message", "spans", "metrics"]
    for part in parts:
        _, cost, unit, *_ = part.split()
        assert unit == "µs" and float(cost) == float(cost), part  # a figure, not NaN


@pytest.mark.slow
def test_call_profile_runs_on_a_small_size(broker: Broker) -> None:
    small = ["commands", "--commands", "10", "--paced", "10", "--top", "40"]
    done = subprocess.run(
        [sys.executable, "bench/call_profile.py", *small, "--amqp-url", broker.url],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=240,
    )
    header, columns, calls, busy, groups_title, *rest = done.stdout.splitlines()
    assert "30 commands by the adapter, 30 by the baseline" in header  # 2 bursts and the paced
    assert columns.split() == ["per", "command", "adapter", "baseline", "difference"]
    figures = {}
    for row, label in ((calls, "function calls"), (busy, "busy ms, profiled")):
        assert row.strip().startswith(label)
        figures[label] = [float(x.replace(",", "")) for x in row.split()[-3:]]
    adapter, baseline, _ = figures["function calls"]
    # Start-up left out: importing their modules alone makes about 550,000 and 190,000 calls,
    # 18,000 and 6,000 per command here. (Times over so few commands are as noisy as a start.)
    assert 0 < adapter < 10_000 and 0 < baseline < 6_000, calls
    assert all(math.isfinite(figure) for figure in figures["busy ms, profiled"]), busy
    assert groups_title.strip() == "where the busy time goes, ms:"
    (functions_at,) = [i for i, line in enumerate(rest) if line.startswith("  calls per command")]
    groups = {line.rsplit(maxsplit=3)[0].strip(): line for line in rest[:functions_at]}
    assert {"adapter/consumer", "bench/baseline.py", "asyncio"} <= groups.keys()
    assert groups["adapter/consumer"].split()[-2] == "0.000"  # the baseline runs none of it
    assert len(rest[functions_at + 1 :]) == 40
