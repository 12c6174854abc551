"""The bus contract in schemas/: current, valid AsyncAPI 3.0, examples that mean what they say."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from adapter.bus.connection import Bus
from adapter.bus.topology import (
    COMMAND_TYPES,
    COMMANDS_EXCHANGE,
    ORDER_RECEIVED,
    failed_key,
    succeeded_key,
)
from adapter.contracts.catalog import MESSAGES, message
from adapter.contracts.export import differences
from tests.support.broker import Broker

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
ASYNCAPI_SPEC = Path(
    os.environ.get("ASYNCAPI_SPEC", REPO.parent / "shared" / "specs" / "asyncapi-3.0.0.json")
)


def schema_validator(spec: Any) -> jsonschema.Draft202012Validator:
    """Formats checked too (uri, date-time), as an integrator's validator would."""
    return jsonschema.Draft202012Validator(
        load_json(SCHEMAS / spec.schema_path),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text("utf-8"))
    return document


def test_committed_schemas_are_what_the_export_writes() -> None:
    assert differences(SCHEMAS) == [], "run `dezo-adapter schemas export` and commit schemas/"


def test_asyncapi_document_is_valid_asyncapi_3() -> None:
    if not ASYNCAPI_SPEC.is_file():
        pytest.skip(f"AsyncAPI 3.0.0 JSON Schema not found at {ASYNCAPI_SPEC}")
    validator = jsonschema.Draft7Validator(load_json(ASYNCAPI_SPEC))
    errors = [
        f"{list(error.absolute_path)}: {error.message[:200]}"
        for error in validator.iter_errors(asyncapi())
    ]
    assert errors == []


def test_asyncapi_describes_every_message_with_an_example() -> None:
    messages = asyncapi()["components"]["messages"]
    assert {item["name"] for item in messages.values()} == {spec.name for spec in MESSAGES}
    for spec in MESSAGES:
        (example,) = messages[spec.title]["examples"]
        spec.envelope_model.model_validate(example["payload"])


@pytest.mark.parametrize("spec", MESSAGES, ids=lambda spec: spec.name)
def test_valid_example_passes_its_schema_and_its_model(spec: Any) -> None:
    example = load_json(SCHEMAS / spec.example_path)
    schema_validator(spec).validate(example)
    spec.envelope_model.model_validate(example)


INVALID = sorted((SCHEMAS / "examples" / "invalid").glob("*.json"))


@pytest.mark.parametrize("path", INVALID, ids=lambda path: path.stem)
def test_invalid_example_fails_its_schema_and_its_model(path: Path) -> None:
    name, why = path.stem.split("--")
    assert why, "an invalid example names why it is invalid"
    spec = message(name)
    example = load_json(path)
    schema_errors = list(schema_validator(spec).iter_errors(example))
    assert schema_errors, f"{path.name} passes the JSON Schema"
    with pytest.raises(ValidationError):
        spec.envelope_model.model_validate(example)


def test_there_are_invalid_examples_for_commands_and_envelopes() -> None:
    assert len(INVALID) >= 5


def _channels(kind: str) -> list[dict[str, Any]]:
    return [
        channel
        for channel in asyncapi()["channels"].values()
        if channel.get("bindings", {}).get("amqp", {}).get("is") == kind
    ]


def _expand(address: str, channel: dict[str, Any]) -> set[str]:
    if "{command}" not in address:
        return {address}
    return {
        address.replace("{command}", command)
        for command in channel["parameters"]["command"]["enum"]
    }


def test_routing_keys_in_the_document_are_the_topologys() -> None:
    documented = {
        key for channel in _channels("routingKey") for key in _expand(channel["address"], channel)
    }
    topology_keys = {ORDER_RECEIVED, *COMMAND_TYPES}
    topology_keys |= {succeeded_key(command) for command in COMMAND_TYPES}
    topology_keys |= {failed_key(command) for command in COMMAND_TYPES}
    assert documented == topology_keys


async def test_queues_and_bindings_in_the_document_are_what_the_topology_declares(
    amqp_url: str, broker: Broker
) -> None:
    bus = Bus(amqp_url)
    await bus.connect()
    await bus.close()
    vhost = amqp_url.rsplit("/", 1)[1]
    declared_queues = set(
        broker.ctl("list_queues", "-p", vhost, "--quiet", "--no-table-headers", "name").split()
    )
    assert {channel["address"] for channel in _channels("queue")} == declared_queues

    bindings = broker.ctl(
        "list_bindings",
        "-p",
        vhost,
        "--quiet",
        "--no-table-headers",
        "source_name",
        "routing_key",
    )
    command_bindings = {
        line.split("\t")[1]
        for line in bindings.splitlines()
        if line.startswith(COMMANDS_EXCHANGE + "\t")
    }
    documented_commands = {
        channel["address"]
        for channel in _channels("routingKey")
        if channel["bindings"]["amqp"]["exchange"]["name"] == COMMANDS_EXCHANGE
    }
    assert documented_commands == command_bindings
