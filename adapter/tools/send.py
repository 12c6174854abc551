"""`dezo-adapter send <command>`: build a valid command from flags and files, publish it.

With `--wait` it listens on a private reply queue (the command's `reply_to`) and prints the
outcome event, so a person can try the whole flow from a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import mimetypes
import uuid
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.exceptions import ChannelNotFoundEntity
from pydantic import ValidationError

from adapter.bus.connection import Bus
from adapter.bus.envelope import CloudEvent, decode, event_type, to_message
from adapter.bus.topology import COMMANDS_EXCHANGE
from adapter.messages.commands import COMMANDS
from adapter.tools import ToolError

SOURCE = "urn:dezo-adapter:cli"
SIGNATURE_TYPES = {".sig": "application/pkcs7-signature", ".p7s": "application/pkcs7-signature"}


def build_command(args: argparse.Namespace) -> CloudEvent:
    """The CloudEvent for the flags, validated against the command's model."""
    data: dict[str, Any] = {"order_id": args.order}
    for _, field, _ in args.own_flags:
        data[field] = getattr(args, field)
    if args.command_name != "order.associate-dicom":
        data.update(description=args.description, expert_id=args.expert)
        if args.department:
            data["expert_department_id"] = args.department
        pdf = _attachment(args.pdf, args.pdf_url, "application/pdf")
        signature = _attachment(args.sig, args.sig_url, "application/pkcs7-signature")
        data.update(
            {key: value for key, value in (("pdf", pdf), ("signature", signature)) if value}
        )
    try:
        COMMANDS[args.command_name].model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'command'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ToolError(f"invalid {args.command_name}: {problems}") from None
    return CloudEvent(
        id=args.id or str(uuid.uuid4()),
        source=SOURCE,
        type=event_type(args.command_name),
        subject=data["order_id"],
        data=data,
    )


def _attachment(path: Path | None, url: str | None, default_type: str) -> dict[str, str] | None:
    if path and url:
        raise ToolError("give a file or a URL for an attachment, not both")
    if url:
        name = url.rstrip("/").rsplit("/", 1)[-1] or "attachment"
        return {"name": name, "media_type": default_type, "url": url}
    if path is None:
        return None
    if not path.is_file():
        raise ToolError(f"{path}: no such file")
    media_type = (
        SIGNATURE_TYPES.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or default_type
    )
    content = base64.b64encode(path.read_bytes()).decode("ascii")
    return {"name": path.name, "media_type": media_type, "content_base64": content}


async def send(amqp_url: str, args: argparse.Namespace) -> int:
    command = build_command(args)
    bus = Bus(amqp_url, name="dezo-adapter-cli", declare=False)
    await bus.connect()
    try:
        reply_queue = None
        if args.wait:
            channel = await bus.channel(publisher_confirms=False)
            reply_queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        message = to_message(
            command,
            correlation_id=command.id,
            reply_to=reply_queue.name if reply_queue else None,
        )
        try:
            await bus.publish(COMMANDS_EXCHANGE, args.command_name, message)
        except ChannelNotFoundEntity:
            raise ToolError(
                f"exchange {COMMANDS_EXCHANGE} not found: run the adapter once on this broker, "
                "it declares the topology"
            ) from None
        print(f"sent {args.command_name} id={command.id}")
        if reply_queue is None:
            return 0
        try:
            async with asyncio.timeout(args.timeout):
                outcome = await _await_reply(reply_queue, command.id)
        except TimeoutError:
            raise ToolError(
                f"no outcome within {args.timeout:g}s; is the adapter running?"
            ) from None
        print(json.dumps(outcome.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return 0 if outcome.type == event_type("command.succeeded") else 1
    finally:
        await bus.close()


async def _await_reply(queue: aio_pika.abc.AbstractQueue, command_id: str) -> CloudEvent:
    async with queue.iterator() as replies:
        async for reply in replies:
            async with reply.process():
                if reply.correlation_id == command_id:
                    return decode(reply.body)
    raise ToolError("the reply queue closed before the outcome arrived")
