"""The operations port: `/metrics`, `/healthz` (alive, loops not stuck), `/readyz` (can work).

Served by aiohttp, which the ONCOR client already loads: uvicorn and starlette, kept for the
emulator, took 3.9 MB of a publisher's memory for these three routes, aiohttp's server 1.7 MB.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapter.config import ConfigError
from adapter.observability import metrics

Check = Callable[[], bool]


class Health:
    """Named checks for liveness and readiness, registered by the parts that know them."""

    def __init__(self) -> None:
        self._liveness: dict[str, Check] = {}
        self._readiness: dict[str, Check] = {}

    def add_liveness(self, name: str, check: Check) -> None:
        self._liveness[name] = check

    def add_readiness(self, name: str, check: Check) -> None:
        self._readiness[name] = check

    def alive(self) -> tuple[bool, dict[str, bool]]:
        return _evaluate(self._liveness)

    def ready(self) -> tuple[bool, dict[str, bool]]:
        ok, checks = _evaluate(self._readiness)
        metrics.ready.set(1 if ok else 0)
        return ok, checks


def _evaluate(checks: dict[str, Check]) -> tuple[bool, dict[str, bool]]:
    results = {name: bool(check()) for name, check in checks.items()}
    return all(results.values()), results


class Heartbeat:
    """A loop beats each turn; it counts as stuck when it has not beaten for `limit` seconds."""

    def __init__(self, limit: float) -> None:
        self._limit = limit
        self._last = time.monotonic()

    def beat(self) -> None:
        self._last = time.monotonic()

    def fresh(self) -> bool:
        return time.monotonic() - self._last < self._limit

    async def keep_beating(self, every: float) -> None:
        """Beat every `every` seconds: an event loop too busy to run this is stuck."""
        while True:
            self.beat()
            await asyncio.sleep(every)


def health_app(health: Health) -> web.Application:
    async def metrics_endpoint(request: web.Request) -> web.Response:
        health.ready()  # keeps dezo_ready current for scrapers that never ask /readyz
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        ok, checks = health.alive()
        return web.json_response({"alive": ok, "checks": checks}, status=200 if ok else 503)

    async def readyz(request: web.Request) -> web.Response:
        ok, checks = health.ready()
        return web.json_response({"ready": ok, "checks": checks}, status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@contextlib.asynccontextmanager
async def health_server(health: Health, port: int) -> AsyncIterator[None]:
    """The operations port, served from the adapter's event loop while the context is open; a
    port that cannot be bound fails the start (`ConfigError`, naming `DEZO_HTTP_PORT`)."""
    # The runner, not the server, owns the signals; access logs would be one line per probe. A
    # probe answers in microseconds: closing waits a second at most, well within the shutdown
    # deadline (aiohttp's default is a minute).
    runner = web.AppRunner(
        health_app(health), handle_signals=False, access_log=None, shutdown_timeout=1.0
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, "0.0.0.0", port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"DEZO_HTTP_PORT: cannot listen on {port}: {exc.strerror}") from None
        yield
    finally:
        await runner.cleanup()
