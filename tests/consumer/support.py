"""What runs beside the consumer in its tests: an HTTP proxy that can swallow ONCOR's answers,
and a reading of a process's memory."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]


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


def peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set size (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/<pid>/status")
