"""The adapter's own AMQP headers, all `x-dezo-*`: defined here once.

On the copies of a command the adapter makes (hand-over and retry copies, dead letters):

    x-dezo-attempt          retry queues gone through: the spent retry budget
    x-dezo-routing-key      the routing key the command was first published with

On a dead letter in `dezo.commands.dead`, why it is there (a replay after a fix clears them):

    x-dezo-reason           the problem, e.g. bad_base64 (also `problem` in command.failed)
    x-dezo-error            the same message the command.failed event carries
    x-dezo-command-id       the command id, when it could be read
    x-dezo-replayed         set by whoever replays a dead letter: reconcile with ONCOR first

On a token (the poller's leadership, the commands ownership):

    x-dezo-clean-handover   the former holder stepped down with nothing left in flight

Integrators may set any header, so an `x-dezo-*` one is believed only on a copy the adapter
made itself (see consumer.provenance).
"""

from __future__ import annotations

OWN_PREFIX = "x-dezo-"
ATTEMPT_HEADER = "x-dezo-attempt"
ROUTING_KEY_HEADER = "x-dezo-routing-key"
REASON_HEADER = "x-dezo-reason"
ERROR_HEADER = "x-dezo-error"
COMMAND_ID_HEADER = "x-dezo-command-id"
REPLAYED_HEADER = "x-dezo-replayed"
CLEAN_HANDOVER_HEADER = "x-dezo-clean-handover"
#: What a dead letter says about itself, in this order.
DEAD_LETTER_HEADERS = (REASON_HEADER, ERROR_HEADER, ROUTING_KEY_HEADER, COMMAND_ID_HEADER)
