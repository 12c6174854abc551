"""`dezo-adapter order show ORID`: what ONCOR holds for one order, and its dead letters.

Read-only. ONCOR: `rc/get` (the order), `rc/getInstanceStatus` (its status with history),
`rc/getList` of its EHR (the DEZO documents naming it, as the consumer looks for them) and
`attachment/query` (their files). The broker: the dead letters are browsed as `dead list`
browses them, held unacknowledged and given back; a broker that does not answer within a few
seconds is reported in one line, and the ONCOR part is shown all the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aio_pika.exceptions import ChannelNotFoundEntity

from adapter.bus.address import broker_address
from adapter.bus.connection import Bus
from adapter.bus.topology import DEAD_QUEUE
from adapter.config import Settings
from adapter.consumer.idempotency import attachments_by_id, order_documents
from adapter.oncor.client import OncorClient
from adapter.oncor.errors import OncorRejected
from adapter.oncor.models import AttachmentMeta, DictionaryEntry, InstanceStatus, Rc
from adapter.oncor.orid import InvalidOrid, normalize_orid, ui_link
from adapter.tools import ToolError
from adapter.tools.dead_letters import DeadLetter, browse

#: Seconds the tool waits for ONCOR while its circuit breaker is open, and for the broker.
ONCOR_WAIT = 10.0
BROKER_WAIT = 5.0
DOCUMENT_KINDS = {
    "RcTm66OrderReject": "reject",
    "RcTm66OrderConclusion": "conclusion",
    "RcTm66OrderExpertiseDicom": "DICOM expertise",
    "RcTm66OrderExpertiseProtocol": "protocol expertise",
}


async def order_show(
    settings: Settings, oncor: OncorClient, orid: str, *, as_json: bool, limit: int
) -> int:
    try:
        order_id = normalize_orid(orid)
    except InvalidOrid as exc:
        raise ToolError(str(exc)) from None
    with oncor.outage_wait(ONCOR_WAIT):
        view = await _from_oncor(oncor, order_id, settings.oncor_origin)
    view["dead_letters"], unavailable = await _dead_letters(settings, order_id, limit)
    if unavailable:
        view["dead_letters_unavailable"] = unavailable
    print(json.dumps(view, ensure_ascii=False, indent=2) if as_json else human(view))
    return 0


async def _from_oncor(oncor: OncorClient, order_id: str, origin: str) -> dict[str, Any]:
    try:
        order = await oncor.get_record(order_id)
    except OncorRejected as exc:
        raise ToolError(f"order {order_id}: {exc.name}: {exc.oncor_message}") from None
    part = order.rc_tm66_order
    if part is None:
        raise ToolError(f"{order_id} is a {order.class_name or 'record'}, not a DEZO order")
    status = await oncor.get_instance_status(order_id)
    documents = await order_documents(oncor, order)
    files = await attachments_by_id(
        oncor,
        [id_ for _, doc in documents.found for id_ in (doc.pdf_id, doc.pdf_ds_id) if id_],
    )
    return {
        "order": {
            "id": order_id,
            "ui_link": ui_link(origin, order_id),
            "created": order.created,
            "purpose": _coded(part.purpose),
            "diagnostics_type": _coded(part.diagnostics_type),
            "client": _named(part.client),
            "client_organisation": _named(part.client_mo),
            "expert_organisation": _named(part.expert_mo),
        },
        "statuses": [_status(entry) for entry in (*status.history, status) if entry.status],
        "documents": [_document(record, files) for record, _ in documents.found],
    }


def _coded(entry: DictionaryEntry | None) -> dict[str, str | None] | None:
    return {"code": entry.code, "caption": entry.caption} if entry else None


def _named(entry: Any) -> dict[str, str | None] | None:
    return {"id": entry.id, "name": entry.name} if entry else None


def _status(entry: InstanceStatus) -> dict[str, Any]:
    fields = entry.fields()
    return {
        "time": entry.time,
        "status": entry.status,
        "fields": {key: value for key, value in fields.items() if key != "status"},
    }


def _document(record: Rc, files: dict[str, AttachmentMeta]) -> dict[str, Any]:
    document = record.document()
    assert document is not None  # order_documents keeps documents only
    code = next(
        (
            value
            for field in ("reason", "conclusion", "result")
            if isinstance(value := getattr(document, field, None), DictionaryEntry)
        ),
        None,
    )
    roles = (("pdf", document.pdf_id), ("signature", document.pdf_ds_id))
    return {
        "id": record.id,
        "kind": DOCUMENT_KINDS.get(record.class_name or "", record.class_name),
        "created": record.created,
        "code": _coded(code),
        "description": document.description,
        "expert_id": document.expert.id if document.expert else None,
        "attachments": [_attachment(role, id_, files.get(id_)) for role, id_ in roles if id_],
    }


def _attachment(role: str, id_: str, meta: AttachmentMeta | None) -> dict[str, Any]:
    if meta is None:  # ONCOR no longer knows it (attachment ids go stale)
        return {"role": role, "id": id_, "missing": True}
    return {"role": role, "id": id_, "name": meta.name, "type": meta.type, "size": meta.size}


async def _dead_letters(
    settings: Settings, order_id: str, limit: int
) -> tuple[list[dict[str, str]] | None, str | None]:
    """The dead letters naming the order; or None and why they could not be read."""
    url = settings.amqp_url.get_secret_value()
    bus = Bus(url, name="dezo-adapter-order-show", declare=False)
    # The bus waits for a broker as long as it takes, saying so in the log: not here.
    quiet = logging.getLogger("adapter.bus")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        async with asyncio.timeout(BROKER_WAIT):
            await bus.connect()
        async with browse(bus, limit) as letters:
            return [_letter(letter) for letter in letters if letter.order_id == order_id], None
    except TimeoutError:
        return None, f"broker {broker_address(url)} not reachable within {BROKER_WAIT:g} s"
    except ChannelNotFoundEntity:
        return None, f"no queue {DEAD_QUEUE} on the broker: has the adapter run there?"
    finally:
        quiet.setLevel(level)
        await bus.close()


def _letter(letter: DeadLetter) -> dict[str, str]:
    return {
        "id": letter.id,
        "routing_key": letter.routing_key,
        "reason": letter.reason,
        "error": letter.error,
    }


def human(view: dict[str, Any]) -> str:
    """The view as a person reads it: the order, its statuses, documents and dead letters."""
    order = view["order"]
    lines = [f"Order {order['id']}  {order['ui_link']}"]
    for label, key in (
        ("created", "created"),
        ("purpose", "purpose"),
        ("diagnostics type", "diagnostics_type"),
        ("client", "client"),
        ("client organisation", "client_organisation"),
        ("expert organisation", "expert_organisation"),
    ):
        lines.append(f"  {label:<20} {_text(order[key])}")
    lines.append("Status history")
    for status in view["statuses"] or [None]:
        if status is None:
            lines.append("  (no status set)")
            continue
        extra = "  ".join(f"{key}={value}" for key, value in status["fields"].items())
        lines.append(f"  {status['time'] or '?':<20} {status['status']}  {extra}".rstrip())
    lines.append("Documents")
    for document in view["documents"] or [None]:
        if document is None:
            lines.append("  (none)")
            continue
        lines.append(
            f"  {document['id']:<12} {document['kind']:<18} {document['created'] or '?':<20} "
            f"{_text(document['code'])}  {document['description'] or ''}".rstrip()
        )
        for file in document["attachments"]:
            what = (
                "no longer in ONCOR"
                if file.get("missing")
                else f"{file['name']}  {file['type']}  {file['size'] or '?'} bytes"
            )
            lines.append(f"      {file['role']:<10} {file['id']:<12} {what}")
    lines.append("Dead letters")
    if view["dead_letters"] is None:
        lines.append(f"  unknown: {view['dead_letters_unavailable']}")
    for letter in view["dead_letters"] or []:
        lines.append(f"  {letter['id']}  {letter['routing_key']}  {letter['reason']}")
    if view["dead_letters"] == []:
        lines.append("  (none)")
    return "\n".join(lines)


def _text(value: dict[str, str | None] | str | None) -> str:
    """A coded or named entry as `caption (code)` / `name (id)`; `-` for none."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    main = value.get("caption") or value.get("name")
    key = value.get("code") or value.get("id")
    return f"{main} ({key})" if main and key else main or key or "-"
