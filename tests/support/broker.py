"""The RabbitMQ the broker tests run on."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit


@dataclass
class Broker:
    """A RabbitMQ we may create virtual hosts on."""

    url: str
    rabbitmqctl: list[str]

    def ctl(self, *args: str) -> str:
        return subprocess.run(
            [*self.rabbitmqctl, *args], check=True, capture_output=True, text=True, timeout=60
        ).stdout

    def vhost_url(self, vhost: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))
