"""Partition queues of an earlier release, emptied back into `dezo.commands`.

That release forwarded every valid command to `dezo.commands.partition.K` (K from the order id)
and consumed those queues. This one consumes `dezo.commands` alone, so whatever an upgrade left
in them is moved back, as it is: through the default exchange, so that the adapter's own headers
on it stay trusted (consumer.provenance). Each emptied queue is then deleted. The commands owner
does it once, when it first gains the ownership; every replica of the earlier release must have
stopped by then (README, "Upgrading"), or one could still publish into a queue being deleted.
"""

from __future__ import annotations

import asyncio
import logging

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from aiormq.exceptions import ChannelNotFoundEntity

from adapter.bus.connection import Bus
from adapter.bus.topology import LEGACY_PARTITION_PREFIX
from adapter.consumer.settlement import Settlement

log = logging.getLogger(__name__)

#: The earlier release's upper bound of DEZO_COMMAND_PARTITIONS; they were numbered from 0.
MAX_PARTITIONS = 64
#: A partition queue with nothing delivered for this long has been emptied.
IDLE = 1.0
PREFETCH = 32


async def move_back_partitions(bus: Bus, settlement: Settlement, stop: asyncio.Event) -> int:
    """Move every message of the old partition queues to `dezo.commands`, until `stop` is set
    (what is left stays where it is, for the next start); how many were moved."""
    moved = 0
    for index in range(MAX_PARTITIONS):
        if stop.is_set():
            break
        name = f"{LEGACY_PARTITION_PREFIX}{index}"
        channel = await bus.channel(prefetch=PREFETCH, publisher_confirms=False)
        try:
            try:
                queue = await channel.declare_queue(name, passive=True, robust=False)
            except ChannelNotFoundEntity:
                break  # none left: the next index was never declared
            while queue.declaration_result.message_count and not stop.is_set():
                moved += await _empty(queue, settlement, stop)
                queue = await channel.declare_queue(name, passive=True, robust=False)
            if queue.declaration_result.message_count:
                break  # stopped: not deleted with commands in it
            # Quorum queues accept neither `if_unused` nor `if_empty`.
            await queue.delete(if_unused=False, if_empty=False)
            log.info("deleted a partition queue of an earlier release", extra={"queue": name})
        finally:
            if not channel.is_closed:
                await channel.close()
    if moved:
        log.info("moved commands back from old partition queues", extra={"count": moved})
    return moved


async def _empty(queue: AbstractQueue, settlement: Settlement, stop: asyncio.Event) -> int:
    """Consume the queue until it stays quiet or `stop` is set (a single-active-consumer queue
    refuses basic.get); every message is confirmed in `dezo.commands` before it is acked."""
    received: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    tag = await queue.consume(received.put)
    moved = 0
    while not stop.is_set():
        try:
            message = await asyncio.wait_for(received.get(), IDLE)
        except TimeoutError:
            break
        await _move(message, settlement)
        moved += 1
    await queue.cancel(tag)
    while not received.empty():  # delivered before the cancel: acked here, or lost on delete
        await _move(received.get_nowait(), settlement)
        moved += 1
    return moved


async def _move(message: AbstractIncomingMessage, settlement: Settlement) -> None:
    # One an old replica was carrying out when it went waits out that replica's writes first,
    # as any redelivery does.
    await (settlement.defer if message.redelivered else settlement.move_back)(message)
    await message.ack()
