"""Flow control toward ONCOR, shared by every caller in the process (poller, consumer, probes).

Three limits, checked before each HTTP exchange: at most `max_concurrency` exchanges in flight;
at most `max_rps` started per second, if set; and none while ONCOR's last `Retry-After` (on a
429 or a 503) runs, whichever caller got it.
"""

from __future__ import annotations

import asyncio
import time

#: Longest pause a Retry-After imposes; the circuit breaker handles longer outages.
MAX_PAUSE = 60.0


class FlowControl:
    """`async with flow:` around one exchange with ONCOR."""

    def __init__(self, max_concurrency: int, max_rps: float | None = None) -> None:
        self._slots = asyncio.Semaphore(max_concurrency)
        self._spacing = 1.0 / max_rps if max_rps else 0.0
        self._next_start = 0.0
        self._resume_at = 0.0

    def pause(self, seconds: float) -> None:
        """ONCOR asked to be left alone for `seconds`: no caller starts an exchange until then."""
        self._resume_at = max(self._resume_at, time.monotonic() + min(seconds, MAX_PAUSE))

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        try:
            await self._wait_turn()
        except BaseException:
            self._slots.release()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._slots.release()

    async def _wait_turn(self) -> None:
        now = time.monotonic()
        while self._resume_at > now:  # a later Retry-After may extend the pause meanwhile
            await asyncio.sleep(self._resume_at - now)
            now = time.monotonic()
        if self._spacing:
            start = max(now, self._next_start)
            self._next_start = start + self._spacing
            if start > now:
                await asyncio.sleep(start - now)
