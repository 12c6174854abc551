"""The command consumer: takes commands off `dezo.commands` and settles every one of them.

    dezo.commands --> read + validate --> dispatcher (order's line, handler) -> decision
                          | unreadable                                  |
                          v                                             v
                      settlement: outcome event (+ reply_to), dead letter, or retry queue
                          --> ack, only after every publish was confirmed

Only the replica holding the commands ownership (a token, see bus.leadership) consumes
`dezo.commands`, so all commands of one order are handled by one replica, one after the other
(each in its order's line, see order_line). The others stand by on the token queue. A new owner
that took over from a replica that went away waits `oncor_write_horizon` before its first
command, so that the former owner's writes have landed (or never will) and are found; one that
was handed the token by an owner that stopped cleanly starts at once.

A replica that loses its channel abandons its work at once. A command delivered again
(`redelivered`) may have a write of that work still in flight: it goes through the hand-over
queue first, which holds it for `oncor_write_horizon`. Waiting in the broker, not in a replica,
the wait survives the next connection loss and costs no delivery attempt.

Up to `command_prefetch` commands are in flight, fewer if their bodies need it (see budget's
`BodiesWindow`); what happens to each delivery is in deliveries. On `stop`: no new deliveries,
in-flight ones get `shutdown_grace` seconds, the rest are cancelled unacked and go back to the
queue.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aio_pika.abc import AbstractIncomingMessage

from adapter.bus.connection import Bus
from adapter.bus.leadership import Leadership, NotHeld
from adapter.bus.subscription import Gate, OnMessage, Subscription
from adapter.bus.topology import COMMANDS_QUEUE
from adapter.consumer.budget import BodiesWindow, CommandBudget
from adapter.consumer.deliveries import CommandDeliveries
from adapter.consumer.dictionaries import DictionaryCache
from adapter.consumer.legacy import move_back_partitions
from adapter.waiting import to_the_end

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumerSettings:
    window: BodiesWindow  # deliveries in flight, within the memory budget
    dictionary_refresh_interval: float
    shutdown_grace: float


class CommandConsumer:
    def __init__(
        self,
        settings: ConsumerSettings,
        bus: Bus,
        deliveries: CommandDeliveries,
        dictionaries: DictionaryCache,
        budget: CommandBudget,
        ownership: Leadership,
        oncor_down: Gate,
    ) -> None:
        self._settings = settings
        self._bus = bus
        self._settlement = deliveries.settlement
        self._dictionaries = dictionaries
        self._budget = budget
        self._ownership = ownership
        self._commands = Subscription(
            bus,
            COMMANDS_QUEUE,
            self._within_budget(deliveries.on_command),
            window=settings.window,
            pause_while=(NotHeld(ownership), oncor_down),
        )
        deliveries.before_settle = self._commands.settling

    def _within_budget(self, handle: OnMessage) -> OnMessage:
        async def admitted(message: AbstractIncomingMessage) -> None:
            async with self._budget.holding(len(message.body)):
                await handle(message)

        return admitted

    @property
    def consuming(self) -> bool:
        """This replica stands on the token queue, and consumes the commands if it owns them
        (paused while ONCOR is down, or while a former owner's writes may still land; between
        two lanes while it holds all its memory budget allows; or resuming, as it does the
        moment it gains the ownership)."""
        commands = self._commands
        return self._ownership.consuming and (
            commands.consuming or commands.between_lanes or commands.paused or commands.resuming
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume while owning the commands, until `stop` is set; then finish in-flight commands,
        hand the ownership on, and return."""
        if not await self._dictionaries.load_until_ready(stop):
            return
        refresher = asyncio.create_task(
            self._dictionaries.keep_fresh(self._settings.dictionary_refresh_interval, stop)
        )
        electing = asyncio.create_task(self._ownership.take_part())
        announcing = asyncio.create_task(self._announce_consuming())
        upgrading = asyncio.create_task(self._move_back_leftovers(stop))
        try:
            await self._commands.run(stop)
        finally:
            announcing.cancel()
            upgrading.cancel()
            refresher.cancel()
            await asyncio.gather(refresher, upgrading, return_exceptions=True)
            await self._finish()
            await asyncio.gather(electing, return_exceptions=True)

    async def _announce_consuming(self) -> None:
        await self._ownership.registered.wait()
        log.info("ready for commands")  # the owner, or standing by to become it
        await self._ownership.gained.wait()
        await self._commands.registered.wait()
        log.info("consuming commands")

    async def _move_back_leftovers(self, stop: asyncio.Event) -> None:
        await self._ownership.gained.wait()
        try:
            # Stopped between two messages, not in a queue call: one cut short could cost the
            # connection (waiting.to_the_end).
            await to_the_end(move_back_partitions(self._bus, self._settlement, stop))
        except Exception as exc:  # tried again by the next start; nothing was lost
            log.warning("could not empty the old partition queues", extra={"error": repr(exc)})

    async def _finish(self) -> None:
        finished = await self._commands.finish(self._settings.shutdown_grace)
        # Still the owner while the last commands finish: no one else takes their orders.
        await self._ownership.close(clean=finished)
        await self._commands.close()
        log.info("command consumer stopped")
