"""Trace context end to end, with the emulator in this process and spans recorded in memory:
one order is one trace (linked to its cycle), one command continues its sender's trace to
ONCOR's writes and its outcome, and through every copy the adapter makes of it."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from adapter.bus.topology import COMMANDS_QUEUE, EVENTS_EXCHANGE
from adapter.consumer.deliveries import CommandDeliveries
from adapter.consumer.dispatcher import Dispatcher
from adapter.consumer.settlement import Settlement
from adapter.observability import tracing as tracing_module
from adapter.observability.tracing import (
    NEW_TRACE,
    ContextOnlyTracerProvider,
    configure_tracing,
    current_context_fields,
    export_endpoint,
    incoming_context,
    well_formed,
)
from adapter.oncor.errors import OncorUnavailable
from adapter.publisher.poller import Poller, PollSettings
from tests.support.commands import document_data
from tests.support.consumer_parts import deliveries, dependencies
from tests.support.memory_bus import (
    FakeDelivery,
    MemoryBus,
    Published,
    command_delivery,
    delivery,
)
from tests.support.memory_oncor import MemoryOncor
from tests.support.tracing import (
    children,
    hex_trace_id,
    in_process_oncor,
    named,
    recorded_spans,
    trace_id_of,
    traceparent_of,
)

SENDER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SENDER_SPAN = "00f067aa0ba902b7"
SENDER_PARENT = f"00-{SENDER_TRACE}-{SENDER_SPAN}-01"
SETTINGS = PollSettings(
    interval=5.0,
    concurrency=4,
    page_size=10,
    from_date=date(2000, 1, 1),
    lookback_days=30,
    zone=ZoneInfo("Asia/Yekaterinburg"),
    oncor_origin="https://oncor.example",
)


async def test_one_order_is_one_trace_linked_to_its_cycle() -> None:
    spans = recorded_spans()
    oncor, recording, admin = in_process_oncor(orders=1)
    bus = MemoryBus()
    async with oncor, admin:
        report = await Poller(SETTINGS, oncor, bus).run_cycle(lambda: True)
    assert report.published == report.marked == 1
    finished = spans.get_finished_spans()
    [cycle] = named(finished, "poll cycle")
    [order] = named(finished, "order")
    [sent] = bus.published
    order_id = sent.data["order"]["id"]

    assert cycle.parent is None and order.parent is None
    assert hex_trace_id(order) != hex_trace_id(cycle)
    assert [link.context.span_id for link in order.links] == [cycle.context.span_id]
    assert (order.attributes or {})["dezo.order_id"] == order_id
    assert children(finished, order) == ["patient", "attachments", "publish dezo.events", "mark"]
    assert "POST search/start/RcTm66OrderQuery" in children(finished, cycle)
    [patient] = named(finished, "patient")
    assert children(finished, patient) == ["GET patient/get"]
    [mark] = named(finished, "mark")
    assert children(finished, mark) == ["POST rc/updateInstanceStatus"]

    # order.received carries its publish span's context, in the CloudEvent and the headers
    [publish] = named(finished, "publish dezo.events")
    expected = traceparent_of(publish)
    assert trace_id_of(expected) == hex_trace_id(order)
    assert sent.event["traceparent"] == expected
    assert sent.headers["traceparent"] == expected
    assert (publish.attributes or {})["messaging.system"] == "rabbitmq"
    assert (publish.attributes or {})["messaging.message.id"] == sent.event["id"]
    # and the status update its own HTTP span's
    [update] = named(finished, "POST rc/updateInstanceStatus")
    assert recording.traceparents("rc/updateInstanceStatus") == [traceparent_of(update)]
    assert hex_trace_id(update) == hex_trace_id(order)
    assert (update.attributes or {})["http.response.status_code"] == 200

    # ids only: no patient data in any span
    personal = ("first_name", "middle_name", "last_name", "birth_day", "snils", "phones")
    patient_data = {
        str(sent.data["patient"][key]) for key in personal if key in sent.data["patient"]
    }
    assert len(patient_data) >= 4
    values = {str(value) for span in finished for value in (span.attributes or {}).values()}
    assert not patient_data & values


async def run_command(headers: dict[str, Any], **event: Any) -> tuple[MemoryBus, Any, str]:
    """One conclusion from the `dezo.commands` exchange, carried out as the broker delivers it."""
    oncor, recording, admin = in_process_oncor()
    bus = MemoryBus()
    async with oncor, admin:
        order_id = (await admin.post("/admin/orders", json={"count": 1})).json()["ids"][0]
        deliveries = CommandDeliveries(
            Settlement(bus),
            Dispatcher(await dependencies(oncor), retry_budget=3, write_horizon=0.0),
            max_bytes=256 * 1024,
        )
        sent = command_delivery(
            "order.conclusion", document_data("order.conclusion", order_id), headers=headers
        )
        if event:  # CloudEvent attributes of the body
            sent.body = sent.body.replace(b'"specversion"', _attributes(event), 1)
        await deliveries.on_command(delivery(sent))
    return bus, recording, order_id


def _attributes(event: dict[str, Any]) -> bytes:
    return b"".join(f'"{key}": "{value}", '.encode() for key, value in event.items()) + (
        b'"specversion"'
    )


async def test_a_command_continues_its_senders_trace_to_oncor_and_its_outcome() -> None:
    spans = recorded_spans()
    bus, recording, order_id = await run_command(
        {"traceparent": SENDER_PARENT, "tracestate": "ris=1"}
    )
    finished = spans.get_finished_spans()
    [outcome] = bus.published  # the outcome alone: no copy of the command on the way
    assert outcome.exchange == EVENTS_EXCHANGE and outcome.data["order_id"] == order_id

    # the tree: process dezo.commands -> ONCOR calls, attachments, outcome
    [process] = named(finished, f"process {COMMANDS_QUEUE}")
    assert process.parent is not None and f"{process.parent.span_id:016x}" == SENDER_SPAN
    assert children(finished, process) == [
        "GET rc/get",
        "GET rc/getList",
        "attachments",
        "POST tm66/order/addRcTm66OrderConclusion",
        "publish dezo.events",
    ]
    [attachments] = named(finished, "attachments")
    assert children(finished, attachments) == ["POST attachment/create"]
    attributes = process.attributes or {}
    assert attributes["dezo.order_id"] == order_id
    assert attributes["dezo.command_id"] == "cmd-1"
    assert attributes["messaging.operation.type"] == "process"
    assert {hex_trace_id(span) for span in (process, attachments)} == {SENDER_TRACE}

    # on the wire: ONCOR's writes and the outcome all in the sender's trace
    writes = recording.traceparents("attachment/create") + recording.traceparents(
        "addRcTm66OrderConclusion"
    )
    assert len(writes) == 2
    assert all(parent and trace_id_of(parent) == SENDER_TRACE for parent in writes)
    [announce] = named(finished, "publish dezo.events")
    assert outcome.event["traceparent"] == traceparent_of(announce)
    assert outcome.headers["traceparent"] == outcome.event["traceparent"]
    assert outcome.event["tracestate"] == outcome.headers["tracestate"] == "ris=1"


async def test_without_headers_the_cloudevent_attribute_is_continued() -> None:
    recorded_spans()
    bus, _, _ = await run_command({}, traceparent=SENDER_PARENT)
    [outcome] = bus.published
    assert trace_id_of(outcome.event["traceparent"]) == SENDER_TRACE
    assert trace_id_of(outcome.headers["traceparent"]) == SENDER_TRACE


async def test_a_malformed_traceparent_is_ignored_never_passed_on() -> None:
    recorded_spans()
    forged = f"00-{SENDER_TRACE}-{SENDER_SPAN}-01-" + "x" * 10_000
    bus, recording, _ = await run_command(
        {"traceparent": forged, "tracestate": "y" * 600}, traceparent="not-a-traceparent"
    )
    [outcome] = bus.published
    assert outcome.data["command"] == "order.conclusion" and "reason" not in outcome.data
    for traceparent in (outcome.headers["traceparent"], outcome.event["traceparent"]):
        assert well_formed({"traceparent": traceparent})
        assert trace_id_of(traceparent) != SENDER_TRACE  # a trace of its own
    assert "tracestate" not in outcome.headers and "tracestate" not in outcome.event
    assert all(parent and "x" not in parent for _, parent in recording.requests)


def test_only_well_formed_values_are_read() -> None:
    assert well_formed({"traceparent": SENDER_PARENT.encode()}) == {"traceparent": SENDER_PARENT}
    assert well_formed({"traceparent": SENDER_PARENT.upper()}) == {}
    assert well_formed({"traceparent": 42}) == {}
    assert well_formed({"traceparent": b"\xff" * 55}) == {}
    # the propagator refuses what only looks right: an all-zero trace id is no parent
    zero = incoming_context({"traceparent": f"00-{'0' * 32}-{SENDER_SPAN}-01"})
    assert zero == incoming_context({})


def test_spans_are_exported_only_where_an_otlp_endpoint_is_configured() -> None:
    assert export_endpoint({}) is None
    assert export_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == "http://c:4318"
    assert export_endpoint({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert (
        export_endpoint(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}
        )
        is None
    )


async def test_retry_hand_over_and_dead_letter_copies_stay_in_the_commands_trace() -> None:
    spans = recorded_spans()
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    bus = MemoryBus()
    desk = await deliveries(oncor, bus)

    def from_the_exchange(**changes: Any) -> FakeDelivery:
        data = document_data("order.conclusion", order_id, **changes)
        return command_delivery("order.conclusion", data, headers={"traceparent": SENDER_PARENT})

    def back_in_commands(copy: Published) -> FakeDelivery:
        """A copy as `dezo.commands` delivers it once its retry or hand-over queue lets it go:
        dead-lettered through the default exchange, with the headers the adapter gave it."""
        return FakeDelivery(
            copy.message.body,
            routing_key=COMMANDS_QUEUE,
            exchange="",
            headers=copy.headers,
            message_id=copy.message.message_id,
        )

    unavailable = OncorUnavailable("add", "HTTP 503", maybe_applied=False)
    oncor.fail("add_conclusion", unavailable, times=2)
    await desk.on_command(delivery(from_the_exchange()))  # to the first retry queue
    [first_retry] = bus.published
    await desk.on_command(delivery(back_in_commands(first_retry)))  # its attempt is believed
    [_, second_retry] = bus.published
    handover = back_in_commands(second_retry)
    handover.redelivered = True
    await desk.on_command(delivery(handover))  # to the hand-over queue
    await desk.on_command(delivery(from_the_exchange(conclusion_code="9")))  # dead letter, outcome
    copies = [sent for sent in bus.published if sent.exchange != EVENTS_EXCHANGE]
    assert [sent.routing_key for sent in copies] == [
        bus.retry_queue(1),
        bus.retry_queue(2),
        bus.handover_queue,
        "order.conclusion",
    ]
    finished = spans.get_finished_spans()
    publishes = [span for span in finished if span.name.startswith("publish ")]
    for sent in bus.published:  # each names its own publish span, in the sender's trace
        [publish] = [
            span for span in publishes if traceparent_of(span) == sent.headers["traceparent"]
        ]
        assert hex_trace_id(publish) == SENDER_TRACE
    # a copy back in dezo.commands is processed as a child of the publish that made it
    [first_publish] = named(finished, f"publish {bus.retry_queue(1)}")
    [second_publish] = named(finished, f"publish {bus.retry_queue(2)}")
    [processed_again] = children(finished, first_publish)
    assert processed_again == f"process {COMMANDS_QUEUE}"
    assert children(finished, second_publish) == [f"process {COMMANDS_QUEUE}"]


def test_the_provider_is_installed_named_and_exports_only_when_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed: list[object] = []
    monkeypatch.setattr(tracing_module.trace, "set_tracer_provider", installed.append)
    added: list[object] = []
    monkeypatch.setattr(
        TracerProvider, "add_span_processor", lambda _, processor: added.append(processor)
    )

    assert configure_tracing({"OTEL_SDK_DISABLED": "true"}) is None and installed == []
    assert configure_tracing({}) is None  # nothing to shut down: nothing recorded
    [context_only] = installed
    assert isinstance(context_only, ContextOnlyTracerProvider)
    provider = configure_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert provider is not None and installed[1:] == [provider]
    assert provider.resource.attributes["service.name"] == "dezo-adapter"
    [processor] = added
    assert isinstance(processor, BatchSpanProcessor)
    processor.shutdown()  # its export thread


def test_without_an_exporter_spans_record_nothing_but_carry_the_context_on() -> None:
    tracer = ContextOnlyTracerProvider().get_tracer("test")
    unsampled = f"00-{SENDER_TRACE}-{SENDER_SPAN}-00"
    for parent, flags in ((SENDER_PARENT, "01"), (unsampled, "00")):
        incoming = incoming_context({"traceparent": parent, "tracestate": "ris=1"})
        with tracer.start_as_current_span("process", context=incoming) as span:
            assert not span.is_recording()
            fields = current_context_fields()
        assert fields["tracestate"] == "ris=1"
        trace, span_id, own_flags = fields["traceparent"].split("-")[1:]
        assert (trace, own_flags) == (SENDER_TRACE, flags) and span_id != SENDER_SPAN
    with tracer.start_as_current_span("order", context=NEW_TRACE):
        first = current_context_fields()["traceparent"]
    with tracer.start_as_current_span("order", context=NEW_TRACE):
        second = current_context_fields()["traceparent"]
    assert well_formed({"traceparent": first}) and first.endswith("-01")
    assert trace_id_of(first) != trace_id_of(second)
