"""Memory for commands in flight, bounded in bytes: the broker's prefetch counts messages only.

RabbitMQ ignores a prefetch size in bytes, applies a changed prefetch only to a consumer
registered after it (tried on 3.10), and a delivery's body is in memory before anyone can look
at it. So `DEZO_COMMAND_MEMORY_BUDGET_BYTES` (B) is split in two shares, each bounded before the
bytes arrive:

    bodies received, not yet settled   held bytes + prefetch of the consumer registered now
                                       x DEZO_COMMAND_MAX_BYTES <= 7/8 B (`BodiesWindow`)
    copies made while carrying one out COPIES_PER_BODY_BYTE x body, for every command admitted
    (JSON text, base64, ONCOR request) by `CommandBudget.holding` before it is read  <= 1/8 B

The bodies' bound is kept in lanes (bus.subscription): a consumer may be given only as many
commands as fit if each were of the largest size allowed, beside the bodies already held; once
it holds them all unsettled it is cancelled and the next one registered with what fits then.
With nothing held that is `prefetch_within` (18 by default); small commands held leave room for
more lanes, up to `DEZO_COMMAND_PREFETCH` in flight, and large ones for fewer. Bodies get the
larger share because commands in flight are what lets them run at once (ONCOR's latency, not
CPU, bounds each one: 18 in flight gave 168 commands/s where the baseline's 64 gave 309,
bench/). Copies are made only by the commands being carried out, and a command too large for
their share still runs, alone.

Commands are admitted in arrival order (an order's line relies on it), each once enough
earlier ones are settled; one alone is always admitted however large, so nothing starves.
Small commands cost little: many run at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import ClassVar

#: Bytes copied while one command is read and carried out, per byte of its body: the parsed
#: JSON string, the checked base64, the request to ONCOR. Measured about 3 for an inline PDF.
COPIES_PER_BODY_BYTE = 3
#: Eighths of the budget for the bodies received and not yet settled; the rest for copies.
BODIES_EIGHTHS = 7


def bodies_share(budget_bytes: int) -> int:
    return budget_bytes * BODIES_EIGHTHS // 8


def prefetch_within(budget_bytes: int, max_message_bytes: int, configured: int) -> int:
    """The configured prefetch, lowered so that that many messages at the size limit fit the
    bodies' share of the budget (at least 1)."""
    return max(1, min(configured, bodies_share(budget_bytes) // max_message_bytes))


@dataclass(frozen=True)
class BodiesWindow:
    """Commands a consumer may be given beside those it holds (a bus.subscription `Window`):
    at most `max_count` in flight, and their bodies within the bodies' share of the budget
    however large the ones still to come."""

    budget_bytes: int
    max_body_bytes: int
    max_count: int
    renews: ClassVar[bool] = True

    @property
    def first_lane(self) -> int:
        """The prefetch with nothing held: as many as fit at the size limit, at least 1."""
        return prefetch_within(self.budget_bytes, self.max_body_bytes, self.max_count)

    @property
    def smallest_lane(self) -> int:
        """A lane costs three calls to the broker: not one for every command settled."""
        return max(1, self.first_lane // 2)

    @property
    def downloads(self) -> int:
        """Deliveries that may wait on downloads by URL at once and still leave room for a
        lane of the commands that download nothing."""
        return max(1, self.max_count - self.smallest_lane)

    def lane(self, held_count: int, held_bytes: int) -> int:
        if not held_count:
            return self.first_lane
        fits = (bodies_share(self.budget_bytes) - held_bytes) // self.max_body_bytes
        lane = min(self.first_lane, fits, self.max_count - held_count)
        return lane if lane >= self.smallest_lane else 0


class CommandBudget:
    """Bytes of copies that commands being carried out may hold at once."""

    def __init__(self, budget_bytes: int) -> None:
        self.capacity = budget_bytes - bodies_share(budget_bytes)
        self.in_use = 0
        self._freed = asyncio.Condition()
        self._waiting: deque[object] = deque()

    @asynccontextmanager
    async def holding(self, body_bytes: int) -> AsyncIterator[None]:
        """Wait until the copies of a command of `body_bytes` fit, and hold them meanwhile."""
        cost = body_bytes * COPIES_PER_BODY_BYTE
        turn = object()
        async with self._freed:
            self._waiting.append(turn)
            try:
                await self._freed.wait_for(lambda: self._waiting[0] is turn and self._fits(cost))
            finally:
                self._waiting.remove(turn)
                self._freed.notify_all()  # the next in line may fit too
            self.in_use += cost
        try:
            yield
        finally:
            async with self._freed:
                self.in_use -= cost
                self._freed.notify_all()

    def _fits(self, cost: int) -> bool:
        return not self.in_use or self.in_use + cost <= self.capacity
