"""The commands of one order, one after the other, in the order they arrived.

Each command joins its order's line as it arrives (the dispatcher does, before the handler runs)
and takes its turn (`async with turn():`) for what must not interleave with the order's other
commands: looking for an earlier copy's document, and writing. The turn comes once every command
that arrived before it is done, so checks made before the turn (the order in ONCOR, inline
files) run meanwhile without letting a later command overtake.

A command about to download a file by URL steps aside first: a slow host then holds only that
command, and it queues again, at the end of the line, when its download is done.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from adapter.oncor.errors import OncorUnavailable


class OrderTurn:
    """One command's place in its order's line."""

    def __init__(self, lock: asyncio.Lock, write_horizon: float) -> None:
        self._lock = lock
        self._write_horizon = write_horizon
        # asyncio.Lock serves its waiters first come, first served: asking at once is the place.
        self._place: asyncio.Future[Literal[True]] | None = self._queue()

    def _queue(self) -> asyncio.Future[Literal[True]]:
        return asyncio.ensure_future(self._lock.acquire())

    def step_aside(self) -> None:
        """Let the order's later commands go first; the next `turn()` queues at the end."""
        place, self._place = self._place, None
        if place is None:
            return
        if place.done() and not place.cancelled():
            self._lock.release()
        else:
            place.cancel()  # asyncio.Lock hands a wake-up it loses this way to the next waiter

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[None]:
        """The order to this command alone, once the commands before it are done."""
        if self._place is None:
            self._place = self._queue()
        await self._place
        try:
            yield
        except OncorUnavailable as exc:
            if exc.maybe_applied:
                # The write may still land: the next attempt looks for it only after it would
                # have. Holding the order meanwhile keeps any other copy of this command (and
                # the order's other commands) from looking too early.
                await asyncio.sleep(self._write_horizon)
            raise
        finally:
            self.step_aside()


class OrderLines:
    """One asyncio.Lock per order while any of its commands is in flight."""

    def __init__(self, write_horizon: float) -> None:
        self._write_horizon = write_horizon
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def joined(self, order_id: str) -> AsyncIterator[OrderTurn]:
        """A place in the order's line, from now until the command is done."""
        lock = self._locks.setdefault(order_id, asyncio.Lock())
        self._users[order_id] += 1
        turn = OrderTurn(lock, self._write_horizon)
        try:
            yield turn
        finally:
            turn.step_aside()
            self._users[order_id] -= 1
            if not self._users[order_id]:
                del self._users[order_id], self._locks[order_id]
