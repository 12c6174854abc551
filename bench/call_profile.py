"""Where the adapter's CPU per message goes, beside the baseline's: one phase of bench/run.py
with both processes under cProfile.

    python bench/call_profile.py commands [--commands 2000] [--paced 200] [--top 25]
    python bench/call_profile.py orders [--orders 10000] [--paced 200] [--top 25]

The phase runs as bench/run.py runs it (the same stands, turns, sizes and settings), every
process under test started under cProfile (bench/adapter_run.PROFILE_DIR_VARIABLE). What a
process does to start and stop is left out: each one is also profiled started and stopped with
no work, and that profile is subtracted. What a process does on a clock through the phase stays
in (its heartbeat; a poller's searches every 0.2 s, also while the other stand has its turn).
Printed, per message: the function calls, the busy time under the profiler (the event loop's
waits in epoll left out) by where it is spent, and the functions whose calls per message differ
most.

cProfile makes every Python call dearer, so its times are shares, not durations (about twice the
real CPU of the adapter's Python), and each resumption of a coroutine counts as a call.
bench/run.py gives the durations; bench/own_cost.py the cost of the publisher's parts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pstats
import re
import sys
import sysconfig
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import run
from bench.adapter_run import PROFILE_DIR_VARIABLE, profile_stem

ROOT = Path(__file__).resolve().parents[1]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
ADAPTER = ROOT / "adapter"
EVENT_LOOP_WAIT = "<method 'poll' of 'select.epoll' objects>"
#: Libraries counted together: the group, and the packages in it.
LIBRARIES = {
    "aio-pika, aiormq, pamqp": ("aio_pika", "aiormq", "pamqp"),
    "aiohttp, yarl, multidict": ("aiohttp", "yarl", "multidict", "propcache"),
    "pydantic": ("pydantic", "pydantic_core"),
}
LIBRARY_GROUPS = {package: group for group, packages in LIBRARIES.items() for package in packages}
#: The stdlib modules named on their own; the rest is "stdlib, other".
STDLIB_GROUPS = {
    "asyncio": "asyncio",
    "selectors.py": "asyncio",
    "logging": "logging",
    "json": "json",
}
#: The built-ins that are asyncio's C part: a task's step runs in a Context's `run`.
ASYNCIO_BUILT_INS = ("_asyncio", "of '_contextvars.Context' objects")
#: The processes under test in each phase: the adapter's, the baseline's (bench/adapter_run).
PROCESSES = {
    "orders": ("adapter publisher", "baseline orders"),
    "commands": ("adapter consumer", "baseline commands"),
}

Key = tuple[str, int, str]  # cProfile's: file, line, function


class Profile:
    """Calls and own time per function, of one process or of one minus another."""

    def __init__(self, calls: Counter[Key], seconds: Counter[Key]) -> None:
        self.calls = calls
        self.seconds = seconds

    @classmethod
    def read(cls, path: Path) -> Profile:
        stats: dict[Key, Any] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
        calls, seconds = Counter[Key](), Counter[Key]()
        for (file, line, name), (_, total_calls, own_seconds, _, _) in stats.items():
            # A built-in may be named with its address, which differs from process to process.
            key = (file, line, re.sub(r" at 0x[0-9a-f]+", "", name))
            calls[key] += total_calls
            seconds[key] += own_seconds
        return cls(calls, seconds)

    def minus(self, other: Profile) -> Profile:
        calls, seconds = Counter(self.calls), Counter(self.seconds)
        calls.subtract(other.calls)
        seconds.subtract(other.seconds)
        return Profile(calls, seconds)

    def busy_by_group(self) -> Counter[str]:
        groups = Counter[str]()
        for key, seconds in self.seconds.items():
            if key[2] != EVENT_LOOP_WAIT:
                groups[group_of(key)] += seconds
        return groups


def group_of(key: Key) -> str:
    """Where a function belongs: the adapter's package, a library, a part of the stdlib."""
    path, _, name = key
    if path == "~":  # a built-in: told apart by what it is a method of
        if any(part in name for part in ASYNCIO_BUILT_INS):
            return "asyncio"
        if "pydantic_core" in name:
            return "pydantic"
        return "sockets" if "socket" in name else "built-ins"
    if path.startswith("<frozen "):
        return "stdlib, other"
    file = Path(path)
    if library := installed(file):
        return LIBRARY_GROUPS.get(library[0], library[0].removesuffix(".py"))
    if file.is_relative_to(STDLIB):
        return STDLIB_GROUPS.get(file.relative_to(STDLIB).parts[0], "stdlib, other")
    if file.is_relative_to(ADAPTER):
        return "/".join(("adapter", *file.relative_to(ADAPTER).parts[:-1])[:2])
    return file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else file.name


def shown(key: Key) -> str:
    path, line, name = key
    if path == "~":
        return name
    file = Path(path)
    where = "/".join(installed(file)) or next(
        (str(file.relative_to(base)) for base in (STDLIB, ROOT) if file.is_relative_to(base)),
        path,  # e.g. <frozen abc>
    )
    return f"{where}:{line}({name})"


