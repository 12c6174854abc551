"""Bad input, named: each kind gets its own dead letter, failed event and metric,
never an ONCOR call, and the valid commands sent between them all go through."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import jsonschema

from adapter.bus.envelope import parse_json
from adapter.bus.topology import COMMAND_TYPES
from adapter.emulator.process import EmulatorProcess
from adapter.messages.outcomes import CommandFailed
from tests.support.commands import KIB, MIB, by_url, command_body, document_data, inline, pdf_bytes
from tests.support.files import FileServer
from tests.support.metrics import metric
from tests.support.running_consumer import running_consumer


@dataclass
class Bad:
    """One kind of bad input: what is sent and the problem it must be named as."""

    name: str
    problem: str
    command: str = "order.conclusion"
    data: Any = None
    body: bytes | None = None  # raw body instead of a CloudEvent around `data`
    message_id: str | None = "same"
    has_event: bool = True  # a command.failed is due whenever a command id can be read
    routing_key: str | None = None  # by default the command's own
    reply_to: str | None = None


def envelope(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def bad_inputs(files: FileServer, order: str) -> list[Bad]:
    """Bad files by URL are downloaded only for an order that exists: `order` does."""
    conclusion = "order.conclusion"

    def data(**fields: Any) -> dict[str, Any]:
        return document_data(conclusion, order, **fields)

    def pdf_at(name: str, content: bytes) -> dict[str, Any]:
        return data(pdf=by_url(files.url(name, content)))

    return [
        Bad("not JSON", "not_json", body=b"\xff{this is not json"),
        Bad("not JSON, no message id", "not_json", body=b"nope", message_id=None, has_event=False),
        Bad(
            "JSON nested 100,000 deep, no message id",
            "not_json",
            body=b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            message_id=None,
            has_event=False,
        ),
        Bad("JSON nested 100,000 deep", "not_json", body=b"[" * 100_000),
        Bad("JSON array", "not_cloudevent", body=b"[1, 2, 3]"),
        Bad("no type", "not_cloudevent", body=envelope(id=str(uuid.uuid4()), data={})),
        Bad("unknown command", "unknown_type", command="order.frobnicate", data=data()),
        Bad(
            "foreign type",
            "unknown_type",
            body=envelope(specversion="1.0", id=str(uuid.uuid4()), source="x", type="com.x.y"),
        ),
        Bad(
            "reject type on the conclusion routing key",
            "routing_key_mismatch",
            command="order.reject",
            data=document_data("order.reject", order),
            routing_key="order.conclusion",
        ),
        Bad(
            "reply_to the adapter's own queue",
            "reply_to_not_allowed",
            data=data(),
            reply_to="dezo.commands",
        ),
        Bad("data not an object", "schema", data="conclusion please"),
        Bad("no description", "schema", data=data(description=None)),
        Bad("misspelt field", "schema", data=data(expret="someone")),
        Bad(
            "signature without pdf",
            "schema",
            command="order.reject",
            data=document_data("order.reject", order, signature=inline(b"sig", "s.sig")),
        ),
        Bad("conclusion without pdf", "schema", data=data(pdf=None)),
        Bad(
            "ris_dicom not a URL",
            "schema",
            command="order.associate-dicom",
            data={"order_id": order, "ris_dicom": "study 42"},
        ),
        Bad("ftp attachment URL", "schema", data=data(pdf=by_url("ftp://files/x.pdf"))),
        Bad("order id not an ORID", "invalid_orid", data=document_data(conclusion, "1930-0")),
        Bad("no expert", "missing_expert", data=data(expert_id=None)),
        Bad("empty expert", "missing_expert", data=data(expert_id="")),
        Bad("unknown conclusion code", "unknown_code", data=data(conclusion_code="НЕТ_ТАКОГО")),
        Bad(
            "unknown reject reason",
            "unknown_code",
            command="order.reject",
            data=document_data("order.reject", order, reason_code="ПОТОМУ_ЧТО"),
        ),
        Bad(
            "bad base64",
            "bad_base64",
            data=data(
                pdf={
                    "name": "c.pdf",
                    "media_type": "application/pdf",
                    "content_base64": "JVBERi0%%%",
                }
            ),
        ),
        Bad("empty inline file", "empty_attachment", data=data(pdf=inline(b""))),
        Bad(
            "inline file over the limit",
            "attachment_too_large",
            data=data(pdf=inline(pdf_bytes(257 * KIB))),
        ),
        Bad("inline file not a PDF", "not_pdf", data=data(pdf=inline(b"hello, world"))),
        Bad(
            "signature not a signature",
            "not_signature",
            data=data(signature=inline(b"hello, world", "c.pdf.sig")),
        ),
        Bad(
            "URL to a host not allowed",
            "url_not_allowed",
            data=data(pdf=by_url(f"http://localhost:{files.authority.rpartition(':')[2]}/x")),
        ),
        Bad("URL answers 404", "url_failed", data=data(pdf=by_url(f"{files.base_url}/status/404"))),
        Bad("URL refuses connections", "url_failed", data=data(pdf=by_url("http://127.0.0.1:9/x"))),
        Bad("URL too slow", "url_timeout", data=data(pdf=by_url(f"{files.base_url}/slow"))),
        Bad("URL file over the limit", "url_too_large", data=pdf_at("big.pdf", pdf_bytes(2 * MIB))),
        Bad(
            "URL file over the limit, unsized",
            "url_too_large",
            data=data(pdf=by_url(f"{files.base_url}/unsized/{2 * MIB}")),
        ),
        Bad("empty file by URL", "empty_attachment", data=pdf_at("empty.pdf", b"")),
        Bad("file by URL not a PDF", "not_pdf", data=pdf_at("text.pdf", b"plain text")),
        Bad("message over the limit", "too_large", data=data(pdf=inline(pdf_bytes(900 * KIB)))),
    ]


async def test_every_kind_of_bad_input_is_dead_lettered_with_its_reason_and_valid_ones_succeed(
    emulator: EmulatorProcess, amqp_url: str, file_server: FileServer
) -> None:
    # The file server, and a closed port on the same host, are allowed: what fails there is the
    # download itself (SSRF refusals are in tests/security).
    allowed = [file_server.authority, "127.0.0.1:9"]
    async with running_consumer(
        emulator, amqp_url, attachment_url_allowed_hosts=allowed
    ) as consumer:
        bus = consumer.bus
        [target] = await consumer.admin.new_orders(1)
        cases = bad_inputs(file_server, target)
        reasons = Counter(case.problem for case in cases)
        dead_before = {r: metric("dezo_dead_letters_total", reason=r) for r in reasons}
        order_ids = await consumer.admin.new_orders(len(cases))
        await consumer.admin.clear_calls()
        sent: list[tuple[Bad, str, bytes]] = []
        valid: list[str] = []
        for case, order_id in zip(cases, order_ids, strict=True):
            command_id, body = command_body(case.command, case.data)
            if case.body is not None:
                body = case.body
                command_id = _peek_id(body) or str(uuid.uuid4())
            message_id = command_id if case.message_id == "same" else case.message_id
            # Only the five commands are bound to dezo.commands: an unknown type comes under one.
            routing_key = case.command if case.command in COMMAND_TYPES else "order.conclusion"
            await bus.send(
                case.command,
                None,
                body=body,
                command_id=command_id,
                message_id=message_id,
                routing_key=case.routing_key or routing_key,
                reply_to=case.reply_to,
            )
            sent.append((case, command_id, body))
            valid.append(
                await bus.send("order.conclusion", document_data("order.conclusion", order_id))
            )

        for command_id in valid:
            outcome = await bus.outcome(command_id)
            assert outcome.routing_key == "command.succeeded.order.conclusion", outcome.event

        for case, command_id, body in sent:
            if case.has_event:
                dead = await bus.dead_letter(command_id)
                failed = (await bus.outcome(command_id)).event
                assert failed["type"] == "ru.oncor.dezo.command.failed.v1"
                jsonschema.validate(failed["data"], CommandFailed.model_json_schema())
                assert failed["data"]["reason"] == "invalid", case.name
                assert failed["data"]["problem"] == case.problem, (case.name, failed["data"])
                assert failed["data"]["message"] == dead.headers["x-dezo-error"]
            else:
                dead = next(seen for seen in bus.dead if seen.body == case.body)
            assert dead.headers["x-dezo-reason"] == case.problem, (case.name, dead.headers)
            assert dead.headers["x-dezo-error"], case.name
            assert dead.body == body, case.name

        # One dead letter each, and nothing more: no outcome was fed back into dezo.commands.
        await asyncio.sleep(0.5)
        assert len(bus.dead) == len(cases)
        assert bus.replies == []

        # Bad input wrote nothing to ONCOR: one upload and one document per valid command only.
        calls = Counter(call["path"] for call in await consumer.admin.calls())
        assert calls["attachment/create"] == len(valid)
        assert calls["tm66/order/addRcTm66OrderConclusion"] == len(valid)
        assert len(await consumer.admin.documents()) == len(valid)

    for reason, count in reasons.items():
        assert metric("dezo_dead_letters_total", reason=reason) - dead_before[reason] == count
    print(f"\n{len(cases)} bad inputs, {len(reasons)} distinct reasons: {sorted(reasons)}")


def _peek_id(body: bytes) -> str | None:
    try:
        parsed = parse_json(body)
    except ValueError:
        return None
    return parsed.get("id") if isinstance(parsed, dict) else None
