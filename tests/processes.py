"""Real adapter processes for tests: `dezo-adapter <args>` with DEZO_* settings."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from adapter.emulator.process import EmulatorProcess

ROOT = Path(__file__).resolve().parents[1]


def dezo_adapter(*args: str) -> list[str]:
    """The command line of `dezo-adapter`, from the venv when it is installed there."""
    script = ROOT / ".venv" / "bin" / "dezo-adapter"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "adapter.cli", *args]


def adapter_env(emulator: EmulatorProcess, amqp_url: str, **settings: object) -> dict[str, str]:
    """DEZO_* variables for an adapter on this emulator and broker, with quick retries."""
    values: dict[str, object] = {
        "oncor_url": emulator.api_url,
        "oncor_token": emulator.token,
        "amqp_url": amqp_url,
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
    return {f"DEZO_{name.upper()}": str(value) for name, value in values.items()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(env: dict[str, str], seconds: float = 30) -> None:
    """Poll the adapter's /readyz (on DEZO_HTTP_PORT) until it answers 200."""
    url = f"http://127.0.0.1:{env['DEZO_HTTP_PORT']}/readyz"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    raise TimeoutError(f"the adapter was not ready within {seconds}s")


def process_env(settings: dict[str, str]) -> dict[str, str]:
    """Our environment less any DEZO_* of the shell running the tests, plus `settings`."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("DEZO_")}
    return {**inherited, **settings}


@contextmanager
def adapter_process(
    env: dict[str, str], log: IO[bytes], *args: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`dezo-adapter <args>` (default `run`) writing to `log`; SIGKILLed if still running."""
    process = subprocess.Popen(
        dezo_adapter(*(args or ("run",))),
        env=process_env(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(10)
