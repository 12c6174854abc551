"""The AsyncAPI 3.0 document of the bus, built from the catalog, the topology and the models."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from adapter.bus.envelope import CONTENT_TYPE
from adapter.bus.topology import (
    COMMAND_TYPES,
    COMMANDS_EXCHANGE,
    COMMANDS_OWNER_QUEUE,
    COMMANDS_QUEUE,
    DEAD_EXCHANGE,
    DEAD_QUEUE,
    EVENTS_EXCHANGE,
    LEADER_QUEUE,
    TopologySettings,
    retry_queue_name,
)
from adapter.contracts.catalog import (
    COMMAND_MESSAGES,
    FAILED_MESSAGE,
    MESSAGES,
    ORDER_RECEIVED_MESSAGE,
    SUCCEEDED_MESSAGE,
    MessageSpec,
)
from adapter.contracts.examples import valid_example
from adapter.observability.tracing import (
    TRACEPARENT,
    TRACEPARENT_PATTERN,
    TRACESTATE,
    TRACESTATE_MAX_CHARS,
)

AMQP_BINDING_VERSION = "0.3.0"
_EXCHANGE_TYPES = {EVENTS_EXCHANGE: "topic", COMMANDS_EXCHANGE: "topic", DEAD_EXCHANGE: "fanout"}


def _ref(path: str) -> dict[str, str]:
    return {"$ref": path}


def _routing_key_channel(
    spec: MessageSpec, description: str, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "address": spec.routing_key,
        "description": description,
        "messages": {spec.title: _ref(f"#/components/messages/{spec.title}")},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": spec.exchange,
                    "type": _EXCHANGE_TYPES[spec.exchange],
                    "durable": True,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }
    if parameters:
        channel["parameters"] = parameters
    return channel


def _queue_channel(
    name: str, description: str, messages: tuple[MessageSpec, ...] = ()
) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "address": name,
        "description": description,
        "bindings": {
            "amqp": {
                "is": "queue",
                "queue": {"name": name, "durable": True, "exclusive": False, "autoDelete": False},
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }
    if messages:
        channel["messages"] = {
            spec.title: _ref(f"#/components/messages/{spec.title}") for spec in messages
        }
    return channel


def _channels(topology: TopologySettings) -> dict[str, Any]:
    command_parameter = {
        "command": {"enum": list(COMMAND_TYPES), "description": "The command type it answers"}
    }
    channels: dict[str, Any] = {
        ORDER_RECEIVED_MESSAGE.title: _routing_key_channel(
            ORDER_RECEIVED_MESSAGE,
            f"A new DEZO order, on exchange `{EVENTS_EXCHANGE}`. Bind a queue of your own to it.",
        ),
        SUCCEEDED_MESSAGE.title: _routing_key_channel(
            SUCCEEDED_MESSAGE,
            "A command took effect in ONCOR; exactly one outcome per command id.",
            command_parameter,
        ),
        FAILED_MESSAGE.title: _routing_key_channel(
            FAILED_MESSAGE,
            "A command had no effect in ONCOR, with the reason and what to do.",
            command_parameter,
        ),
    }
    for spec in COMMAND_MESSAGES:
        channels[spec.title] = _routing_key_channel(
            spec, f"Publish `{spec.name}` commands here, on exchange `{COMMANDS_EXCHANGE}`."
        )
    channels["CommandsQueue"] = _queue_channel(
        COMMANDS_QUEUE,
        "Quorum queue the adapter consumes every command from (delivery limit, dead-lettering); "
        f"only the replica holding the `{COMMANDS_OWNER_QUEUE}` token consumes it.",
        COMMAND_MESSAGES,
    )
    channels["DeadLetters"] = _queue_channel(
        DEAD_QUEUE,
        f"Commands that failed for good, via the `{DEAD_EXCHANGE}` exchange; the headers "
        "`x-dezo-reason` and `x-dezo-error` say why. `dezo-adapter dead` lists and replays them.",
        COMMAND_MESSAGES,
    )
    for step, delay in enumerate(topology.retry_delays, start=1):
        channels[f"RetryQueue{step}"] = _queue_channel(
            retry_queue_name(delay),
            f"Internal: commands wait {delay:g} s here after a transient ONCOR failure, then "
            f"return to `{COMMANDS_QUEUE}`.",
        )
    if topology.handover_delay not in topology.retry_delays:
        channels["HandoverQueue"] = _queue_channel(
            retry_queue_name(topology.handover_delay),
            f"Internal: a command delivered again waits "
            f"{topology.handover_delay:g} s here (ONCOR connect + read timeout), so that a "
            f"write its former owner had in flight has landed, then returns to "
            f"`{COMMANDS_QUEUE}`.",
        )
    channels["PollerLeader"] = _queue_channel(
        LEADER_QUEUE,
        "Internal: single-active-consumer queue; the replica holding its token polls ONCOR.",
    )
    channels["CommandsOwner"] = _queue_channel(
        COMMANDS_OWNER_QUEUE,
        f"Internal: single-active-consumer queue; the replica holding its token consumes "
        f"`{COMMANDS_QUEUE}`, so that one replica at a time handles an order.",
    )
    return channels


def _operations() -> dict[str, Any]:
    def messages(channel: str, specs: tuple[MessageSpec, ...]) -> list[dict[str, str]]:
        return [_ref(f"#/channels/{channel}/messages/{spec.title}") for spec in specs]

    outcomes = (SUCCEEDED_MESSAGE, FAILED_MESSAGE)
    # Everything the adapter publishes is persistent, mandatory and publisher-confirmed.
    confirmed = {
        "amqp": {"deliveryMode": 2, "mandatory": True, "bindingVersion": AMQP_BINDING_VERSION}
    }
    return {
        "publishOrderReceived": {
            "bindings": confirmed,
            "action": "send",
            "title": "Announce a new order",
            "description": "Published with publisher confirms before the ONCOR status is set; "
            "a re-published order carries the same event id.",
            "channel": _ref(f"#/channels/{ORDER_RECEIVED_MESSAGE.title}"),
            "messages": messages(ORDER_RECEIVED_MESSAGE.title, (ORDER_RECEIVED_MESSAGE,)),
        },
        "receiveCommands": {
            "action": "receive",
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
            "title": "Carry out commands",
            "description": "Each command is acknowledged only after its outcome is confirmed.",
            "channel": _ref("#/channels/CommandsQueue"),
            "messages": messages("CommandsQueue", COMMAND_MESSAGES),
            "reply": {
                "address": {
                    "location": "$message.header#/reply_to",
                    "description": "The command's AMQP `reply_to`, when it has one: a queue, "
                    "answered through the default exchange. A name starting `dezo.` (the "
                    "adapter's own queues) is refused: command.failed, reply_to_not_allowed",
                },
                "channel": _ref("#/channels/CommandReply"),
                "messages": messages("CommandReply", outcomes),
            },
        },
        "publishCommandSucceeded": {
            "bindings": confirmed,
            "action": "send",
            "channel": _ref(f"#/channels/{SUCCEEDED_MESSAGE.title}"),
            "messages": messages(SUCCEEDED_MESSAGE.title, (SUCCEEDED_MESSAGE,)),
        },
        "publishCommandFailed": {
            "bindings": confirmed,
            "action": "send",
            "channel": _ref(f"#/channels/{FAILED_MESSAGE.title}"),
            "messages": messages(FAILED_MESSAGE.title, (FAILED_MESSAGE,)),
        },
        "deadLetterCommands": {
            "bindings": confirmed,
            "action": "send",
            "channel": _ref("#/channels/DeadLetters"),
            "messages": messages("DeadLetters", COMMAND_MESSAGES),
        },
    }


def _message(spec: MessageSpec) -> dict[str, Any]:
    headers = {
        "type": "object",
        "properties": {
            "message_id": {"type": "string", "description": "The CloudEvent id"},
            "correlation_id": {
                "type": "string",
                "description": "Commands: any; outcomes: the command id; orders: the order id",
            },
            "reply_to": {
                "type": "string",
                "description": "Commands only: also answer in this queue (not one of `dezo.*`)",
            },
            TRACEPARENT: {
                "type": "string",
                "pattern": TRACEPARENT_PATTERN,
                "description": "AMQP header, W3C Trace Context. Events: the same as the "
                "CloudEvent's `traceparent`. Commands: continued by the adapter's spans, ONCOR "
                "calls and the outcome; it wins over the CloudEvent attribute, and a malformed "
                "value is ignored",
            },
            TRACESTATE: {
                "type": "string",
                "maxLength": TRACESTATE_MAX_CHARS,
                "description": "AMQP header, W3C `tracestate` with `traceparent`",
            },
        },
    }
    return {
        "name": spec.name,
        "title": spec.name,
        "summary": spec.summary,
        "contentType": CONTENT_TYPE,
        "headers": headers,
        "correlationId": _ref(
            "#/components/correlationIds/CommandId"
            if spec.kind == "command" or spec in (SUCCEEDED_MESSAGE, FAILED_MESSAGE)
            else "#/components/correlationIds/OrderId"
        ),
        "payload": _ref(f"#/components/schemas/{spec.envelope_model.__name__}"),
        "bindings": {
            "amqp": {"messageType": spec.event_type, "bindingVersion": AMQP_BINDING_VERSION}
        },
        "examples": [{"name": spec.name, "payload": valid_example(spec)}],
    }


def _schemas() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(spec.envelope_model, "validation") for spec in MESSAGES],
        ref_template="#/components/schemas/{model}",
    )
    return dict(sorted(definitions["$defs"].items()))


def build_asyncapi(version: str, topology: TopologySettings | None = None) -> dict[str, Any]:
    """The whole document, deterministic for a given code base."""
    topology = topology or TopologySettings()
    channels = _channels(topology)
    channels["CommandReply"] = {
        "address": None,
        "description": "The queue a command named in its AMQP `reply_to`, published to through "
        "the default exchange; never one whose name starts `dezo.`.",
        "messages": {
            spec.title: _ref(f"#/components/messages/{spec.title}")
            for spec in (SUCCEEDED_MESSAGE, FAILED_MESSAGE)
        },
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ONCOR DEZO adapter",
            "version": version,
            "description": "DEZO orders from the ONCOR registry onto RabbitMQ, and commands "
            "from the expert centre's services back into ONCOR. Every message is a CloudEvent "
            "1.0 in structured JSON mode; generated by `dezo-adapter schemas export`.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "description": "The broker of the demo and the tests",
            }
        },
        "channels": channels,
        "operations": _operations(),
        "components": {
            "messages": {spec.title: _message(spec) for spec in MESSAGES},
            "schemas": _schemas(),
            "correlationIds": {
                "CommandId": {
                    "description": "The command's CloudEvent id, its idempotency key",
                    "location": "$message.header#/correlation_id",
                },
                "OrderId": {
                    "description": "The ONCOR order id",
                    "location": "$message.header#/correlation_id",
                },
            },
        },
    }
