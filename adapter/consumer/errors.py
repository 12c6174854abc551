"""Why a command cannot be carried out, named: each name is a dead letter's `x-dezo-reason`.

    InvalidCommand      the command itself is wrong (bad input); ONCOR is never called for it
                        and it is never retried; its `problem` names what is wrong

ONCOR's own failures keep their classes from `adapter.oncor.errors`: OncorRejected becomes
`rejected_by_oncor`, OncorUnavailable (and OncorAuthError) a delayed retry, then
`oncor_unavailable` once the retry budget is spent.
"""

from __future__ import annotations

from typing import Literal

Problem = Literal[
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
    # ONCOR and ourselves
    "rejected_by_oncor",
    "oncor_unavailable",
    "oncor_protocol_error",
    "internal_error",
]


class InvalidCommand(Exception):
    """The command cannot be carried out as sent; `message` tells the sender what to fix."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem: Problem = problem
        self.message = message
