"""What the services need of the bus to publish: confirmed publishes and the retry queues' names.

`Bus` is the real one; the fast tests use an in-memory one that records what was published.
"""

from __future__ import annotations

from typing import Protocol

import aio_pika


class Outbox(Protocol):
    async def publish(
        self, exchange: str, routing_key: str, message: aio_pika.Message, *, mandatory: bool = True
    ) -> None:
        """Publish and wait for the broker's confirm; an unroutable message raises."""
        ...

    def retry_queue(self, step: int) -> str: ...

    @property
    def handover_queue(self) -> str: ...
