"""CloudEvents 1.0 in structured JSON mode: the envelope of every message on the bus.

The event `id` is mirrored into AMQP `message_id`; a command's `id` is its idempotency key and
comes back as the `correlation_id` of its outcome event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

import aio_pika
from pydantic import BaseModel, ConfigDict, Field, ValidationError

CONTENT_TYPE = "application/cloudevents+json"
TYPE_PREFIX = "ru.oncor.dezo."
SOURCE = "urn:dezo-adapter"


class EnvelopeError(ValueError):
    """A message body that is not a CloudEvent we can read; `reason` names what is wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope; `data` is validated later against the type's own model."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = None
    time: datetime | None = None
    datacontenttype: str | None = "application/json"
    data: Any = None


def event_type(name: str, version: int = 1) -> str:
    """`order.received` -> `ru.oncor.dezo.order.received.v1`."""
    return f"{TYPE_PREFIX}{name}.v{version}"


def new_event(
    type_name: str, event_id: str, data: BaseModel, *, subject: str | None = None
) -> CloudEvent:
    return CloudEvent(
        id=event_id,
        source=SOURCE,
        type=event_type(type_name),
        subject=subject,
        time=datetime.now(UTC),
        data=data.model_dump(mode="json", exclude_none=True),
    )


def encode(event: CloudEvent) -> bytes:
    return event.model_dump_json(exclude_none=True).encode()


def decode(body: bytes) -> CloudEvent:
    """Parse a structured-mode CloudEvent, telling `not_json` from `not_cloudevent`."""
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError("not_json", f"the body is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise EnvelopeError("not_cloudevent", "the body is JSON but not an object")
    try:
        return CloudEvent.model_validate(parsed)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise EnvelopeError("not_cloudevent", f"not a CloudEvent 1.0: {problems}") from None


def to_message(
    event: CloudEvent,
    *,
    correlation_id: str | None = None,
    reply_to: str | None = None,
    headers: dict[str, Any] | None = None,
) -> aio_pika.Message:
    """A persistent AMQP message carrying the event, with `message_id` = the event id."""
    return aio_pika.Message(
        encode(event),
        content_type=CONTENT_TYPE,
        message_id=event.id,
        correlation_id=correlation_id,
        reply_to=reply_to,
        type=event.type,
        timestamp=event.time,
        headers=headers or {},
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
