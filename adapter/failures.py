"""One vocabulary for what goes wrong, used by commands, order failures, metrics and dead letters.

    Problem                      the specific word: a dead letter's `x-dezo-reason`, the
    │                            `problem` of command.failed, a metric label
    ├── CommandProblem           the command or its content is wrong: the sender must fix it
    ├── OncorProblem             what ONCOR's error class says (adapter.oncor.errors):
    │     rejected_by_oncor        OncorRejected, a 422: permanent
    │     oncor_auth_error         OncorAuthError, 401/403: our token
    │     oncor_unavailable        OncorUnavailable: transient
    │     oncor_protocol_error     OncorProtocolError: an answer we cannot read
    └── internal_error           the adapter failed

    FailureReason                the broad class a subscriber acts on (`reason` of
                                 command.failed; the order failure metric's `reason`):
      invalid                      every CommandProblem, and an order ONCOR gave us unreadable
      rejected_by_oncor
      oncor_unavailable            also oncor_auth_error: waiting is all a command can do
      internal_error               also oncor_protocol_error

`reason_of` is the only mapping from the one to the other.
"""

from __future__ import annotations

from typing import Literal, get_args

from adapter.oncor.errors import (
    OncorAuthError,
    OncorError,
    OncorProtocolError,
    OncorRejected,
)

CommandProblem = Literal[
    # the message
    "foreign_exchange",
    "too_large",
    "not_json",
    "id_too_long",
    "routing_key_mismatch",
    "reply_to_not_allowed",
    "not_cloudevent",
    "unknown_type",
    "schema",
    "invalid_orid",
    "missing_expert",
    # the content
    "unknown_code",
    "bad_base64",
    "empty_attachment",
    "attachment_too_large",
    "not_pdf",
    "not_signature",
    "url_not_allowed",
    "url_failed",
    "url_timeout",
    "url_too_large",
    "spool_full",
]
OncorProblem = Literal[
    "rejected_by_oncor", "oncor_auth_error", "oncor_unavailable", "oncor_protocol_error"
]
Problem = CommandProblem | OncorProblem | Literal["internal_error"]
FailureReason = Literal["invalid", "rejected_by_oncor", "oncor_unavailable", "internal_error"]

_REASONS: dict[str, FailureReason] = {
    **dict.fromkeys(get_args(CommandProblem), "invalid"),
    "rejected_by_oncor": "rejected_by_oncor",
    "oncor_auth_error": "oncor_unavailable",
    "oncor_unavailable": "oncor_unavailable",
    "oncor_protocol_error": "internal_error",
    "internal_error": "internal_error",
}


def reason_of(problem: Problem) -> FailureReason:
    return _REASONS[problem]


def oncor_problem(exc: OncorError) -> OncorProblem:
    """The word for an ONCOR failure, from its class alone."""
    if isinstance(exc, OncorRejected):
        return "rejected_by_oncor"
    if isinstance(exc, OncorAuthError):
        return "oncor_auth_error"
    if isinstance(exc, OncorProtocolError):
        return "oncor_protocol_error"
    return "oncor_unavailable"
