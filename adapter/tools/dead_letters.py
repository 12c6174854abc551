"""`dezo-adapter dead list | show | replay`: the dead-letter queue, for operators.

Reading never removes anything: messages are fetched unacknowledged and go back to the queue
when the channel closes. A replay publishes the command again to `dezo.commands` (same body,
same id, so the adapter's idempotency applies), waits for the broker's confirm, and only then
acks the dead letter; an interrupted replay leaves it in the queue, never loses it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from aio_pika.exceptions import ChannelNotFoundEntity

from adapter.bus.connection import Bus
from adapter.bus.envelope import parse_json
from adapter.bus.headers import (
    COMMAND_ID_HEADER,
    DEAD_LETTER_HEADERS,
    ERROR_HEADER,
    REASON_HEADER,
    REPLAYED_HEADER,
    ROUTING_KEY_HEADER,
)
from adapter.bus.topology import COMMANDS_EXCHANGE, DEAD_QUEUE
from adapter.consumer.settlement import copy_message, own_headers
from adapter.tools import ToolError


@dataclass(frozen=True)
class DeadLetter:
    message: AbstractIncomingMessage

    @property
    def id(self) -> str:
        return str(self.message.headers.get(COMMAND_ID_HEADER) or self.message.message_id or "-")

    @property
    def reason(self) -> str:
        """Ours, or the broker's own when it dead-lettered (e.g. `delivery_limit`)."""
        headers = self.message.headers
        return str(headers.get(REASON_HEADER) or headers.get("x-first-death-reason") or "unknown")

    @property
    def error(self) -> str:
        return str(self.message.headers.get(ERROR_HEADER) or "")

    @property
    def routing_key(self) -> str:
        return str(self.message.headers.get(ROUTING_KEY_HEADER) or self.message.routing_key or "")

    @property
    def order_id(self) -> str | None:
        """The order the command names (`data.order_id`), if its body can be read."""
        try:
            event = parse_json(self.message.body)
        except ValueError:
            return None
        data = event.get("data") if isinstance(event, dict) else None
        order_id = data.get("order_id") if isinstance(data, dict) else None
        return order_id if isinstance(order_id, str) else None

    def line(self) -> str:
        return f"{self.id:<38} {self.routing_key:<26} {self.reason:<20} {self.error[:80]}"


@asynccontextmanager
async def browse(bus: Bus, limit: int) -> AsyncIterator[list[DeadLetter]]:
    """Up to `limit` dead letters, held unacknowledged until the block ends."""
    channel = await bus.channel(publisher_confirms=False)
    try:
        queue: AbstractQueue = await channel.get_queue(DEAD_QUEUE, ensure=False)
        held: list[DeadLetter] = []
        while len(held) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            held.append(DeadLetter(message))
        yield held
    finally:
        await channel.close()  # whatever is still unacked goes back to the queue


def show(letter: DeadLetter) -> str:
    """Headers and body of one dead letter, attachments' base64 shortened; a body that is not
    JSON (or nests too deep to be read safely) is shown as text."""
    try:
        body: Any = _shorten(parse_json(letter.message.body))
    except ValueError:
        body = letter.message.body[:2000].decode("utf-8", errors="replace")
    return json.dumps(
        {
            "id": letter.id,
            "routing_key": letter.routing_key,
            "reason": letter.reason,
            "error": letter.error,
            "headers": {key: str(value) for key, value in letter.message.headers.items()},
            "body": body,
        },
        ensure_ascii=False,
        indent=2,
    )


def _shorten(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: f"<{len(item)} base64 characters>"
            if key == "content_base64" and isinstance(item, str)
            else _shorten(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_shorten(item) for item in value]
    return value


async def replay(bus: Bus, letter: DeadLetter) -> None:
    """Back to `dezo.commands` with the original routing key; ack only after the confirm."""
    headers = {
        name: value
        for name, value in own_headers(letter.message).items()
        if name not in DEAD_LETTER_HEADERS
    }
    headers[REPLAYED_HEADER] = True  # so the consumer reconciles with ONCOR before writing
    await bus.publish(COMMANDS_EXCHANGE, letter.routing_key, copy_message(letter.message, headers))
    await letter.message.ack()


def matches(letter: DeadLetter, ids: list[str], reason: str | None) -> bool:
    return (not ids or letter.id in ids or letter.message.message_id in ids) and (
        reason is None or letter.reason == reason
    )


async def run_dead_command(amqp_url: str, args: Any) -> int:
    """`dead list`, `dead show <id>` and `dead replay <id>… | --all`, as the CLI parsed them."""
    bus = Bus(amqp_url, name="dezo-adapter-dead", declare=False)
    await bus.connect()
    try:
        return await _dead_command(bus, args)
    except ChannelNotFoundEntity:
        raise ToolError(
            f"queue {DEAD_QUEUE} not found: has the adapter run on this broker?"
        ) from None
    finally:
        await bus.close()


async def _dead_command(bus: Bus, args: Any) -> int:
    """One of `list`, `show`, `replay` over the dead letters held for the call."""
    async with browse(bus, args.limit) as letters:
        if args.dead_command == "list":
            chosen = [letter for letter in letters if matches(letter, [], args.reason)]
            for letter in chosen:
                print(letter.line())
            print(f"{len(chosen)} dead letter(s)")
            return 0
        if args.dead_command == "show":
            found = [letter for letter in letters if matches(letter, [args.id], None)]
            for letter in found:
                print(show(letter))
            return 0 if found else 1
        chosen = [letter for letter in letters if matches(letter, args.ids, args.reason)]
        for letter in chosen:
            await replay(bus, letter)
            print(f"replayed {letter.id} ({letter.routing_key}, was {letter.reason})")
        print(f"{len(chosen)} replayed")
        return 0
