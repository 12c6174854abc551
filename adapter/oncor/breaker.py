"""The circuit breaker on ONCOR, one per process, shared by the poller and the consumer.

    closed ──(`failures` transient failures in a row, across calls)──> open
    open ──(after a jittered, exponentially growing delay)──> half_open: one probe call
    half_open ──(ONCOR answered the probe)──> closed      ──(it did not)──> open

While it is not closed no call goes to ONCOR but the probe: callers fail fast with
`OncorCircuitOpen` or wait for `wait_closed()`. Any answer from ONCOR (a 422 or a 401 too) closes
it; only 5xx, 429, timeouts and failed connections count as failures.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from adapter.oncor.errors import OncorError, OncorUnavailable

log = logging.getLogger(__name__)

CircuitState = Literal["closed", "open", "half_open"]
CIRCUIT_STATES: tuple[CircuitState, ...] = ("closed", "open", "half_open")

#: Calls ONCOR once; raises OncorUnavailable while ONCOR does not answer.
Probe = Callable[[], Awaitable[object]]
#: Told of every change: (new state, previous state, seconds spent in the previous state).
CircuitObserver = Callable[[CircuitState, CircuitState, float], None]


@dataclass(frozen=True)
class BreakerPolicy:
    failures: int = 5  # transient failures in a row that open the circuit
    first_probe: float = 0.5  # seconds from opening to the first probe
    max_probe_interval: float = 10.0  # probes never further apart than this


def _ignore_change(state: CircuitState, previous: CircuitState, seconds: float) -> None:
    return None


class CircuitBreaker:
    """Counts transient failures of ONCOR calls; while open, probes ONCOR one call at a time."""

    def __init__(
        self,
        probe: Probe,
        policy: BreakerPolicy | None = None,
        observer: CircuitObserver | None = None,
    ) -> None:
        self._probe = probe
        self._policy = policy or BreakerPolicy()
        self._observer = observer or _ignore_change
        self._state: CircuitState = "closed"
        self._since = time.monotonic()
        self._opened_at = self._since
        self._failures = 0
        self._closed = asyncio.Event()
        self._closed.set()
        self._opened = asyncio.Event()
        self._prober: asyncio.Task[None] | None = None
        self._random = random.Random()

    @property
    def state(self) -> CircuitState:
        return self._state

    @property
    def is_open(self) -> bool:
        """True while calls do not go to ONCOR (open, or half-open with a probe in flight)."""
        return self._state != "closed"

    async def wait_closed(self) -> None:
        """Return once ONCOR answers again (at once while it does)."""
        await self._closed.wait()

    async def wait_open(self) -> None:
        """Return once the circuit opens (at once while it is open): e.g. to stop consuming."""
        await self._opened.wait()

    def answered(self) -> None:
        """ONCOR answered a call (whatever the HTTP status, short of 5xx and 429)."""
        if self.is_open:
            self._close()
        self._failures = 0

    def failed(self, failure: OncorUnavailable) -> None:
        """A call failed transiently; a run of them opens the circuit."""
        self._failures += 1
        if self._state == "closed" and self._failures >= self._policy.failures:
            self._open(failure)

    async def aclose(self) -> None:
        """Stop probing (the client is closing)."""
        prober, self._prober = self._prober, None
        if prober is not None:
            prober.cancel()
            await asyncio.gather(prober, return_exceptions=True)

    def _open(self, failure: OncorUnavailable) -> None:
        self._opened_at = time.monotonic()
        self._set("open")
        self._closed.clear()
        self._opened.set()
        self._prober = asyncio.get_running_loop().create_task(self._probe_until_answered())
        log.warning(
            "ONCOR circuit opened: no calls to ONCOR but a probe until it answers",
            extra={"failures": self._failures, "error": str(failure)},
        )

    def _close(self) -> None:
        self._failures = 0
        self._set("closed")
        self._opened.clear()
        self._closed.set()
        prober, self._prober = self._prober, None
        if prober is not None and prober is not asyncio.current_task():
            prober.cancel()
        log.info(
            "ONCOR circuit closed: ONCOR answers again",
            extra={"outage_s": round(time.monotonic() - self._opened_at, 1)},
        )

    def _set(self, state: CircuitState) -> None:
        now = time.monotonic()
        previous, spent = self._state, now - self._since
        self._state, self._since = state, now
        self._observer(state, previous, spent)

    async def _probe_until_answered(self) -> None:
        interval = self._policy.first_probe
        while self.is_open:
            # Jittered, so that replicas that opened together do not probe together. ONCOR's
            # Retry-After holds the probe back too: the probe goes through flow control.
            await asyncio.sleep(self._random.uniform(interval / 2, interval))
            self._set("half_open")
            if await self._probe_answered():
                if self.is_open:  # the probe's own answer may have closed it already
                    self._close()
                return
            self._set("open")
            interval = min(interval * 2, self._policy.max_probe_interval)

    async def _probe_answered(self) -> bool:
        try:
            await self._probe()
        except OncorUnavailable as exc:
            log.debug("ONCOR probe failed", extra={"error": str(exc)})
            return False
        except OncorError:
            return True  # a refusal is an answer: ONCOR is there
        except Exception:
            log.exception("ONCOR probe failed unexpectedly; probing on")
            return False
        return True
