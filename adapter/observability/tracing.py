"""W3C trace context and OpenTelemetry spans: set up here, read and written only here.

Propagation always works; recording is optional. With an OTLP endpoint configured
(`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) `configure_tracing`
installs the SDK's TracerProvider with a batch exporter, and its sampler decides (by default:
the parent's decision, else sampled). Without one it installs a provider whose spans record
nothing but have real ids: every event, copy and ONCOR call still carries a `traceparent` the
services around can continue, with the sampled flag the SDK's default sampler would have set.
The SDK's own spans cost about 0.18 ms of CPU per order even with nothing to export; these
about 0.02 ms with an in-memory ONCOR, and about 0.06 ms with a span and a `traceparent` on each
of an order's ONCOR calls (bench/own_cost.py; README). `OTEL_SDK_DISABLED=true` turns tracing
off: no spans, and a delivery's context passes through as it came.

Where a command's context comes from: the AMQP header `traceparent` (with `tracestate`) when
it is well formed, else the CloudEvents distributed-tracing attributes of the JSON body. The
header wins because the adapter rewrites it on every copy it makes (retry, hand-over,
dead letter) to name its own publish span, while the body travels unchanged from the sender.
Both are input from anyone who may publish: a value that is not exactly a W3C `traceparent`,
or a `tracestate` over 512 characters, is ignored, never echoed.

Span attributes are ids and protocol facts only (`dezo.order_id`, `dezo.command_id`,
`messaging.*`, `http.*`): never patient data, never the ONCOR token, never a message text.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    NoOpTracer,
    NoOpTracerProvider,
    Span,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    Tracer,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
#: The one form of `traceparent` the adapter accepts (W3C Trace Context, version 00 layout).
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
TRACEPARENT_CHARS = 55
#: W3C: a tracestate may be cut to 512 characters; a longer one is dropped whole.
TRACESTATE_MAX_CHARS = 512
DEFAULT_SERVICE_NAME = "dezo-adapter"
_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)
_W3C = TraceContextTextMapPropagator()
_TRACER = trace.get_tracer("adapter")
#: A span started in this context starts a trace of its own.
NEW_TRACE = Context()

MessagingOperation = Literal["publish", "process"]


# --- setup ----------------------------------------------------------------------------------------


def export_endpoint(environ: Mapping[str, str]) -> str | None:
    """The OTLP endpoint spans go to, if the standard variables configure one."""
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() not in ("otlp", ""):
        return None  # `none`, or an exporter this build does not ship
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return (endpoint or "").strip() or None


def sdk_disabled(environ: Mapping[str, str]) -> bool:
    return environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def configure_tracing(environ: Mapping[str, str] = os.environ) -> TracerProvider | None:
    """Install the process's tracer provider; the SDK's, to be shut down at the end, when spans
    are exported (None otherwise).

    The exporter (OTLP over HTTP/protobuf) reads every other `OTEL_EXPORTER_OTLP_*` variable
    itself; the sampler is the SDK's (`OTEL_TRACES_SAMPLER`, default parent-based always-on).
    """
    if sdk_disabled(environ):
        return None
    endpoint = export_endpoint(environ)
    if endpoint is None:
        trace.set_tracer_provider(ContextOnlyTracerProvider())
        return None
    # Imported only when spans are exported: the SDK, with the exporter's protobuf and requests,
    # is several MB of memory a process that only propagates context does not need.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    named = "OTEL_SERVICE_NAME" in environ or "service.name=" in environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    provider = TracerProvider(
        resource=Resource.create({} if named else {SERVICE_NAME: DEFAULT_SERVICE_NAME})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("exporting traces", extra={"otlp_endpoint": endpoint})
    return provider


class ContextOnlyTracer(NoOpTracer):
    """Spans that record nothing but carry real ids: the context flows, nothing is kept.

    A span continues its parent's trace with its parent's flags and tracestate; one without a
    parent starts a sampled trace, as the SDK's default sampler would, so that a service that
    records what follows it still does.
    """

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_valid:
            return NonRecordingSpan(
                SpanContext(
                    parent.trace_id,
                    _random_id(64),
                    is_remote=False,
                    trace_flags=parent.trace_flags,
                    trace_state=parent.trace_state,
                )
            )
        return NonRecordingSpan(
            SpanContext(
                _random_id(128),
                _random_id(64),
                is_remote=False,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
        )


def _random_id(bits: int) -> int:
    """A trace (128 bits) or span (64 bits) id as the SDK's RandomIdGenerator makes it: random,
    never 0 (the invalid id)."""
    while not (found := random.getrandbits(bits)):
        pass
    return found


class ContextOnlyTracerProvider(NoOpTracerProvider):
    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> Tracer:
        return ContextOnlyTracer()


# --- spans ----------------------------------------------------------------------------------------


class span:  # lower case: it reads, and is used, as a function
    """A span, current within the block. An exception marks it failed with `error.type` only:
    the exception's text may quote ONCOR or a command, so it stays out of the trace.

    A class rather than the API's `start_as_current_span`: that one goes through three nested
    generator context managers, and cost about a tenth of the publisher's CPU per order
    (profiled; seven spans per order). The span starts when made: make one only in a `with`."""

    __slots__ = ("_span", "_token")

    def __init__(
        self,
        name: str,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, str | int] | None = None,
        context: Context | None = None,
        links: Sequence[Link] = (),
    ) -> None:
        self._span = _TRACER.start_span(
            name,
            context=context,
            kind=kind,
            attributes=attributes,
            links=links,
            record_exception=False,
            set_status_on_exception=False,
        )

    def __enter__(self) -> Span:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None and issubclass(exc_type, Exception):
            failed(self._span, exc_type.__name__)
        otel_context.detach(self._token)
        self._span.end()


def failed(current: Span, error_type: str) -> None:
    current.set_status(StatusCode.ERROR)
    current.set_attribute("error.type", error_type)


def link_to_current() -> list[Link]:
    """A link to the current span, for a trace that starts here but belongs with it."""
    context = trace.get_current_span().get_span_context()
    return [Link(context)] if context.is_valid else []


def messaging(
    operation: MessagingOperation,
    destination: str,
    routing_key: str,
    message_id: str | None,
) -> dict[str, str | int]:
    """OpenTelemetry messaging attributes for RabbitMQ. `publish` is the RabbitMQ operation
    name; its semantic-conventions type is `send`."""
    attributes: dict[str, str | int] = {
        "messaging.system": "rabbitmq",
        "messaging.operation.name": operation,
        "messaging.operation.type": "send" if operation == "publish" else "process",
        "messaging.destination.name": destination,
        "messaging.rabbitmq.destination.routing_key": routing_key,
    }
    if message_id:
        attributes["messaging.message.id"] = message_id
    return attributes


def publishing(exchange: str, routing_key: str, message_id: str | None) -> span:
    """The producer span of one publish; what is injected within it names this span."""
    destination = exchange or routing_key  # the default exchange routes to the queue named
    return span(
        f"publish {destination}",
        kind=SpanKind.PRODUCER,
        attributes=messaging("publish", destination, routing_key, message_id),
    )


# --- propagation ----------------------------------------------------------------------------------


def well_formed(values: Mapping[str, Any] | None) -> dict[str, str]:
    """`traceparent` (and `tracestate`) from headers or CloudEvent attributes, if usable."""
    if not values:
        return {}
    parent = _text(values.get(TRACEPARENT))
    if parent is None or len(parent) != TRACEPARENT_CHARS or not _TRACEPARENT.match(parent):
        return {}
    found = {TRACEPARENT: parent}
    state = _text(values.get(TRACESTATE))
    if state and len(state) <= TRACESTATE_MAX_CHARS:
        found[TRACESTATE] = state
    return found


def incoming_context(
    headers: Mapping[str, Any], attributes: Mapping[str, str] | None = None
) -> Context:
    """The context a delivery continues: its AMQP headers', else its CloudEvent's; else none,
    and the span started in it begins a new trace. The propagator checks the ids themselves
    (an all-zero trace id is no context)."""
    carrier = well_formed(headers) or well_formed(attributes)
    return _W3C.extract(carrier, context=NEW_TRACE) if carrier else NEW_TRACE


def current_context_fields() -> dict[str, str]:
    """`traceparent` (and `tracestate`) naming the current span; empty without one."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier


def retraced(headers: dict[str, Any]) -> dict[str, Any]:
    """Headers of a copy the adapter publishes, its trace context replaced by the current one:
    what came in is never passed on as it came."""
    headers.pop(TRACEPARENT, None)
    headers.pop(TRACESTATE, None)
    headers.update(current_context_fields())
    return headers


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None
