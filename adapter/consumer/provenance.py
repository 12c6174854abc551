"""Which `x-dezo-*` headers of a delivery the adapter wrote itself, and may therefore believe.

Whoever may publish a command may put any header on it, so `x-dezo-attempt` (the retry step)
and `x-dezo-routing-key` (the routing key a retried command was first published with) are
believed only on the adapter's own copies. Those come back from its retry queues, which
dead-letter them into `dezo.commands` through the default exchange: the delivery says exchange
`""` and routing key `dezo.commands`. Integrators may write to the `dezo.commands` exchange only,
never to the default exchange (README, "Broker users and permissions"), so they cannot produce
that pair; on any other delivery the adapter's headers are forged, read as absent, and dropped
from the copies the adapter makes (retries, dead letters).

Headers that only make the adapter more careful (`x-dezo-reason`, `x-dezo-replayed`: reconcile
with ONCOR before writing) are read from any delivery: forging them costs the forger a search.
"""

from __future__ import annotations

from typing import Any

from aio_pika.abc import AbstractIncomingMessage

from adapter.bus.topology import COMMANDS_QUEUE

OWN_PREFIX = "x-dezo-"


def back_from_retry_queue(message: AbstractIncomingMessage) -> bool:
    """Dead-lettered into `dezo.commands` by one of the adapter's retry queues."""
    return message.exchange == "" and message.routing_key == COMMANDS_QUEUE


def trusted_headers(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The headers, less the adapter's own ones unless the adapter itself wrote them."""
    if back_from_retry_queue(message):
        return dict(message.headers)
    return {
        name: value for name, value in message.headers.items() if not name.startswith(OWN_PREFIX)
    }
