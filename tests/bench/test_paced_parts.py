"""A paced run read in consecutive parts: a stall of the shared broker moves the p99 of the
whole run, and of its own part only."""

from __future__ import annotations

import pytest

from bench.stats import PACED_PARTS, LatencyResult


def test_one_stall_decides_the_whole_runs_p99_and_one_parts_only() -> None:
    quiet = [0.1] * 100
    stalled = [*quiet[:50], 1.0, 1.0, *quiet[52:]]  # two late messages in the third part
    result = LatencyResult.of("commands/adapter", 40, stalled)
    assert result.latency.p99 == pytest.approx(1000)
    assert PACED_PARTS == 5
    assert result.p99_by_part() == pytest.approx([100, 100, 1000, 100, 100])


def test_a_run_shorter_than_its_parts_has_none() -> None:
    assert LatencyResult.of("orders/adapter", 50, [0.1] * (PACED_PARTS - 1)).p99_by_part() == []
