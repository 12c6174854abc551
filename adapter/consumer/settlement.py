"""How a delivery ends: an outcome announced, a dead letter, or a delayed retry; then the ack.

Every publish here waits for the broker's confirm, and the service acks the command only after
all of them; a crash anywhere in between means a redelivery (reconciled, see idempotency),
never a lost outcome or a lost command.

Dead letters keep the original body and properties and say why in headers (bus.headers), so
an operator can replay them to `dezo.commands` after a fix.

Every publish has a producer span, and what it publishes carries that span's trace context:
outcomes in the CloudEvent and the headers, copies (hand-over, retry, dead letter, moved back)
in the `traceparent` header, which replaces whatever the delivery had there.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from adapter.bus.envelope import event_message, fits_short_string
from adapter.bus.headers import (
    ATTEMPT_HEADER,
    COMMAND_ID_HEADER,
    ERROR_HEADER,
    REASON_HEADER,
    ROUTING_KEY_HEADER,
)
from adapter.bus.outbox import Outbox
from adapter.bus.topology import COMMANDS_QUEUE, DEAD_EXCHANGE, EVENTS_EXCHANGE
from adapter.consumer.provenance import trusted_headers
from adapter.messages.outcomes import (
    FAILED_TYPE,
    SUCCEEDED_TYPE,
    CommandSucceeded,
    Outcome,
    outcome_event_id,
)
from adapter.observability import tracing

OWN_QUEUE_PREFIX = "dezo."  # every queue and exchange of the adapter
_MAX_ERROR_HEADER = 1000
# Written by the broker; a copy we publish must start its own history without them.
_BROKER_HEADERS = frozenset(
    {
        "x-death",
        "x-delivery-count",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
    }
)


class Settlement:
    def __init__(self, bus: Outbox) -> None:
        self._bus = bus

    async def announce(self, outcome: Outcome, reply_to: str | None) -> None:
        """The outcome event to `dezo.events`, and to the command's `reply_to` if it gave one
        that is `honoured` (intake refuses the others; this is the last guard).

        Not `mandatory`: an outcome nobody subscribed to is not an error of the command; the
        confirm still proves the broker took it.
        """
        publishes = [self._announce(EVENTS_EXCHANGE, outcome.routing_key, outcome)]
        if reply_to and honoured(reply_to):
            publishes.append(self._announce("", reply_to, outcome))
        await asyncio.gather(*publishes)

    async def _announce(self, exchange: str, routing_key: str, outcome: Outcome) -> None:
        with tracing.publishing(exchange, routing_key, outcome_event_id(outcome)):
            message = outcome_message(outcome)
            await self._bus.publish(exchange, routing_key, message, mandatory=False)

    async def dead_letter(
        self, message: AbstractIncomingMessage, problem: str, error: str, command_id: str | None
    ) -> None:
        """The original message to `dezo.dead`, with why in its headers."""
        headers = _headers_of_copy(message)
        headers.pop(ATTEMPT_HEADER, None)  # a replay starts with a fresh retry budget
        headers.update({REASON_HEADER: problem, ERROR_HEADER: error[:_MAX_ERROR_HEADER]})
        if command_id and fits_short_string(command_id):  # an id over that is refused anyway
            headers[COMMAND_ID_HEADER] = command_id
        await self._publish_copy(DEAD_EXCHANGE, str(headers[ROUTING_KEY_HEADER]), message, headers)

    async def defer(self, message: AbstractIncomingMessage) -> None:
        """A copy to the hand-over queue, as it is: back after the delay, with its budget."""
        await self._publish_copy("", self._bus.handover_queue, message, _headers_of_copy(message))

    async def move_back(self, message: AbstractIncomingMessage) -> None:
        """A copy to `dezo.commands`, as it is (a command an earlier release left elsewhere)."""
        await self._publish_copy("", COMMANDS_QUEUE, message, _headers_of_copy(message))

    async def retry_later(
        self, message: AbstractIncomingMessage, step: int, attempt: int | None = None
    ) -> None:
        """A copy to retry queue `step`, whose TTL sends it back to `dezo.commands`; it counts
        as attempt `step` of the retry budget unless another `attempt` is given."""
        headers = _headers_of_copy(message)
        headers[ATTEMPT_HEADER] = step if attempt is None else attempt
        await self._publish_copy("", self._bus.retry_queue(step), message, headers)

    async def _publish_copy(
        self,
        exchange: str,
        routing_key: str,
        message: AbstractIncomingMessage,
        headers: dict[str, Any],
    ) -> None:
        with tracing.publishing(exchange, routing_key, message.message_id):
            copy = copy_message(message, tracing.retraced(headers))
            await self._bus.publish(exchange, routing_key, copy)


def honoured(reply_to: str) -> bool:
    """`reply_to` names a queue, answered through the default exchange, and not one of ours:
    `reply_to: dezo.commands` would feed the adapter its own outcomes."""
    return not reply_to.startswith(OWN_QUEUE_PREFIX)


def outcome_message(outcome: Outcome) -> aio_pika.Message:
    """The outcome event, correlated to its command (when the id fits an AMQP short string;
    `command_id` in the event always names it)."""
    succeeded = isinstance(outcome, CommandSucceeded)
    command_id = outcome.command_id
    return event_message(
        SUCCEEDED_TYPE if succeeded else FAILED_TYPE,
        outcome_event_id(outcome),
        outcome,
        subject=outcome.order_id,
        correlation_id=command_id if fits_short_string(command_id) else None,
    )


def own_headers(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The message's headers without those the broker wrote, nor forged `x-dezo-*` ones."""
    headers = trusted_headers(message)
    return {name: value for name, value in headers.items() if name not in _BROKER_HEADERS}


def _headers_of_copy(message: AbstractIncomingMessage) -> dict[str, Any]:
    """Our headers for a copy; routed by queue name, it keeps the command it was sent as."""
    headers = own_headers(message)
    headers.setdefault(ROUTING_KEY_HEADER, message.routing_key or "")
    return headers


def copy_message(message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    """The same body and properties, persistent, with these headers."""
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        reply_to=message.reply_to,
        type=message.type,
        timestamp=message.timestamp,
        app_id=message.app_id,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
