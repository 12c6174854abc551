"""Fault injection for the ONCOR API (never /admin): latency, 5xx and 429, hangs, dropped
connections, and whole outages (every call answered 503), switched or scheduled."""

import asyncio
import logging
import random
import time
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter.emulator.protocol import error_response, oncor_path


class FaultSettings(BaseModel):
    """What to break, as set through POST /admin/faults."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # answered with one of error_statuses
    error_statuses: list[Literal[429, 500, 502, 503]] = Field(default=[500, 502, 503], min_length=1)
    retry_after: int | None = Field(default=None, ge=0)  # seconds, on injected 429 and 503
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # hang timeout_seconds first
    timeout_seconds: float = Field(default=30.0, ge=0.0)
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # done, then cut mid-answer
    # Done, then a gateway's 504: the answer is lost, not the work.
    gateway_timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # Cut before ONCOR saw the request: nothing done, and the client cannot tell.
    drop_before_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    paths: list[str] | None = None  # API path prefixes, e.g. ["patient/get"]; None = all
    # Of those, the ones that hang (e.g. reads only); None = all of `paths`.
    timeout_paths: list[str] | None = None
    # Of those, the ones answered with errors (e.g. writes only); None = all of `paths`.
    error_paths: list[str] | None = None

    def applies_to(self, path: str) -> bool:
        return _matches(path, self.paths)

    def hangs(self, path: str) -> bool:
        return _matches(path, self.timeout_paths)

    def fails(self, path: str) -> bool:
        return _matches(path, self.error_paths)


def _matches(path: str, prefixes: list[str] | None) -> bool:
    if prefixes is None:
        return True
    return any(path.startswith(prefix.lstrip("/")) for prefix in prefixes)


class OutageSchedule(BaseModel):
    """When ONCOR is down, as set through POST /admin/outage; `{}` is down now, until DELETE.

    Down from `start_in` seconds on, for `down_for` seconds (None: until switched up); with
    `up_for`, flapping: `down_for` down, `up_for` up, over and over.
    """

    model_config = ConfigDict(extra="forbid")

    start_in: float = Field(default=0.0, ge=0.0)
    down_for: float | None = Field(default=None, gt=0.0)
    up_for: float | None = Field(default=None, gt=0.0)
    retry_after: int | None = Field(default=None, ge=0)  # seconds, on every 503 while down

    @model_validator(mode="after")
    def _flapping_needs_both(self) -> Self:
        if self.up_for is not None and self.down_for is None:
            raise ValueError("up_for (flapping) needs down_for")
        return self


class Outage:
    """A scheduled outage, its clock started when it was set."""

    def __init__(self, schedule: OutageSchedule) -> None:
        self.schedule = schedule
        self._starts = time.monotonic() + schedule.start_in

    def down(self) -> bool:
        elapsed = time.monotonic() - self._starts
        down_for, up_for = self.schedule.down_for, self.schedule.up_for
        if elapsed < 0:
            return False
        if down_for is None:
            return True
        if up_for is None:
            return elapsed < down_for
        return elapsed % (down_for + up_for) < down_for


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self.settings = FaultSettings()
        self.outage: Outage | None = None
        self.random = random.Random(seed)

    def clear(self) -> None:
        self.settings = FaultSettings()
        self.outage = None


class InjectedConnectionDrop(Exception):
    """Raised after half a response body so that the server cuts the connection."""


class HideInjectedDrops(logging.Filter):
    """Keeps uvicorn from logging the drops we cause on purpose as application errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedConnectionDrop))


_PROXY_PAGE = (
    "<html><head><title>{0}</title></head><body><center><h1>{0}</h1></center><hr>"
    "<center>nginx</center></body></html>"
)


def _server_error(status_code: int, retry_after: int | None) -> Response:
    # A 500 comes from ONCOR itself; 429, 502 and 503 from the proxy in front of it, as HTML.
    if status_code == 500:
        return error_response("InternalServerErrorException", "injected fault", 500)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    titles = {429: "429 Too Many Requests", 502: "502 Bad Gateway"}
    title = titles.get(status_code, "503 Service Temporarily Unavailable")
    return HTMLResponse(_PROXY_PAGE.format(title), status_code, headers=headers)


def _gateway_timeout() -> Response:
    return HTMLResponse(_PROXY_PAGE.format("504 Gateway Time-out"), 504)


async def _discard(message: Message) -> None:
    return None


async def _cut(send: Send) -> None:
    """Start an answer and break it off: the request was never handed to ONCOR."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"result":', "more_body": True})
    raise InjectedConnectionDrop("connection dropped before the request was handled")


class FaultMiddleware:
    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = oncor_path(scope["path"]) if scope["type"] == "http" else None
        settings, outage = self.injector.settings, self.injector.outage
        if path is not None and outage is not None and outage.down():
            response = _server_error(503, outage.schedule.retry_after)
            await response(scope, receive, send)
            return
        if path is None or not settings.applies_to(path):
            await self.app(scope, receive, send)
            return
        roll = self.injector.random.random
        if settings.latency_ms:
            await asyncio.sleep(settings.latency_ms / 1000)
        if roll() < settings.timeout_rate and settings.hangs(path):
            await asyncio.sleep(settings.timeout_seconds)
        if roll() < settings.error_rate and settings.fails(path):
            status = self.injector.random.choice(settings.error_statuses)
            response = _server_error(status, settings.retry_after)
            await response(scope, receive, send)
        elif roll() < settings.drop_rate:
            await self._drop_mid_body(scope, receive, send)
        elif roll() < settings.gateway_timeout_rate:
            await self.app(scope, receive, _discard)
            await _gateway_timeout()(scope, receive, send)
        elif roll() < settings.drop_before_rate:
            await _cut(send)
        else:
            await self.app(scope, receive, send)

    async def _drop_mid_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer with the real Content-Length but only half the body, then cut the connection."""
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, keep)
        start = messages[0]
        body = b"".join(message.get("body", b"") for message in messages[1:])
        headers = [(name, value) for name, value in start["headers"] if name != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        half = body[: len(body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise InjectedConnectionDrop("connection dropped mid-response by fault injection")
