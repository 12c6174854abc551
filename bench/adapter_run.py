"""The processes under test: the adapter (`dezo-adapter run --role ...`) and the baseline.

Both run as real child processes, so their CPU and memory are their own (read from /proc),
apart from the benchmark's driver, the broker and the emulator.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.baseline import READY_LINE
from bench.stats import cpu_seconds, peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
ADAPTER_READY = {"publisher": "poller leadership gained", "consumer": "consuming commands"}
#: Set to a directory, it has every process under test run under cProfile (python_command).
PROFILE_DIR_VARIABLE = "BENCH_PROFILE_DIR"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Target:
    """Where the process under test works: the emulator and the benchmark's vhost."""

    oncor_url: str
    token: str
    amqp_url: str


class ChildProcess:
    """A process under test, its output in a log file; ready once a given text is logged."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_until_logged(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            if text in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not log {text!r} within {timeout} s")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.pid)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a graceful stop), then SIGKILL if it takes too long."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def python_command(name: str, *program: str) -> list[str]:
    """This Python running `program` (a script, or `-m` and a module): under cProfile, its
    profile written into PROFILE_DIR_VARIABLE's directory at exit, when that variable is set
    (bench/call_profile.py)."""
    profile_dir = os.environ.get(PROFILE_DIR_VARIABLE)
    if not profile_dir:
        return [sys.executable, *program]
    out = Path(profile_dir) / f"{profile_stem(name)}-{time.monotonic_ns()}.prof"
    return [sys.executable, "-m", "cProfile", "-o", str(out), *program]


def profile_stem(name: str) -> str:
    """How the profile files of the process `name` (e.g. "adapter consumer") begin."""
    return name.replace(" ", "-")


def adapter_command(name: str) -> list[str]:
    script = ROOT / ".venv/bin/dezo-adapter"
    if script.exists():
        return python_command(name, str(script))
    return python_command(name, "-m", "adapter.cli")


def start_adapter(
    role: str, target: Target, log_dir: Path, **settings: str | int | float
) -> ChildProcess:
    """`dezo-adapter run --role <role>` configured by DEZO_* variables; waits until it works."""
    env = {
        "DEZO_ONCOR_URL": target.oncor_url,
        "DEZO_ONCOR_TOKEN": target.token,
        "DEZO_AMQP_URL": target.amqp_url,
        "DEZO_HTTP_PORT": str(free_port()),
        **{f"DEZO_{name.upper()}": str(value) for name, value in settings.items()},
    }
    log_path = log_dir / f"adapter-{role}-{time.monotonic_ns()}.log"
    process = ChildProcess(
        f"adapter {role}",
        [*adapter_command(f"adapter {role}"), "run", "--role", role],
        env,
        log_path,
    )
    try:
        process.wait_until_logged(ADAPTER_READY[role])
    except BaseException:
        process.stop()
        raise
    return process


def start_baseline(
    role: str, target: Target, log_dir: Path, **options: str | int | float
) -> ChildProcess:
    """`python bench/baseline.py <role>`; waits until it works."""
    argv = [
        *python_command(f"baseline {role}", str(ROOT / "bench" / "baseline.py")),
        role,
        "--amqp-url",
        target.amqp_url,
        "--oncor-url",
        target.oncor_url,
        "--token",
        target.token,
    ]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    log_path = log_dir / f"baseline-{role}-{time.monotonic_ns()}.log"
    process = ChildProcess(f"baseline {role}", argv, {}, log_path)
    try:
        process.wait_until_logged(READY_LINE)
    except BaseException:
        process.stop()
        raise
    return process
