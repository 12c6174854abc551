"""Spans recorded in memory, and an ONCOR that records the `traceparent` of every request.

OpenTelemetry allows one TracerProvider per process: the first test that asks installs an SDK
provider with an in-memory exporter (or adds the exporter to the provider already there), and
every test clears what the one before recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapter.emulator.options import EmulatorOptions
from adapter.emulator.server import create_app
from adapter.oncor.client import OncorClient

_EXPORTER = InMemorySpanExporter()
_installed = False

ONCOR_URL = "http://oncor.test/api/1.0/json/"
TOKEN = "test-token"


def recorded_spans() -> InMemorySpanExporter:
    """The in-memory exporter every span of this process goes to, emptied."""
    global _installed
    if not _installed:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        _installed = True
    _EXPORTER.clear()
    return _EXPORTER


def trace_id_of(traceparent: str) -> str:
    return traceparent.split("-")[1]


def span_id_of(traceparent: str) -> str:
    return traceparent.split("-")[2]


def hex_trace_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def hex_span_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.span_id:016x}"


def traceparent_of(span: ReadableSpan) -> str:
    """The `traceparent` naming this span, flags included (sampled; random trace id)."""
    assert span.context is not None
    return f"00-{hex_trace_id(span)}-{hex_span_id(span)}-{span.context.trace_flags:02x}"


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[str]:
    """The names of `parent`'s children, in the order they started."""
    assert parent.context is not None
    found = [
        span for span in spans if span.parent and span.parent.span_id == parent.context.span_id
    ]
    return [span.name for span in sorted(found, key=lambda span: span.start_time or 0)]


class RecordingTransport(httpx.AsyncBaseTransport):
    """The emulator's ASGI app in this process (no socket), recording each request's path and
    `traceparent` header as ONCOR received them."""

    def __init__(self, app: httpx.ASGITransport) -> None:
        self._app = app
        self.requests: list[tuple[str, str | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.url.path, request.headers.get("traceparent")))
        return await self._app.handle_async_request(request)

    def traceparents(self, path_end: str) -> list[str | None]:
        return [parent for path, parent in self.requests if path.endswith(path_end)]


def in_process_oncor(orders: int = 0) -> tuple[OncorClient, RecordingTransport, httpx.AsyncClient]:
    """An ONCOR client talking to the emulator in this process; and the emulator's admin API."""
    app = create_app(EmulatorOptions(token=TOKEN, orders=orders, job_ready_after=0.0))
    recording = RecordingTransport(httpx.ASGITransport(app=app))
    admin = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oncor.test")
    return OncorClient(ONCOR_URL, TOKEN, transport=recording), recording, admin
