"""`dead list`, `dead show` and `watch` describe any body a publisher can send, without crashing
(issue 12: 100,000-deep JSON made `dead show` raise RecursionError)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aio_pika.abc import AbstractIncomingMessage

from adapter.tools.dead_letters import DeadLetter, show
from adapter.tools.watch import describe

HOSTILE_BODIES = {
    "deep array": b"[" * 100_000 + b"]" * 100_000,
    "deep object": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "unclosed deep array": b"[" * 100_000,
    "not UTF-8": b"\xff\xfe{\x00",
    "empty": b"",
    "a list": b"[1, 2]",
    "odd types": b'{"id": ["x"], "subject": {"a": 1}, "data": [1], "type": 5}',
    "huge number": b'{"id": 1' + b"0" * 5000 + b"}",
}


@dataclass
class Delivered:
    """What the tools read of a delivery."""

    body: bytes
    headers: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    routing_key: str | None = "order.conclusion"


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_dead_list_and_show_describe_any_body(body: bytes) -> None:
    headers = {"x-dezo-reason": "not_json", "x-death": [{"count": 1}], "x-dezo-error": b"\xff"}
    letter = DeadLetter(cast(AbstractIncomingMessage, Delivered(body, headers)))
    assert "not_json" in letter.line()
    shown = json.loads(show(letter))
    assert shown["reason"] == "not_json"
    assert len(json.dumps(shown["body"])) < 10_000


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_watch_describes_any_body(body: bytes) -> None:
    line = describe(cast(AbstractIncomingMessage, Delivered(body, message_id="m-1")))
    assert line.startswith("order.conclusion")
