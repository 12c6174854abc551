"""Memory and disk bounded in bytes (issue 12): the prefetch fits the budget, commands are
admitted in arrival order while their copies fit, and the download spool refuses to overflow."""

from __future__ import annotations

import asyncio

import pytest

from adapter.config import load_settings
from adapter.consumer.budget import COPIES_PER_BODY_BYTE, CommandBudget, prefetch_within
from adapter.consumer.spool import Spool, SpoolFull

MIB = 2**20


def test_the_prefetch_is_lowered_until_bodies_at_the_limit_fill_their_share() -> None:
    assert prefetch_within(256 * MIB, 12 * MIB, 64) == 18  # 7/8 of the budget
    assert prefetch_within(256 * MIB, 1 * MIB, 64) == 64  # small commands: as configured
    assert prefetch_within(8 * MIB, 12 * MIB, 64) == 1  # never none
    defaults = load_settings(oncor_token="t")
    assert defaults.command_window.first_lane * defaults.command_max_bytes <= (
        defaults.command_memory_budget_bytes * 7 // 8
    )


async def test_commands_wait_until_their_copies_fit_and_go_in_arrival_order() -> None:
    budget = CommandBudget(8 * 10 * COPIES_PER_BODY_BYTE)  # copies of 10 body bytes fit
    started: list[str] = []
    release = {name: asyncio.Event() for name in ("big", "second", "small")}

    async def command(name: str, size: int) -> None:
        async with budget.holding(size):
            started.append(name)
            await release[name].wait()

    tasks = [
        asyncio.create_task(command("big", 8)),
        asyncio.create_task(command("second", 8)),  # 16 > 10: waits for "big"
        asyncio.create_task(command("small", 1)),  # would fit, but comes after "second"
    ]
    await asyncio.sleep(0.01)
    assert started == ["big"]
    release["big"].set()
    await asyncio.sleep(0.01)
    assert started == ["big", "second", "small"]
    release["second"].set()
    release["small"].set()
    await asyncio.gather(*tasks)
    assert budget.in_use == 0


async def test_a_command_larger_than_the_budget_still_runs_alone() -> None:
    budget = CommandBudget(8)
    async with budget.holding(1000):
        assert budget.in_use == 1000 * COPIES_PER_BODY_BYTE
    assert budget.in_use == 0


async def test_a_cancelled_wait_lets_the_next_command_in() -> None:
    budget = CommandBudget(8 * 10 * COPIES_PER_BODY_BYTE)
    entered = asyncio.Event()

    async def hold(size: int, until: asyncio.Event) -> None:
        async with budget.holding(size):
            entered.set()
            await until.wait()

    done = asyncio.Event()
    first = asyncio.create_task(hold(8, done))
    await entered.wait()
    entered.clear()
    stuck = asyncio.create_task(hold(8, done))
    after = asyncio.create_task(hold(1, done))
    await asyncio.sleep(0.01)
    stuck.cancel()
    await asyncio.sleep(0.01)
    assert entered.is_set()  # `after` is in: nothing waits on the cancelled one
    done.set()
    await asyncio.gather(first, after)
    assert budget.in_use == 0


def test_downloads_are_limited_and_never_waited_for() -> None:
    spool = Spool(max_bytes=10, max_downloads=2)
    with (
        spool.download_slot(),
        spool.download_slot(),
        pytest.raises(SpoolFull, match="all 2 download slots"),
    ):
        spool.download_slot().__enter__()
    with spool.download_slot():  # freed when they ended
        assert spool.downloads == 1


def test_the_spool_refuses_a_write_over_its_limit_and_frees_deleted_files() -> None:
    spool = Spool(max_bytes=10, max_downloads=2)
    with spool.new_file() as first:
        first.write(b"x" * 6)
        with spool.new_file() as second, pytest.raises(SpoolFull):
            second.write(b"y" * 5)
        assert spool.in_use == 6
        path = first.path
    assert spool.in_use == 0 and not path.exists()
