"""What the adapter announces about each command: exactly one outcome per command id.

`command.succeeded.<command>` and `command.failed.<command>` go to `dezo.events` (and to the
command's `reply_to`). The outcome's CloudEvent id is derived from the command id (uuid5), so an
outcome emitted again after a redelivery carries the same id and subscribers can drop it; a
*different* outcome of the same command (failed, replayed, then succeeded) gets a different id.
Its `correlation_id` is the command id.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from adapter.bus.topology import failed_key, succeeded_key
from adapter.failures import FailureReason

#: Namespace of outcome event ids; fixed forever, or re-emitted outcomes would change id.
OUTCOME_NAMESPACE = uuid.UUID("4f1b6a0e-3c2d-5b7e-9a8f-0d1e2c3b4a59")
SUCCEEDED_TYPE = "command.succeeded"
FAILED_TYPE = "command.failed"


class OncorErrorInfo(BaseModel):
    """ONCOR's own account of why it refused a request (its 422 body)."""

    name: str
    message: str
    uuid: str | None = Field(None, description="Quote it to ONCOR's support")


class CommandSucceeded(BaseModel):
    """The command took effect in ONCOR (now, or already before this delivery)."""

    command: str = Field(description="e.g. order.conclusion")
    command_id: str = Field(description="The command's CloudEvent id")
    order_id: str
    record_id: str = Field(description="The ONCOR document created; the order for associate-dicom")
    ui_link: str = Field(description="Where a person sees the record in ONCOR's web UI")
    attachment_ids: list[str] = Field(
        default_factory=list, description="ONCOR ids of the uploaded PDF and signature"
    )

    @property
    def routing_key(self) -> str:
        return succeeded_key(self.command)


class CommandFailed(BaseModel):
    """The command had no effect in ONCOR; `message` says what to do about it."""

    command: str = Field(description="e.g. order.conclusion, or `unknown` when unreadable")
    command_id: str
    order_id: str | None = None
    reason: FailureReason
    problem: str = Field(
        description="The specific problem, e.g. bad_base64; also the dead letter's x-dezo-reason"
    )
    message: str = Field(description="What went wrong, in words a person can act on")
    oncor_error: OncorErrorInfo | None = Field(None, description="Set when ONCOR refused")

    @property
    def routing_key(self) -> str:
        return failed_key(self.command)


Outcome = CommandSucceeded | CommandFailed


def outcome_event_id(outcome: Outcome) -> str:
    """The same outcome of the same command always gets the same event id."""
    if isinstance(outcome, CommandSucceeded):
        which = "succeeded"
    else:
        which = f"failed/{outcome.reason}/{outcome.problem}"
    return str(uuid.uuid5(OUTCOME_NAMESPACE, f"{outcome.command_id}/{which}"))
