"""Run the emulator as a real server in a child process, for tests that talk HTTP to it."""

import os
import re
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from adapter.emulator.arguments import to_argv
from adapter.emulator.options import EmulatorOptions
from adapter.emulator.protocol import API_PREFIX

_LISTENING = re.compile(r"listening on http://(?P<host>\S+):(?P<port>\d+)/")
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the directory holding `adapter/`


@dataclass
class EmulatorProcess:
    """A running emulator; a context manager that stops it on exit."""

    options: EmulatorOptions
    process: "subprocess.Popen[str]"
    base_url: str  # e.g. http://127.0.0.1:PORT

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def token(self) -> str:
        return self.options.token

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_emulator_process(
    options: EmulatorOptions,
    python: str = sys.executable,
    startup_timeout: float = 20.0,
    stderr: IO[bytes] | None = None,
) -> EmulatorProcess:
    """Start `dezo-adapter emulator` (as `python -m adapter.cli`) and return once it listens.

    Its errors go to our stderr unless `stderr` (a file) is given.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [python, "-m", "adapter.cli", "emulator", *to_argv(options)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
    )
    emulator = EmulatorProcess(options, process, base_url="")
    try:
        match = _LISTENING.search(_first_line(process, startup_timeout))
        if match is None:
            raise RuntimeError("the emulator printed something other than its listening line")
    except BaseException:
        emulator.stop()
        raise
    host = match.group("host")
    # a wildcard address is not one to connect to
    host = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
    emulator.base_url = f"http://{host}:{match.group('port')}"
    return emulator


def _first_line(process: "subprocess.Popen[str]", timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                line = process.stdout.readline()
                if not line:
                    raise RuntimeError(f"the emulator exited with code {process.wait()}")
                return line
    raise TimeoutError(f"the emulator did not start listening within {timeout} s")
