"""What happens to one delivery: read it, then defer it or carry it out; settle.

    read + validate --unreadable--> dead letter (+ command.failed if it has an id)
                    --redelivered--> the hand-over queue (earlier writes land meanwhile)
                    --first delivery--> dispatcher -> decision -> outcome, dead letter, retry

Every path ends in `_settled`: the ack, only after every publish was confirmed. A publish the
broker refuses (a queue without a quorum of nodes) is tried again with the delivery held:
giving it back would spend one of its delivery attempts each time, and a queue that stays
without quorum for a few seconds would see the broker dead-letter the command unanswered. No
AMQP channel is touched here, only the message and the bus's publishes, so the paths run in
memory in tests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from functools import partial

from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import DeliveryError
from opentelemetry.trace import Span, SpanKind

from adapter.bus.topology import COMMANDS_QUEUE
from adapter.consumer.dispatcher import Decision, Dispatcher, RetryLater, WaitForOncor
from adapter.consumer.intake import ReceivedCommand, UnreadableCommand, read_command
from adapter.consumer.settlement import Settlement
from adapter.failures import reason_of
from adapter.messages.outcomes import CommandFailed, CommandSucceeded
from adapter.observability import metrics, tracing

log = logging.getLogger(__name__)

#: Seconds before a publish the broker refused is tried again: doubling, up to the cap.
REFUSED_PUBLISH_RETRY = 0.5
REFUSED_PUBLISH_RETRY_MAX = 10.0


class CommandDeliveries:
    def __init__(self, settlement: Settlement, dispatcher: Dispatcher, *, max_bytes: int) -> None:
        self.settlement = settlement
        self._dispatcher = dispatcher
        self._max_bytes = max_bytes
        #: awaited just before a delivery is acked or given back: its subscription's `settling`
        self.before_settle: Callable[[AbstractIncomingMessage], Awaitable[None]] = _at_once

    async def on_command(self, message: AbstractIncomingMessage) -> None:
        started = time.perf_counter()
        try:
            received = read_command(message, self._max_bytes)
        except UnreadableCommand as exc:
            with _processing(message, None):
                await self._settle_unreadable(message, exc)
            return
        with _processing(message, received) as span:
            if message.redelivered:
                await self._settled(message, partial(self.settlement.defer, message))
                log.info(
                    "redelivered command deferred until earlier writes have landed",
                    extra={
                        "command_id": received.command_id,
                        "order_id": received.command.order_id,
                    },
                )
                return
            await self._settle(message, received, span)
        metrics.command_duration.labels(received.name).observe(time.perf_counter() - started)

    async def _settle(
        self, message: AbstractIncomingMessage, received: ReceivedCommand, span: Span
    ) -> None:
        decision = await self._dispatcher.dispatch(received)
        if isinstance(decision, CommandFailed):
            tracing.failed(span, decision.problem)
        if not await self._settled(message, partial(self._publish, message, received, decision)):
            return
        if isinstance(decision, RetryLater):
            metrics.command_retries.labels(received.name).inc()
        _log_decision(received.command_id, received.command.order_id, decision)
        if isinstance(decision, CommandSucceeded | CommandFailed):
            _count(decision)

    async def _publish(
        self, message: AbstractIncomingMessage, received: ReceivedCommand, decision: Decision
    ) -> None:
        settlement = self.settlement
        if isinstance(decision, RetryLater):
            await settlement.retry_later(message, decision.step)
        elif isinstance(decision, WaitForOncor):
            await settlement.retry_later(message, 1, attempt=received.attempt)
        elif isinstance(decision, CommandFailed):
            await asyncio.gather(
                settlement.dead_letter(
                    message, decision.problem, decision.message, decision.command_id
                ),
                settlement.announce(decision, received.reply_to),
            )
        else:
            await settlement.announce(decision, received.reply_to)

    async def _settle_unreadable(
        self, message: AbstractIncomingMessage, exc: UnreadableCommand
    ) -> None:
        """Dead-letter it; announce `command.failed` only if there is a command id to name."""
        failed = None
        if exc.command_id:
            failed = CommandFailed(
                command=exc.command,
                command_id=exc.command_id,
                order_id=exc.order_id,
                reason=reason_of(exc.problem),
                problem=exc.problem,
                message=exc.message,
            )

        async def publish() -> None:
            publishes = [
                self.settlement.dead_letter(message, exc.problem, exc.message, exc.command_id)
            ]
            if failed is not None:
                publishes.append(self.settlement.announce(failed, message.reply_to))
            await asyncio.gather(*publishes)

        if not await self._settled(message, publish):
            return
        log.warning(
            "unreadable command dead-lettered",
            extra={"command_id": exc.command_id, "problem": exc.problem, "error": exc.message},
        )
        if failed is not None:
            _count(failed)
        else:
            metrics.dead_letters.labels(exc.problem).inc()

    async def _settled(
        self, message: AbstractIncomingMessage, publish: Callable[[], Awaitable[None]]
    ) -> bool:
        """Ack once `publish()` is confirmed; True if it was. If the channel is gone, or anything
        but a refused publish goes wrong, the command goes back to the broker, which delivers
        it again; reconciliation makes that safe."""
        delay = REFUSED_PUBLISH_RETRY
        while True:
            try:
                await publish()
                await self.before_settle(message)
                await message.ack()
                return True
            except DeliveryError as exc:
                log.warning(
                    "the broker refused a publish, trying again",
                    extra={"message_id": message.message_id, "error": repr(exc), "in_s": delay},
                )
                await asyncio.sleep(delay)
                delay = min(2 * delay, REFUSED_PUBLISH_RETRY_MAX)
            except Exception:
                log.exception(
                    "could not settle a command", extra={"message_id": message.message_id}
                )
                await self.before_settle(message)
                await _give_back(message)
                return False


def _processing(
    message: AbstractIncomingMessage, received: ReceivedCommand | None
) -> AbstractContextManager[Span]:
    """The consumer span of one delivery, continuing the trace the command came with."""
    queue = message.routing_key if message.exchange == "" else COMMANDS_QUEUE
    attributes = tracing.messaging(
        "process", queue or "", message.routing_key or "", message.message_id
    )
    if received is not None:
        attributes["dezo.command_id"] = received.command_id
        attributes["dezo.order_id"] = received.command.order_id
        attributes["dezo.command"] = received.name
    return tracing.span(
        f"process {queue}",
        kind=SpanKind.CONSUMER,
        context=tracing.incoming_context(message.headers, received.trace if received else None),
        attributes=attributes,
    )


def _count(outcome: CommandSucceeded | CommandFailed) -> None:
    if isinstance(outcome, CommandSucceeded):
        metrics.commands.labels(outcome.command, "succeeded").inc()
        return
    metrics.commands.labels(outcome.command, outcome.reason).inc()
    metrics.dead_letters.labels(outcome.problem).inc()


def _log_decision(command_id: str, order_id: str, decision: Decision) -> None:
    ids = {"command_id": command_id, "order_id": order_id}
    if isinstance(decision, CommandSucceeded):
        log.info("command succeeded", extra={**ids, "record_id": decision.record_id})
    elif isinstance(decision, CommandFailed):
        log.warning(
            "command failed",
            extra={
                **ids,
                "reason": decision.reason,
                "problem": decision.problem,
                "error": decision.message,
            },
        )


async def _at_once(message: AbstractIncomingMessage) -> None:
    return None


async def _give_back(message: AbstractIncomingMessage) -> None:
    try:
        await message.nack(requeue=True)
    except Exception:
        log.warning(
            "could not return the command; the broker will when the channel closes",
            extra={"message_id": message.message_id},
        )
