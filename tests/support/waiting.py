"""The one way tests wait for something to become true: poll it until a deadline."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], T | Awaitable[T]], *, within: float, every: float = 0.1, what: str = ""
) -> T:
    """Poll `check` (plain or async) until it returns something truthy, and return that;
    AssertionError after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or 'condition'} not met within {within} s")
        await asyncio.sleep(every)


def wait_until(check: Callable[[], T], *, within: float, every: float = 0.1, what: str = "") -> T:
    """`eventually` for code that does not run in an event loop (subprocess-driven tests)."""
    deadline = time.monotonic() + within
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or 'condition'} not met within {within} s")
        time.sleep(every)
    return result
