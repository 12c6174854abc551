"""The operations port: `/metrics`, `/healthz` (alive, loops not stuck), `/readyz` (can work)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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


def health_app(health: Health) -> Starlette:
    async def metrics_endpoint(request: Request) -> Response:
        health.ready()  # keeps dezo_ready current for scrapers that never ask /readyz
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        ok, checks = health.alive()
        return JSONResponse({"alive": ok, "checks": checks}, status_code=200 if ok else 503)

    async def readyz(request: Request) -> Response:
        ok, checks = health.ready()
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    return Starlette(
        routes=[
            Route("/metrics", metrics_endpoint),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ]
    )


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside the adapter's event loop: the runner, not uvicorn, owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def health_server(health: Health, port: int) -> uvicorn.Server:
    """A server for the operations port, to run as a task in the adapter's loop."""
    config = uvicorn.Config(
        health_app(health),
        host="0.0.0.0",
        port=port,
        log_level="warning",
        log_config=None,  # uvicorn's own config would print plain text past our JSON handler
        access_log=False,
        lifespan="off",
    )
    return _EmbeddedServer(config)
