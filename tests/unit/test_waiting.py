"""`to_the_end`: a cancelled caller still lets its work finish, then is cancelled."""

from __future__ import annotations

import asyncio

import pytest

from adapter.waiting import to_the_end


async def test_returns_what_the_work_returns() -> None:
    async def work() -> str:
        await asyncio.sleep(0)
        return "done"

    assert await to_the_end(work()) == "done"


async def test_a_cancelled_caller_waits_for_the_work_then_is_cancelled() -> None:
    finished = asyncio.Event()

    async def work() -> None:
        await asyncio.sleep(0.05)
        finished.set()

    caller = asyncio.create_task(to_the_end(work()))
    await asyncio.sleep(0.01)
    caller.cancel()
    await asyncio.sleep(0.01)
    caller.cancel()  # twice: still not before the work is done
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert finished.is_set()


async def test_the_work_failing_after_the_cancel_still_cancels_the_caller() -> None:
    async def work() -> None:
        await asyncio.sleep(0.02)
        raise RuntimeError("channel closed")

    caller = asyncio.create_task(to_the_end(work()))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller


async def test_the_work_failing_uncancelled_raises_its_error() -> None:
    async def work() -> None:
        raise RuntimeError("channel closed")

    with pytest.raises(RuntimeError, match="channel closed"):
        await to_the_end(work())


async def test_a_cancelled_caller_waits_no_longer_than_its_limit() -> None:
    stuck = asyncio.Event()

    async def work() -> None:
        await stuck.wait()  # a broker that never answers

    caller = asyncio.create_task(to_the_end(work(), after_cancel=0.05))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(caller, 1)
