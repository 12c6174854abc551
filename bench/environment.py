"""What the benchmark runs against: the ONCOR emulator, a vhost of its own, a file server."""

from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from adapter.emulator.options import EmulatorOptions
from adapter.emulator.process import EmulatorProcess, start_emulator_process

EMULATOR_TOKEN = "bench-token"


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(
        ["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=60
    ).stdout


def broker_pid() -> int | None:
    """The local RabbitMQ node's process, to read its CPU; None when it is not on this host."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if b"beam.smp" in command and b"rabbit\x00boot" in command:
            return int(entry.name)
    return None


@contextmanager
def own_vhost(broker_url: str) -> Iterator[str]:
    """A fresh vhost on the broker, deleted afterwards with everything in it; yields its URL."""
    vhost = f"bench-{uuid.uuid4().hex[:10]}"
    user = urlsplit(broker_url).username or "guest"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield urlunsplit(urlsplit(broker_url)._replace(path="/" + quote(vhost, safe="")))
    finally:
        rabbitmqctl("delete_vhost", vhost)


@contextmanager
def emulator(log_path: Path) -> Iterator[EmulatorProcess]:
    """The emulator as a process of its own, its error output in `log_path`."""
    # Searches are ready almost at once: the benchmark measures the adapter, not the wait.
    options = EmulatorOptions(port=0, orders=0, token=EMULATOR_TOKEN, job_ready_after=0.02)
    with log_path.open("ab") as log, start_emulator_process(options, stderr=log) as process:
        yield process


class EmulatorAdmin:
    """The emulator's /admin/ API, as far as the benchmark needs it."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=f"{base_url}/admin/", timeout=120)

    async def reset(self, latency_ms: int, **faults: Any) -> None:
        """Empty, no faults but the per-call latency (and `faults`), a fresh call log."""
        await self._send("POST", "reset")
        await self._send("POST", "faults", {"latency_ms": latency_ms, **faults})
        await self._send("DELETE", "calls")

    async def add_orders(self, count: int) -> list[str]:
        seeded = await self._send("POST", "orders", {"count": count})
        ids: list[str] = seeded["ids"]
        return ids

    async def clear_calls(self) -> None:
        await self._send("DELETE", "calls")

    async def call_counts(self) -> dict[str, int]:
        stats = await self._send("GET", "stats")
        calls: dict[str, int] = stats["calls"]
        return calls

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, body: Any = None) -> Any:
        response = await self._http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None


@contextmanager
def file_server(files: dict[str, Path]) -> Iterator[str]:
    """Serves `files` by name over HTTP on 127.0.0.1 (claim-check URLs); yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            path = files.get(self.path.lstrip("/"))
            if path is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(path.stat().st_size))
            self.end_headers()
            with path.open("rb") as file:
                shutil.copyfileobj(file, self.wfile, 1 << 20)

    server = _QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
