"""Reading a command off the wire: size, CloudEvent envelope, id, type (and that the routing
key says the same), then the command's schema.

Everything here is synchronous and touches nothing outside: what comes out is a validated
command, or an UnreadableCommand saying what is wrong and whatever could still be read
(the command id, its type, its order) so that the sender still gets a `command.failed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from adapter.bus.envelope import (
    ID_MAX_BYTES,
    TYPE_PREFIX,
    CloudEvent,
    EnvelopeError,
    decode,
    parse_json,
)
from adapter.bus.headers import ATTEMPT_HEADER, ROUTING_KEY_HEADER
from adapter.bus.topology import COMMANDS_EXCHANGE
from adapter.consumer.errors import InvalidCommand
from adapter.consumer.provenance import from_the_adapter, trusted_headers
from adapter.consumer.settlement import honoured
from adapter.failures import CommandProblem
from adapter.messages.commands import COMMANDS, Command
from adapter.observability.tracing import TRACEPARENT, TRACESTATE, well_formed

UNKNOWN_COMMAND = "unknown"
_TYPE_SUFFIX = ".v1"


@dataclass(frozen=True)
class ReceivedCommand:
    """A readable, valid command and what the delivery tells about its history."""

    command_id: str
    command: Command
    reply_to: str | None
    attempt: int  # how many times it went through a retry queue
    #: The CloudEvent's own `traceparent`/`tracestate`, used when the headers carry none.
    trace: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.command.name


class UnreadableCommand(InvalidCommand):
    """A command rejected while reading it, with what could be read of it."""

    def __init__(
        self,
        problem: CommandProblem,
        message: str,
        *,
        command_id: str | None,
        command: str,
        order_id: str | None,
    ) -> None:
        super().__init__(problem, message)
        self.command_id = command_id
        self.command = command
        self.order_id = order_id


def read_command(message: AbstractIncomingMessage, max_bytes: int) -> ReceivedCommand:
    """Validate one delivery into a command; raises UnreadableCommand."""
    headers = trusted_headers(message)
    routing_key = _published_with(message, headers)
    routed_as = routing_key if routing_key in COMMANDS else UNKNOWN_COMMAND
    _check_delivery(message, routed_as, max_bytes)
    try:
        event = decode(message.body)
    except EnvelopeError as exc:
        problem: CommandProblem = "not_json" if exc.reason == "not_json" else "not_cloudevent"
        raise UnreadableCommand(
            problem,
            exc.detail,
            command_id=_peek_id(message.body) or message.message_id,
            command=routed_as,
            order_id=None,
        ) from None

    order_id = event.data.get("order_id") if isinstance(event.data, dict) else None
    known = {
        "command_id": event.id,
        "order_id": order_id if isinstance(order_id, str) else None,
    }
    name = _check_event(event, routing_key, message.reply_to, routed_as, known)
    try:
        command = COMMANDS[name].model_validate(event.data)
    except ValidationError as exc:
        raise UnreadableCommand(
            _problem_of(exc.errors()), _describe(exc.errors()), command=name, **known
        ) from None

    return ReceivedCommand(
        command_id=event.id,
        command=command,
        reply_to=message.reply_to,
        attempt=_attempt(headers),
        trace=well_formed({TRACEPARENT: event.traceparent, TRACESTATE: event.tracestate}),
    )


def _check_delivery(message: AbstractIncomingMessage, routed_as: str, max_bytes: int) -> None:
    """How the message came, and its size, before its body is parsed."""
    if message.exchange not in (COMMANDS_EXCHANGE, ""):
        # Someone bound dezo.commands to another exchange, e.g. to dezo.events: answering
        # would feed outcomes back in, forever. A dead letter only, no outcome.
        raise UnreadableCommand(
            "foreign_exchange",
            f"came through exchange {message.exchange!r}; commands are published to "
            f"{COMMANDS_EXCHANGE!r}",
            command_id=None,
            command=routed_as,
            order_id=None,
        )
    if len(message.body) > max_bytes:
        raise UnreadableCommand(
            "too_large",
            f"the message has {len(message.body)} bytes, over the limit of {max_bytes} "
            "(DEZO_COMMAND_MAX_BYTES); send large files by URL instead of inline",
            command_id=message.message_id,
            command=routed_as,
            order_id=None,
        )


def _check_event(
    event: CloudEvent,
    routing_key: str,
    reply_to: str | None,
    routed_as: str,
    known: dict[str, str | None],
) -> str:
    """The command name of a CloudEvent whose id, type, routing key and reply_to are usable."""
    id_bytes = len(event.id.encode())
    if id_bytes > ID_MAX_BYTES:
        raise UnreadableCommand(
            "id_too_long",
            f"the command id has {id_bytes} bytes in UTF-8, over the limit of {ID_MAX_BYTES}: "
            "it comes back as the outcome's AMQP correlation_id, a string of at most 255 bytes",
            command=routed_as,
            **known,
        )
    name = _command_name(event.type)
    if name is None:
        raise UnreadableCommand(
            "unknown_type",
            f"unknown command type {event.type!r}; known types: "
            + ", ".join(f"{TYPE_PREFIX}{known_name}{_TYPE_SUFFIX}" for known_name in COMMANDS),
            command=UNKNOWN_COMMAND,
            **known,
        )
    if name != routing_key:
        raise UnreadableCommand(
            "routing_key_mismatch",
            f"published with routing key {routing_key!r} but its type {event.type!r} is "
            f"{name!r}; publish each command with its own type as routing key",
            command=routed_as,
            **known,
        )
    if reply_to and not honoured(reply_to):
        raise UnreadableCommand(
            "reply_to_not_allowed",
            f"reply_to {reply_to!r} names one of the adapter's own queues; name a queue of "
            "yours (answered through the default exchange), or none",
            command=name,
            **known,
        )
    return name


def _published_with(message: AbstractIncomingMessage, headers: dict[str, Any]) -> str:
    """The routing key the sender used; a retried copy keeps it in a header of our own."""
    if from_the_adapter(message):
        return str(headers.get(ROUTING_KEY_HEADER, ""))
    return message.routing_key or ""


def _command_name(event_type: str) -> str | None:
    """`ru.oncor.dezo.order.conclusion.v1` -> `order.conclusion`, if it is a command."""
    if not (event_type.startswith(TYPE_PREFIX) and event_type.endswith(_TYPE_SUFFIX)):
        return None
    name = event_type[len(TYPE_PREFIX) : -len(_TYPE_SUFFIX)]
    return name if name in COMMANDS else None


def _problem_of(errors: list[ErrorDetails]) -> CommandProblem:
    if any(error["type"] == "invalid_orid" for error in errors):
        return "invalid_orid"
    if any(
        error["loc"][:1] == ("expert_id",) and error["type"] in ("missing", "string_too_short")
        for error in errors
    ):
        return "missing_expert"
    return "schema"


def _describe(errors: list[ErrorDetails]) -> str:
    # Messages only, never the input values: a description may hold clinical text.
    return "invalid command data: " + "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'data'}: {error['msg']}"
        for error in errors
    )


def _peek_id(body: bytes) -> str | None:
    """The `id` of a JSON object that is not a valid CloudEvent, if it has a usable one."""
    try:
        parsed: Any = parse_json(body)
    except ValueError:
        return None
    value = parsed.get("id") if isinstance(parsed, dict) else None
    return value if isinstance(value, str) and value else None


def _attempt(headers: dict[str, Any]) -> int:
    value = headers.get(ATTEMPT_HEADER, 0)
    return value if isinstance(value, int) and value >= 0 else 0
