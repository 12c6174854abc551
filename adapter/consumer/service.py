"""The command consumer: takes commands off `dezo.commands` and settles every one of them.

    dezo.commands --> intake (read + validate) --valid--> dezo.commands.partition.K (by order)
                          | unreadable                          |
                          v                                     v
                      settlement           dispatcher (per-order lock, handler) -> decision
                          |                                     |
                          +--> outcome event (+ reply_to), dead letter, or retry queue
                               --> ack, only after every publish was confirmed

Any replica reads the intake queue. Each partition queue has a single active consumer, so all
commands of one order are handled by one replica at a time, one after the other. A replica that
loses a partition's channel abandons that partition's work at once. A command the partition
delivers again (its former owner lost its channel, or gave it back) may have a write of that
owner still in flight: it goes through the hand-over queue first, which holds it for
`oncor_write_horizon`, so that when it is handled that write has landed (or never will) and is
found. Waiting in the broker, not in a replica, the wait survives the next connection loss and
costs no delivery attempt.

Up to `command_prefetch` commands are in flight, fewer if the memory budget needs it (see
budget), split between the intake and the partitions. On `stop`: no new deliveries, in-flight
ones get `shutdown_grace` seconds, the rest are cancelled unacked and go back to their queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

import httpx
from aio_pika.abc import AbstractIncomingMessage

from adapter.bus.connection import Bus
from adapter.bus.subscription import OnMessage, Subscription
from adapter.bus.topology import (
    COMMANDS_QUEUE,
    partition_of,
    partition_queue_name,
)
from adapter.config import Settings
from adapter.consumer.attachments import AttachmentFetcher, AttachmentLimits
from adapter.consumer.budget import CommandBudget
from adapter.consumer.dependencies import Dependencies
from adapter.consumer.dictionaries import DictionaryCache
from adapter.consumer.dispatcher import Decision, Dispatcher, RetryLater, WaitForOncor
from adapter.consumer.documents import DOCUMENTS
from adapter.consumer.intake import ReceivedCommand, UnreadableCommand, read_command
from adapter.consumer.settlement import Settlement
from adapter.messages.outcomes import CommandFailed, CommandSucceeded
from adapter.observability import metrics
from adapter.oncor.client import OncorClient

log = logging.getLogger(__name__)


class CommandConsumer:
    def __init__(self, settings: Settings, oncor: OncorClient, bus: Bus) -> None:
        self._settings = settings
        self._settlement = Settlement(bus)
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
        self._dispatcher = Dispatcher(
            deps,
            retry_budget=len(settings.command_retry_delays),
            write_horizon=settings.oncor_write_horizon,
        )
        self._budget = CommandBudget(settings.command_memory_budget_bytes)
        # Bodies in flight, intake and partitions together, stay within the memory budget's
        # prefetch (see budget), however many partitions one replica holds.
        prefetch = settings.command_prefetch_in_budget
        intake_prefetch = max(1, prefetch // 2)
        per_partition = max(1, (prefetch - intake_prefetch) // settings.command_partitions)
        self._intake = Subscription(
            bus, COMMANDS_QUEUE, self._within_budget(self._on_intake), prefetch=intake_prefetch
        )
        self._partitions: list[Subscription] = []
        for index in range(settings.command_partitions):
            partition = Subscription(
                bus,
                partition_queue_name(index),
                self._within_budget(self._on_command),
                prefetch=per_partition,
                pause_while=oncor.breaker,  # the intake never calls ONCOR: it keeps going
            )
            self._partitions.append(partition)

    def _within_budget(self, handle: OnMessage) -> OnMessage:
        async def admitted(message: AbstractIncomingMessage) -> None:
            async with self._budget.holding(len(message.body)):
                await handle(message)

        return admitted

    @property
    def subscriptions(self) -> list[Subscription]:
        return [self._intake, *self._partitions]

    @property
    def consuming(self) -> bool:
        """The broker delivers the intake and every partition to this replica, or would as soon
        as the replica now active on a partition goes away; partitions paused while ONCOR is
        down count as standing."""
        return all(sub.consuming or sub.paused for sub in self.subscriptions)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then finish in-flight commands and return."""
        try:
            if not await self._dictionaries.load_until_ready(stop):
                return
            refresher = asyncio.create_task(
                self._dictionaries.keep_fresh(self._settings.dictionary_refresh_interval, stop)
            )
            announcing = asyncio.create_task(self._announce_consuming())
            try:
                await asyncio.gather(*(sub.run(stop) for sub in self.subscriptions))
            finally:
                announcing.cancel()
                refresher.cancel()
                await asyncio.gather(refresher, return_exceptions=True)
                await self._finish()
        finally:
            await self._downloads.aclose()

    async def _announce_consuming(self) -> None:
        await asyncio.gather(*(sub.registered.wait() for sub in self.subscriptions))
        log.info("consuming commands", extra={"partitions": len(self._partitions)})

    async def _finish(self) -> None:
        grace = self._settings.shutdown_grace
        await asyncio.gather(*(sub.finish(grace) for sub in self.subscriptions))
        await asyncio.gather(*(sub.close() for sub in self.subscriptions))
        log.info("command consumer stopped")

    # --- intake: read, then hand to the order's partition --------------------------------------

    async def _on_intake(self, message: AbstractIncomingMessage) -> None:
        try:
            received = read_command(message, self._settings.command_max_bytes)
        except UnreadableCommand as exc:
            await self._settled(message, self._settle_unreadable(message, exc))
            return
        partition = partition_of(received.command.order_id, len(self._partitions))
        await self._settled(
            message, self._settlement.forward(message, partition_queue_name(partition))
        )

    # --- a partition: one order at a time -----------------------------------------------------

    async def _on_command(self, message: AbstractIncomingMessage) -> None:
        started = time.perf_counter()
        try:
            received = read_command(message, self._settings.command_max_bytes)
        except UnreadableCommand as exc:  # only if it was forwarded by an older release
            await self._settled(message, self._settle_unreadable(message, exc))
            return
        if message.redelivered:
            await self._settled(message, self._settlement.defer(message))
            log.info(
                "redelivered command deferred until earlier writes have landed",
                extra={"command_id": received.command_id, "order_id": received.command.order_id},
            )
            return
        await self._settled(message, self._settle(message, received))
        metrics.command_duration.labels(received.name).observe(time.perf_counter() - started)

    async def _settle(self, message: AbstractIncomingMessage, received: ReceivedCommand) -> None:
        decision = await self._dispatcher.dispatch(received)
        settlement = self._settlement
        if isinstance(decision, RetryLater):
            await settlement.retry_later(message, decision.step)
            metrics.command_retries.labels(received.name).inc()
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
        _log_decision(received.command_id, received.command.order_id, decision)
        if isinstance(decision, CommandSucceeded | CommandFailed):
            _count(decision)

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
        log.warning(
            "unreadable command dead-lettered",
            extra={"command_id": exc.command_id, "problem": exc.problem, "error": exc.message},
        )
        if failed is not None:
            _count(failed)
        else:
            metrics.dead_letters.labels(exc.problem).inc()

    async def _settled(self, message: AbstractIncomingMessage, publishes: Awaitable[None]) -> None:
        """Ack once `publishes` are confirmed. If settling fails (the broker refused a publish,
        or the channel is gone) the command goes back to the broker, which delivers it again;
        reconciliation makes that safe."""
        try:
            await publishes
            await message.ack()
        except Exception:
            log.exception("could not settle a command", extra={"message_id": message.message_id})
            await _give_back(message)


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


async def _give_back(message: AbstractIncomingMessage) -> None:
    try:
        await message.nack(requeue=True)
    except Exception:
        log.warning(
            "could not return the command; the broker will when the channel closes",
            extra={"message_id": message.message_id},
        )
