"""How a broker is named in logs and messages: its URL without the credentials."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def broker_address(url: str) -> str:
    """`amqp://user:secret@host:5672/vhost` -> `amqp://host:5672/vhost`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
