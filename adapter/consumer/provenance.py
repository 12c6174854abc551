"""Which `x-dezo-*` headers of a delivery the adapter wrote itself, and may therefore believe.

Whoever may publish a command may put any header on it, so `x-dezo-attempt` (the retry step)
and `x-dezo-routing-key` (the routing key a command was first published with) are believed only
on the adapter's own copies. Those come through the default exchange into `dezo.commands`:
dead-lettered back from a retry queue (or the hand-over queue), or moved back from a partition
queue of an earlier release (read there by consumer.legacy, also through the default exchange).
Integrators may write to the `dezo.commands` exchange only, never to the default exchange
(README, "Broker users and permissions"), so they cannot produce such a delivery; on any other
delivery the adapter's headers are forged, read as absent, and dropped from the copies the
adapter makes (retries, dead letters).
"""

from __future__ import annotations

from typing import Any

from aio_pika.abc import AbstractIncomingMessage

from adapter.bus.headers import OWN_PREFIX
from adapter.bus.topology import COMMANDS_QUEUE, LEGACY_PARTITION_PREFIX


def from_the_adapter(message: AbstractIncomingMessage) -> bool:
    """A copy the adapter made, through the default exchange: back in `dezo.commands`, or still
    in an old partition queue (being moved back)."""
    key = message.routing_key or ""
    return message.exchange == "" and (
        key == COMMANDS_QUEUE or key.startswith(LEGACY_PARTITION_PREFIX)
    )


def trusted_headers(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The headers, less the adapter's own ones unless the adapter itself wrote them."""
    if from_the_adapter(message):
        return dict(message.headers)
    return {
        name: value for name, value in message.headers.items() if not name.startswith(OWN_PREFIX)
    }
