"""Waiting for the first of several things, as the services' loops do; and waiting to the end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def first_of(*waits: Awaitable[object], seconds: float | None = None) -> None:
    """Return as soon as one of `waits` is done (or after `seconds`); cancel the others."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


#: Seconds a cancelled caller of `to_the_end` still waits for its work: a broker call that
#: takes longer is on a connection that is gone or going (a stop must not wait for the broker).
FINISH_AFTER_CANCEL = 5.0


async def to_the_end(work: Awaitable[T], *, after_cancel: float = FINISH_AFTER_CANCEL) -> T:
    """Await `work` even if the caller is cancelled meanwhile: the cancellation takes effect
    once `work` is done, or `after_cancel` seconds later, when `work` is cancelled too.

    For calls on a broker channel. aiormq answers a channel call cancelled half-way by closing
    the channel, and a channel opened at that moment can make the broker close the whole
    connection (CHANNEL_ERROR, "expected 'channel.open'"), and with it every delivery in flight
    on it: seen on RabbitMQ 3.10 with aiormq 7.2 (tests/bus/test_cancelled_calls.py).
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await _finished(task, after_cancel)
        raise


async def _finished(task: asyncio.Future[T], seconds: float) -> None:
    """Wait `seconds` at most for `task`, then cancel it; through any further cancellation."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not task.done():
        if loop.time() >= deadline:
            task.cancel()
        try:
            await asyncio.wait({task}, timeout=max(deadline - loop.time(), 0.1))
        except asyncio.CancelledError:
            continue  # cancelled again: still not before the work is done
