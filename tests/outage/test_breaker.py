"""The circuit breaker on its own, with a probe the test controls: when it opens, how it probes,
when it closes, and what it tells the metrics and the log."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import pytest

from adapter.oncor.breaker import BreakerPolicy, CircuitBreaker, CircuitObserver, CircuitState
from adapter.oncor.errors import OncorRejected, OncorUnavailable

FAST = BreakerPolicy(failures=3, first_probe=0.04, max_probe_interval=0.16)


def failure() -> OncorUnavailable:
    return OncorUnavailable("rc/get", "HTTP 503", status=503, maybe_applied=False)


class FakeOncor:
    """The breaker's probe: fails while `down` (or refuses, if `refusing`), noting each probe."""

    def __init__(self) -> None:
        self.down = True
        self.refusing = False
        self.probed_at: list[float] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._probed = asyncio.Event()

    async def probe(self) -> None:
        self.probed_at.append(time.monotonic())
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self._probed.set()
        try:
            await asyncio.sleep(0.01)
        finally:
            self.in_flight -= 1
        if self.refusing:
            raise OncorRejected("directory/get", "AccessDenied", "no", None)
        if self.down:
            raise failure()

    async def probes(self, count: int) -> None:
        """Return once ONCOR has been probed `count` times in all."""
        async with asyncio.timeout(10):
            while len(self.probed_at) < count:
                self._probed.clear()
                await self._probed.wait()


def opened(oncor: FakeOncor, observer: CircuitObserver | None = None) -> CircuitBreaker:
    breaker = CircuitBreaker(oncor.probe, FAST, observer)
    for _ in range(FAST.failures):
        breaker.failed(failure())
    assert breaker.is_open
    return breaker


async def test_a_run_of_transient_failures_across_calls_opens_the_circuit() -> None:
    breaker = CircuitBreaker(FakeOncor().probe, FAST)
    for _ in range(FAST.failures - 1):
        breaker.failed(failure())
    assert breaker.state == "closed"
    breaker.failed(failure())
    assert breaker.state == "open" and breaker.is_open
    await breaker.aclose()


async def test_an_answer_between_failures_keeps_the_circuit_closed() -> None:
    breaker = CircuitBreaker(FakeOncor().probe, FAST)
    for _ in range(3):
        for _ in range(FAST.failures - 1):
            breaker.failed(failure())
        breaker.answered()
    assert breaker.state == "closed"


async def test_one_probe_at_a_time_until_oncor_answers_then_the_circuit_closes() -> None:
    oncor = FakeOncor()
    breaker = opened(oncor)
    await oncor.probes(4)
    assert breaker.is_open
    oncor.down = False
    async with asyncio.timeout(5):
        await breaker.wait_closed()
    assert breaker.state == "closed"
    assert oncor.most_in_flight == 1
    probes = len(oncor.probed_at)
    await asyncio.sleep(3 * FAST.max_probe_interval)  # a closed circuit probes no more
    assert len(oncor.probed_at) == probes


async def test_probes_back_off_exponentially_with_jitter_up_to_the_cap() -> None:
    oncor = FakeOncor()
    started = time.monotonic()
    breaker = opened(oncor)
    await oncor.probes(7)
    await breaker.aclose()
    gaps = [later - earlier for earlier, later in itertools.pairwise([started, *oncor.probed_at])]
    intervals = [min(FAST.first_probe * 2**step, FAST.max_probe_interval) for step in range(7)]
    # Each wait is drawn from the upper half of its interval; the probe itself takes 10 ms.
    assert all(gap >= interval / 2 for gap, interval in zip(gaps, intervals, strict=True)), gaps
    assert max(gaps) < FAST.max_probe_interval + 0.5, gaps
    assert len({round(gap, 4) for gap in gaps[3:]}) > 1  # jittered, not a fixed beat


async def test_a_refusal_from_oncor_is_an_answer_and_closes_the_circuit() -> None:
    oncor = FakeOncor()
    oncor.refusing = True
    breaker = opened(oncor)
    async with asyncio.timeout(5):
        await breaker.wait_closed()
    assert breaker.state == "closed"


async def test_an_answer_to_any_call_closes_the_circuit_and_stops_the_probes() -> None:
    oncor = FakeOncor()
    breaker = opened(oncor)
    breaker.answered()
    assert breaker.state == "closed"
    await asyncio.sleep(3 * FAST.first_probe)
    assert oncor.probed_at == []


async def test_wait_closed_and_wait_open_return_when_the_circuit_gets_there() -> None:
    oncor = FakeOncor()
    breaker = CircuitBreaker(oncor.probe, FAST)
    opening = asyncio.create_task(breaker.wait_open())
    async with asyncio.timeout(0.1):
        await breaker.wait_closed()
    await asyncio.sleep(0)
    assert not opening.done()

    for _ in range(FAST.failures):
        breaker.failed(failure())
    closing = asyncio.create_task(breaker.wait_closed())
    async with asyncio.timeout(0.1):
        await opening
        await breaker.wait_open()
    assert not closing.done()
    oncor.down = False
    async with asyncio.timeout(5):
        await closing


async def test_the_observer_sees_every_change_and_the_time_spent_open() -> None:
    changes: list[tuple[CircuitState, CircuitState, float]] = []
    oncor = FakeOncor()
    started = time.monotonic()
    breaker = opened(oncor, observer=lambda *change: changes.append(change))
    await oncor.probes(2)
    oncor.down = False
    await breaker.wait_closed()
    outage = time.monotonic() - started

    states = [state for state, _, _ in changes]
    assert states == ["open", "half_open", "open", "half_open", "closed"]
    assert [previous for _, previous, _ in changes] == ["closed", *states[:-1]]
    time_open = sum(seconds for _, previous, seconds in changes if previous != "closed")
    assert time_open == pytest.approx(outage, abs=0.05)


async def test_one_log_line_when_it_opens_and_one_when_it_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="adapter.oncor.breaker")
    oncor = FakeOncor()
    breaker = opened(oncor)
    for _ in range(20):  # calls in flight when it opened fail too
        breaker.failed(failure())
    await oncor.probes(3)
    oncor.down = False
    await breaker.wait_closed()

    lines = [record for record in caplog.records if record.levelno >= logging.INFO]
    assert [(record.levelname, record.getMessage()) for record in lines] == [
        ("WARNING", "ONCOR circuit opened: no calls to ONCOR but a probe until it answers"),
        ("INFO", "ONCOR circuit closed: ONCOR answers again"),
    ]
