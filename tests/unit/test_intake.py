"""Reading a command off the wire: what intake accepts, and how it names what it refuses."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.bus.topology import COMMANDS_EXCHANGE, COMMANDS_QUEUE
from adapter.consumer.intake import UNKNOWN_COMMAND, UnreadableCommand, read_command
from adapter.messages.commands import COMMANDS, AddConclusion
from tests.support.commands import command_body, document_data
from tests.support.memory_bus import FakeDelivery, command_delivery, delivery

MAX_BYTES = 64 * 1024
ORDER = "#30:1"


def conclusion(**properties: Any) -> FakeDelivery:
    return command_delivery(
        "order.conclusion", document_data("order.conclusion", ORDER), **properties
    )


def refused(fake: FakeDelivery, max_bytes: int = MAX_BYTES) -> UnreadableCommand:
    with pytest.raises(UnreadableCommand) as caught:
        read_command(delivery(fake), max_bytes)
    return caught.value


def test_valid_conclusion_is_read_with_its_id_and_reply_to() -> None:
    received = read_command(delivery(conclusion(reply_to="integrator.replies")), MAX_BYTES)
    assert isinstance(received.command, AddConclusion)
    assert received.command_id == "cmd-1"
    assert received.reply_to == "integrator.replies"
    assert received.attempt == 0


def test_order_id_is_normalised() -> None:
    fake = command_delivery("order.conclusion", document_data("order.conclusion", "30:1"))
    assert read_command(delivery(fake), MAX_BYTES).command.order_id == ORDER


def test_body_over_the_limit_is_too_large_before_it_is_parsed() -> None:
    exc = refused(conclusion(), max_bytes=100)
    assert exc.problem == "too_large"
    assert exc.command_id == "cmd-1"  # from message_id: the body is not read


def test_not_json_is_named_with_the_id_from_message_id() -> None:
    exc = refused(FakeDelivery(b"\xff{not json", "order.conclusion", message_id="m-7"))
    assert (exc.problem, exc.command_id) == ("not_json", "m-7")


def test_json_that_nests_too_deep_is_not_json_and_does_not_crash() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert (
        refused(FakeDelivery(deep, "order.conclusion"), max_bytes=len(deep)).problem == "not_json"
    )


def test_json_that_is_no_cloudevent_keeps_its_readable_id() -> None:
    body = json.dumps({"id": "cmd-9", "data": {}}).encode()
    exc = refused(FakeDelivery(body, "order.conclusion"))
    assert (exc.problem, exc.command_id) == ("not_cloudevent", "cmd-9")


def test_id_longer_than_an_amqp_short_string_allows_is_refused() -> None:
    exc = refused(conclusion(command_id="я" * 200))
    assert exc.problem == "id_too_long"
    assert "400 bytes" in exc.message


def test_unknown_type_is_refused_and_lists_the_known_ones() -> None:
    _, body = command_body("order.delete", {})
    exc = refused(FakeDelivery(body, "order.conclusion"))
    assert (exc.problem, exc.command) == ("unknown_type", UNKNOWN_COMMAND)
    assert "ru.oncor.dezo.order.conclusion.v1" in exc.message


def test_type_published_under_another_commands_routing_key_is_refused() -> None:
    fake = command_delivery("order.reject", document_data("order.reject", ORDER))
    fake.routing_key = "order.conclusion"
    exc = refused(fake)
    assert exc.problem == "routing_key_mismatch"
    assert exc.command == "order.conclusion"


@pytest.mark.parametrize("queue", ["dezo.commands", "dezo.commands.dead", "dezo.events.x"])
def test_reply_to_one_of_the_adapters_own_queues_is_refused(queue: str) -> None:
    assert refused(conclusion(reply_to=queue)).problem == "reply_to_not_allowed"


def test_command_bound_in_from_a_foreign_exchange_is_refused_without_an_id() -> None:
    exc = refused(conclusion(exchange="dezo.events"))
    assert exc.problem == "foreign_exchange"
    assert exc.command_id is None  # no outcome: it would feed back into the loop


def test_forged_adapter_headers_from_an_integrator_are_not_believed() -> None:
    fake = command_delivery(
        "order.reject",
        document_data("order.reject", ORDER),
        headers={"x-dezo-routing-key": "order.reject", "x-dezo-attempt": 4},
    )
    fake.routing_key = "order.conclusion"
    assert refused(fake).problem == "routing_key_mismatch"


def test_forged_attempt_header_does_not_count_as_spent_retries() -> None:
    received = read_command(delivery(conclusion(headers={"x-dezo-attempt": 4})), MAX_BYTES)
    assert received.attempt == 0


def test_adapters_own_copy_keeps_its_attempt_and_first_routing_key() -> None:
    fake = conclusion(
        exchange="",  # back in dezo.commands from a retry queue, through the default exchange
        headers={"x-dezo-attempt": 2, "x-dezo-routing-key": "order.conclusion"},
    )
    fake.routing_key = COMMANDS_QUEUE
    received = read_command(delivery(fake), MAX_BYTES)
    assert (received.name, received.attempt) == ("order.conclusion", 2)
    # the same headers on a command straight from the dezo.commands exchange are forged
    fake.exchange, fake.routing_key = COMMANDS_EXCHANGE, "order.conclusion"
    assert read_command(delivery(fake), MAX_BYTES).attempt == 0


def test_negative_attempt_header_reads_as_none_spent() -> None:
    fake = conclusion(
        exchange="", headers={"x-dezo-attempt": -3, "x-dezo-routing-key": "order.conclusion"}
    )
    fake.routing_key = COMMANDS_QUEUE
    assert read_command(delivery(fake), MAX_BYTES).attempt == 0


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"order_id": "not an orid"}, "invalid_orid"),
        ({"expert_id": ""}, "missing_expert"),
        ({"unexpected": 1}, "schema"),
        ({"description": ""}, "schema"),
    ],
)
def test_invalid_data_names_its_problem_and_keeps_the_ids(
    changes: dict[str, Any], problem: str
) -> None:
    data = {**document_data("order.conclusion", ORDER), **changes}
    exc = refused(command_delivery("order.conclusion", data))
    assert exc.problem == problem
    assert exc.command_id == "cmd-1"
    assert exc.command == "order.conclusion"


def test_description_of_invalid_data_never_quotes_the_clinical_text() -> None:
    data = {**document_data("order.conclusion", ORDER), "description": "Secret diagnosis " * 700}
    exc = refused(command_delivery("order.conclusion", data))
    assert "Secret diagnosis" not in exc.message


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_with_a_named_problem(body: bytes) -> None:
    try:
        read_command(delivery(FakeDelivery(body, "order.conclusion")), MAX_BYTES)
    except UnreadableCommand as exc:
        assert exc.problem in (
            "not_json",
            "not_cloudevent",
            "unknown_type",
            "schema",
            "id_too_long",
            "routing_key_mismatch",
            "invalid_orid",
            "missing_expert",
        )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    data=st.dictionaries(
        st.sampled_from(["order_id", "description", "expert_id", "pdf", "conclusion_code", "x"]),
        json_values,
        max_size=6,
    ),
    name=st.sampled_from(sorted(COMMANDS)),
)
def test_any_command_data_is_valid_or_refused_keeping_the_command_id(
    data: dict[str, Any], name: str
) -> None:
    fake = command_delivery(name, data, command_id="cmd-h")
    try:
        received = read_command(delivery(fake), MAX_BYTES)
    except UnreadableCommand as exc:
        assert exc.command_id == "cmd-h"
        assert exc.command == name
    else:
        assert received.name == name


@settings(max_examples=100, deadline=None)
@given(
    headers=st.dictionaries(
        st.text(min_size=1, max_size=20).map(lambda s: "x-dezo-" + s), json_values, max_size=5
    )
)
def test_no_header_an_integrator_sets_changes_how_a_command_is_read(
    headers: dict[str, Any],
) -> None:
    sent = conclusion()
    plain = read_command(delivery(sent), MAX_BYTES)
    forged = read_command(delivery(dataclasses.replace(sent, headers=headers)), MAX_BYTES)
    assert forged == plain
