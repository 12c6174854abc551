"""The command consumer: takes commands off `dezo.commands` and settles every one of them.

    dezo.commands --> intake (read + validate) --> dispatcher (per-order lock, ledger, handler)
                          | unreadable                 | decision
                          v                            v
                      settlement: outcome event (+ reply_to), dead letter, or retry queue
                          --> ack, only after every publish was confirmed

Up to `command_prefetch` commands are in flight, fewer if the memory budget needs it (see
budget); commands for one order run one at a time, in arrival order. On `stop`: no new
deliveries, in-flight ones get `shutdown_grace` seconds, the rest are cancelled unacked and go
back to the queue.

The consumer does not trust aio-pika to restore it after a reconnect (restored consumers can be
silently missing): it consumes on a channel nobody else restores, knows it is `consuming` only
while the broker's ConsumeOk stands on an open channel, and registers again on a fresh channel
whenever that channel closes or the broker cancels it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast

import aiormq
import httpx
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from adapter.bus.connection import Bus
from adapter.bus.topology import COMMANDS_QUEUE
from adapter.config import Settings
from adapter.consumer.attachments import AttachmentFetcher, AttachmentLimits
from adapter.consumer.budget import CommandBudget
from adapter.consumer.dependencies import Dependencies
from adapter.consumer.dictionaries import DictionaryCache
from adapter.consumer.dispatcher import Decision, Dispatcher, Remembered, RetryLater
from adapter.consumer.documents import DOCUMENTS
from adapter.consumer.intake import UnreadableCommand, read_command
from adapter.consumer.settlement import Settlement
from adapter.messages.outcomes import CommandFailed, CommandSucceeded
from adapter.observability import metrics
from adapter.oncor.client import OncorClient
from adapter.waiting import first_of

log = logging.getLogger(__name__)

#: Seconds allowed to open a channel and register the consumer before trying again.
REGISTER_TIMEOUT = 10.0
#: Seconds between attempts to register while the broker refuses or is away.
REGISTER_RETRY = 1.0
#: Seconds between checks that the consumer still stands, besides waking on a close or cancel.
CHECK_INTERVAL = 5.0


class CommandConsumer:
    def __init__(self, settings: Settings, oncor: OncorClient, bus: Bus) -> None:
        self._settings = settings
        self._settlement = Settlement(bus)
        self._bus = bus
        self._dictionaries = DictionaryCache(
            oncor, (spec.dictionary for spec in DOCUMENTS.values())
        )
        # Downloads of attachments by URL: a client of their own, never the ONCOR client.
        self._downloads = httpx.AsyncClient(
            follow_redirects=True, timeout=settings.attachment_url_timeout
        )
        limits = AttachmentLimits(
            inline_max_bytes=settings.attachment_inline_max_bytes,
            url_max_bytes=settings.attachment_url_max_bytes,
            url_timeout=settings.attachment_url_timeout,
            allowed_hosts=settings.allowed_attachment_hosts,
            url_concurrency=settings.attachment_url_concurrency,
            spool_max_bytes=settings.attachment_spool_max_bytes,
        )
        deps = Dependencies(
            oncor=oncor,
            dictionaries=self._dictionaries,
            attachments=AttachmentFetcher(limits, self._downloads),
            oncor_origin=settings.oncor_origin,
            zone=settings.zone,
        )
        self._dispatcher = Dispatcher(deps, retry_budget=len(settings.command_retry_delays))
        self._prefetch = settings.command_prefetch_in_budget  # memory: see budget
        self._budget = CommandBudget(settings.command_memory_budget_bytes)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._wire: aiormq.Channel | None = None  # the AMQP channel the consumer stands on
        self._tag: str | None = None
        self._lost = asyncio.Event()  # the channel closed or the broker cancelled the consumer

    @property
    def consuming(self) -> bool:
        """The broker delivers `dezo.commands` to this consumer: basic.consume succeeded on a
        channel that is still open, and the broker has not cancelled it since."""
        wire, tag = self._wire, self._tag
        return wire is not None and not wire.is_closed and tag in wire.consumers

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then finish in-flight commands and return."""
        try:
            if not await self._dictionaries.load_until_ready(stop):
                return
            refresher = asyncio.create_task(
                self._dictionaries.keep_fresh(self._settings.dictionary_refresh_interval, stop)
            )
            try:
                await self._consume_until(stop)
            finally:
                refresher.cancel()
                await asyncio.gather(refresher, return_exceptions=True)
        finally:
            await self._downloads.aclose()

    async def _consume_until(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                if not self.consuming:
                    await self._start_consuming(stop)
                await first_of(stop.wait(), self._lost.wait(), seconds=CHECK_INTERVAL)
        finally:
            await self._stop_consuming()
            await self._finish_in_flight()
            await self._close_channel()
            log.info("command consumer stopped")

    async def _start_consuming(self, stop: asyncio.Event) -> None:
        """Register the consumer once the broker is ready; after a failure, pause a little."""
        self._lost.clear()
        await first_of(self._bus.wait_ready(), stop.wait())
        if stop.is_set():
            return
        try:
            await asyncio.wait_for(self._register(), REGISTER_TIMEOUT)
        except Exception as exc:
            log.warning("could not consume commands, retrying", extra={"error": repr(exc)})
            await self._close_channel()  # a half-registered consumer must not linger
            await first_of(stop.wait(), seconds=REGISTER_RETRY)

    async def _register(self) -> None:
        self._tag = None
        channel = self._channel
        if channel is None or channel.is_closed:
            # In-flight commands of a closed channel cannot be acked any more; the broker has
            # requeued them already.
            channel = await self._bus.consumer_channel(prefetch=self._prefetch)
            channel.close_callbacks.add(self._on_channel_closed)
            self._channel = channel
            self._queue = await channel.declare_queue(COMMANDS_QUEUE, passive=True)
        wire = cast(aiormq.Channel, await channel.get_underlay_channel())
        wire.on_consumer_cancel_callbacks.add(self._on_cancelled)
        assert self._queue is not None
        self._tag = await self._queue.consume(self._on_message)
        self._wire = wire
        log.info("consuming commands", extra={"prefetch": self._prefetch})

    async def _stop_consuming(self) -> None:
        """No new deliveries; those in flight carry on."""
        if not self.consuming:
            return
        assert self._queue is not None and self._tag is not None
        try:
            await self._queue.cancel(self._tag)
        except Exception as exc:  # the connection may be gone: finish in-flight work anyway
            log.warning("could not cancel the consumer", extra={"error": repr(exc)})

    async def _close_channel(self) -> None:
        channel, self._channel, self._queue = self._channel, None, None
        if channel is None or channel.is_closed:
            return
        try:
            await channel.close()
        except Exception as exc:
            log.warning("could not close the command channel", extra={"error": repr(exc)})

    def _on_channel_closed(self, channel: Any, exc: BaseException | None) -> None:
        if channel is not self._channel:
            return  # one we closed ourselves
        self._lost.set()
        log.warning("command channel closed", extra={"error": repr(exc)})

    def _on_cancelled(self, frame: Any) -> None:
        log.warning("the broker cancelled the command consumer", extra={"queue": COMMANDS_QUEUE})
        self._lost.set()

    async def _finish_in_flight(self) -> None:
        pending = set(self._in_flight)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=self._settings.shutdown_grace)
        for task in pending:
            task.cancel()  # unacked: the broker hands the command to someone else
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.warning("shutdown grace over; commands left unacked", extra={"count": len(pending)})

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        started = time.perf_counter()
        try:
            async with self._budget.holding(len(message.body)):
                command = await self._process(message)
            metrics.command_duration.labels(command).observe(time.perf_counter() - started)
        except Exception:
            # Settling failed (the broker refused a publish, or the channel is gone): leave the
            # command to the broker, which redelivers it; reconciliation makes that safe.
            log.exception("could not settle a command", extra={"message_id": message.message_id})
            await _give_back(message)
        finally:
            self._in_flight.discard(task)

    async def _process(self, message: AbstractIncomingMessage) -> str:
        """Read, dispatch and settle one delivery; returns the command name for metrics."""
        try:
            received = read_command(message, self._settings.command_max_bytes)
        except UnreadableCommand as exc:
            await self._settle_unreadable(message, exc)
            return exc.command
        decision = await self._dispatcher.dispatch(received)
        settlement = self._settlement
        if isinstance(decision, RetryLater):
            await settlement.retry_later(message, decision.step)
            metrics.command_retries.labels(received.name).inc()
        elif isinstance(decision, Remembered):
            await settlement.announce(decision.outcome, received.reply_to)
        elif isinstance(decision, CommandFailed):
            await asyncio.gather(
                settlement.dead_letter(
                    message, decision.problem, decision.message, decision.command_id
                ),
                settlement.announce(decision, received.reply_to),
            )
        else:
            await settlement.announce(decision, received.reply_to)
        await message.ack()
        _log_decision(received.command_id, received.command.order_id, decision)
        if isinstance(decision, CommandSucceeded | CommandFailed):
            _count(decision)
        return received.name

    async def _settle_unreadable(
        self, message: AbstractIncomingMessage, exc: UnreadableCommand
    ) -> None:
        """Dead-letter it; announce `command.failed` only if there is a command id to name."""
        publishes = [
            self._settlement.dead_letter(message, exc.problem, exc.message, exc.command_id)
        ]
        failed = None
        if exc.command_id:
            failed = CommandFailed(
                command=exc.command,
                command_id=exc.command_id,
                order_id=exc.order_id,
                reason="invalid",
                problem=exc.problem,
                message=exc.message,
            )
            publishes.append(self._settlement.announce(failed, message.reply_to))
        await asyncio.gather(*publishes)
        await message.ack()
        log.warning(
            "unreadable command dead-lettered",
            extra={"command_id": exc.command_id, "problem": exc.problem, "error": exc.message},
        )
        if failed is not None:
            _count(failed)
        else:
            metrics.dead_letters.labels(exc.problem).inc()


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
    elif isinstance(decision, Remembered):
        log.info("duplicate command, outcome announced again", extra=ids)
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


async def _give_back(message: AbstractIncomingMessage) -> None:
    try:
        await message.nack(requeue=True)
    except Exception:
        log.warning(
            "could not return the command; the broker will when the channel closes",
            extra={"message_id": message.message_id},
        )
