"""Memory for commands in flight, bounded in bytes: the broker's prefetch counts messages only.

RabbitMQ ignores a prefetch size in bytes, does not apply a changed prefetch to a consumer that
already stands (tried on 3.10), and a delivery's body is in memory before anyone can look at
it. So `DEZO_COMMAND_MEMORY_BUDGET_BYTES` (B) is split in two shares, each bounded before the
bytes arrive:

    bodies received, not yet settled   prefetch x DEZO_COMMAND_MAX_BYTES <= 7/8 B
                                       (`prefetch_within`: the prefetch is lowered to fit)
    copies made while carrying one out COPIES_PER_BODY_BYTE x body, for every command admitted
    (JSON text, base64, ONCOR request) by `CommandBudget.holding` before it is read  <= 1/8 B

Bodies get the larger share because the prefetch is what lets commands run at once (ONCOR's
latency, not CPU, bounds each one): with B/2 for bodies only 10 fitted by default, and each
waited for its four ONCOR calls (78 commands/s where 18 in flight gave 101/s, bench/). Copies
are made only by the commands being carried out, and a command too large for their share still
runs, alone.

Commands are admitted in arrival order (an order's line relies on it), each once enough
earlier ones are settled; one alone is always admitted however large, so nothing starves.
Small commands cost little: many run at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
