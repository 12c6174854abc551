"""Real adapter processes for tests: `dezo-adapter <args>` with DEZO_* settings.

`AdapterProcess` is the one way to run one; the caller says how it stops: `kill` (SIGKILL, no
grace: a crash) or `terminate` (SIGTERM, then the graceful stop is waited for).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx

from adapter.emulator.process import EmulatorProcess
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]

Stop = Literal["kill", "terminate"]


def dezo_adapter(*args: str) -> list[str]:
    """The command line of `dezo-adapter`, from the venv when it is installed there."""
    script = ROOT / ".venv" / "bin" / "dezo-adapter"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "adapter.cli", *args]


def default_env(emulator: EmulatorProcess, amqp_url: str, **settings: object) -> dict[str, str]:
    """DEZO_* variables for an adapter on this emulator and broker, defaults but for `settings`."""
    values = {"oncor_url": emulator.api_url, "oncor_token": emulator.token, "amqp_url": amqp_url}
    return {f"DEZO_{name.upper()}": str(value) for name, value in {**values, **settings}.items()}


def adapter_env(emulator: EmulatorProcess, amqp_url: str, **settings: object) -> dict[str, str]:
    """`default_env` with quick retries and short waits, for tests that provoke failures."""
    values: dict[str, object] = {
        "http_port": free_port(),
        "poll_interval": 0.5,
        "shutdown_grace": 5,
        # A new owner of an order's work waits connect + read timeout for earlier writes.
        "oncor_connect_timeout": 1,
        "oncor_read_timeout": 5,
        "oncor_retry_attempts": 2,
        "oncor_retry_max_seconds": 1,
        "oncor_search_ready_timeout": 5,
        "command_retry_delays": "[0.2, 0.5]",
        **settings,
    }
    return default_env(emulator, amqp_url, **values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_env(settings: dict[str, str]) -> dict[str, str]:
    """Our environment less any DEZO_* of the shell running the tests, plus `settings`."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("DEZO_")}
    return {**inherited, **settings}


def wait_until_ready(env: dict[str, str], seconds: float = 30) -> None:
    """Poll the adapter's /readyz (on DEZO_HTTP_PORT) until it answers 200."""
    url = f"http://127.0.0.1:{env['DEZO_HTTP_PORT']}/readyz"

    def ready() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False  # not listening yet

    wait_until(ready, within=seconds, what="the adapter ready")


class AdapterProcess:
    """`dezo-adapter <args>` (default `run`), its output appended to `log_path`."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self._env = env
        self._args = args or ("run",)
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def popen(self) -> subprocess.Popen[bytes]:
        assert self._popen is not None, "not started"
        return self._popen

    def start(self) -> AdapterProcess:
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                dezo_adapter(*self._args),
                env=process_env(self._env),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        return self

    def stop(self, how: Stop, within: float = 40) -> int:
        """Stop it as said, if still running; the exit code. A graceful stop that takes longer
        than `within` seconds is an AssertionError (after a SIGKILL)."""
        popen = self.popen
        if popen.poll() is not None:
            return popen.returncode
        popen.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
        try:
            return popen.wait(within)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
            raise AssertionError(f"{self.log_path.stem} did not stop within {within} s") from None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines."""
        return [json.loads(line) for line in self.log_text().splitlines() if line.startswith("{")]

    def said(self, message: str) -> bool:
        return any(line.get("message") == message for line in self.log_lines())

    def wait_until_logged(self, text: str, within: float = 60) -> None:
        def logged() -> bool:
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.log_path.stem} exited early:\n{self.log_text()}")
            return text in self.log_text()

        wait_until(logged, within=within, what=f"{text!r} in {self.log_path}")


@contextmanager
def adapter_process(
    env: dict[str, str], log_path: Path, *args: str, stop: Stop = "kill"
) -> Iterator[AdapterProcess]:
    """An AdapterProcess for the block; stopped as `stop` says at its end if still running."""
    process = AdapterProcess(env, log_path, *args).start()
    try:
        yield process
    finally:
        process.stop(stop)
