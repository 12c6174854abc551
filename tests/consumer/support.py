"""Test doubles that run beside the consumer: a file server for claim-check URLs, an HTTP proxy
that can swallow ONCOR's answers, and the consumer as a real process."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.processes import adapter_process

ROOT = Path(__file__).resolve().parents[2]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client hanging up on a refused download is the point of some tests


class FileServer:
    """Serves registered files over HTTP on 127.0.0.1, plus a few ways to fail.

    /files/<name>         the file (bytes or a path on disk), with Content-Length
    /unsized/<n>          n bytes with no Content-Length (the body ends when the connection does)
    /slow                 answers after 5 s
    /status/<code>        an empty answer with that status
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes | Path] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                kind, _, arg = self.path.lstrip("/").partition("/")
                if kind == "files" and arg in files:
                    self._send_file(files[arg])
                elif kind == "unsized":
                    self.send_response(200)
                    self.end_headers()
                    remaining = int(arg)
                    while remaining > 0:
                        piece = min(remaining, 65536)
                        self.wfile.write(b"x" * piece)
                        remaining -= piece
                elif kind == "slow":
                    time.sleep(5)
                    self.send_response(200)
                    self.end_headers()
                elif kind == "status":
                    self.send_response(int(arg))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def _send_file(self, content: bytes | Path) -> None:
                size = content.stat().st_size if isinstance(content, Path) else len(content)
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                if isinstance(content, Path):
                    with content.open("rb") as file:
                        shutil.copyfileobj(file, self.wfile, 1 << 20)
                else:
                    self.wfile.write(content)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.authority = f"127.0.0.1:{self._server.server_address[1]}"
        self.base_url = f"http://{self.authority}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, name: str, content: bytes | Path) -> str:
        self.files[name] = content
        return f"{self.base_url}/files/{name}"

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class HoldingProxy:
    """A reverse proxy to the emulator that, while `holding`, never answers document creations.

    ONCOR has created the document by then: the consumer behind the proxy is stuck between
    the ONCOR write and its ack, exactly where a crash hurts most.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.holding = threading.Event()
        self.held = threading.Event()  # a document creation was swallowed
        self._closing = threading.Event()
        app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    async def _forward(self, request: Request) -> Response:
        async with httpx.AsyncClient(timeout=120) as client:
            upstream = await client.request(
                request.method,
                f"{self.upstream}{request.url.path}",
                params=request.query_params,
                content=await request.body(),
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            )
        if "tm66/order/add" in request.url.path and self.holding.is_set():
            self.held.set()
            await asyncio.to_thread(self._closing.wait)  # the consumer never hears back
            return Response(status_code=503)
        return Response(upstream.content, upstream.status_code, media_type="application/json")

    def __enter__(self) -> HoldingProxy:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        self._server.should_exit = True
        self._thread.join(10)


@contextmanager
def consumer_process(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`dezo-adapter run --role consumer` with DEZO_* settings, logging to `log_path`."""
    with (
        log_path.open("ab") as log,
        adapter_process(env, log, "run", "--role", "consumer") as process,
    ):
        yield process


def peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set size (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/<pid>/status")