def installed(file: Path) -> tuple[str, ...]:
    """The file's path inside site-packages; empty if it is not installed there."""
    parts = file.parts
    return parts[parts.index("site-packages") + 1 :] if "site-packages" in parts else ()


@contextlib.contextmanager
def profiled(directory: Path) -> Iterator[None]:
    """Processes under test started meanwhile run under cProfile, writing into `directory`."""
    os.environ[PROFILE_DIR_VARIABLE] = str(directory)
    try:
        yield
    finally:
        del os.environ[PROFILE_DIR_VARIABLE]


def profile_of(directory: Path, process: str) -> Profile:
    found = list(directory.glob(f"{profile_stem(process)}-*.prof"))
    if len(found) != 1:
        raise RuntimeError(
            f"{len(found)} profiles of the {process} process in {directory}, not one: it was"
            " stopped before it could write its profile, or started more than once"
        )
    return Profile.read(found[0])


async def measure(args: argparse.Namespace, work: Path) -> list[str]:
    sizes = {"orders": args.orders, "commands": args.commands, "paced": args.paced}
    bench_args = run.parse_args(
        [*(f"--{name}={size}" for name, size in sizes.items()), f"--amqp-url={args.amqp_url}"]
    )
    idle_dir, phase_dir = work / "idle", work / "phase"
    idle_dir.mkdir()
    phase_dir.mkdir()
    async with contextlib.AsyncExitStack() as stack:
        adapter = await run.new_stand(stack, "adapter", args.amqp_url, work)
        baseline = await run.new_stand(stack, "baseline", args.amqp_url, work)
        bench = run.Bench(bench_args, adapter, baseline, work)
        with profiled(idle_dir):  # started and stopped at once: their start and stop only
            if args.phase == "orders":
                with bench.publisher(adapter), bench.baseline_orders():
                    pass
            else:
                with bench.consumer(adapter), bench.baseline_commands():
                    pass
        with profiled(phase_dir):
            if args.phase == "orders":
                comparison, _ = await bench.orders()
            else:
                comparison = await bench.commands()
    count = {
        "adapter": comparison.adapter.messages + comparison.adapter_paced.messages,
        "baseline": comparison.baseline.messages + comparison.baseline_paced.messages,
    }
    names = dict(zip(("adapter", "baseline"), PROCESSES[args.phase], strict=True))
    work_only = {
        who: profile_of(phase_dir, name).minus(profile_of(idle_dir, name))
        for who, name in names.items()
    }
    return report(args, count, work_only)


def report(
    args: argparse.Namespace, count: dict[str, int], profiles: dict[str, Profile]
) -> list[str]:
    unit = args.phase[:-1]  # order, command
    a, b = profiles["adapter"], profiles["baseline"]
    na, nb = count["adapter"], count["baseline"]

    def row(label: str, adapter: float, baseline: float, digits: int) -> str:
        difference = adapter - baseline
        return (
            f"  {label:<40}{adapter:>10,.{digits}f}{baseline:>10,.{digits}f}"
            f"{difference:>+12,.{digits}f}"
        )

    busy_a, busy_b = a.busy_by_group(), b.busy_by_group()
    busy_ms = {  # per message
        group: (1000 * busy_a[group] / na, 1000 * busy_b[group] / nb)
        for group in set(busy_a) | set(busy_b)
    }
    lines = [
        f"{args.phase} under cProfile: {na:,} {args.phase} by the adapter, {nb:,} by the baseline;"
        " start and stop left out",
        f"  {'per ' + unit:<40}{'adapter':>10}{'baseline':>10}{'difference':>12}",
        row("function calls", sum(a.calls.values()) / na, sum(b.calls.values()) / nb, 0),
        row(
            "busy ms, profiled",
            1000 * sum(busy_a.values()) / na,
            1000 * sum(busy_b.values()) / nb,
            3,
        ),
        "  where the busy time goes, ms:",
    ]
    groups = sorted(
        (group for group, figures in busy_ms.items() if max(map(abs, figures)) >= 0.0005),
        key=lambda group: -abs(busy_ms[group][0] - busy_ms[group][1]),
    )
    lines += [row(f"  {group}", *busy_ms[group], 3) for group in groups[: args.top]]
    functions = set(a.calls) | set(b.calls)
    differences = sorted(functions, key=lambda key: -abs(a.calls[key] / na - b.calls[key] / nb))
    lines.append(f"  calls per {unit} (adapter, baseline, difference), the largest differences:")
    for key in differences[: args.top]:
        per_a, per_b = a.calls[key] / na, b.calls[key] / nb
        lines.append(f"  {per_a:10,.1f}{per_b:10,.1f}{per_a - per_b:+10,.1f}  {shown(key)}")
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("phase", choices=sorted(PROCESSES))
    parser.add_argument("--orders", type=int, default=10000, help="orders in each backlog")
    parser.add_argument("--commands", type=int, default=2000, help="commands in each burst")
    parser.add_argument("--paced", type=int, default=200, help="messages in each paced run")
    parser.add_argument(
        "--top", type=int, default=25, help="groups shown, and functions shown (each at most)"
    )
    run.add_broker_argument(parser)
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="dezo-call-profile-") as work:
        print("\n".join(await measure(args, Path(work))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
