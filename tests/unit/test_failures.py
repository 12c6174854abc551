"""One failure vocabulary: every problem has exactly one broad reason, ONCOR's by its class."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import BaseModel, ValidationError

from adapter.failures import CommandProblem, FailureReason, Problem, oncor_problem, reason_of
from adapter.messages.outcomes import CommandFailed
from adapter.oncor.errors import (
    OncorAuthError,
    OncorCircuitOpen,
    OncorError,
    OncorProtocolError,
    OncorRejected,
    OncorSearchTimeout,
    OncorUnavailable,
)
from adapter.publisher.failures import failure_reason


def every_problem() -> list[str]:
    return [word for part in get_args(Problem) for word in get_args(part)]


@pytest.mark.parametrize("problem", every_problem())
def test_every_problem_has_a_reason_the_outcome_schema_allows(problem: Problem) -> None:
    assert reason_of(problem) in get_args(FailureReason)
    assert reason_of(problem) in get_args(CommandFailed.model_fields["reason"].annotation)


def test_every_problem_of_a_command_itself_is_invalid() -> None:
    assert {reason_of(problem) for problem in get_args(CommandProblem)} == {"invalid"}


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (OncorRejected("m", "RecordNotFoundException", "gone", None), "rejected_by_oncor"),
        (OncorAuthError("m", 403), "oncor_auth_error"),
        (OncorProtocolError("m", "not JSON"), "oncor_protocol_error"),
        (OncorUnavailable("m", "HTTP 503"), "oncor_unavailable"),
        (OncorSearchTimeout("m", "job-1", 5.0), "oncor_unavailable"),
        (OncorCircuitOpen("m"), "oncor_unavailable"),
    ],
)
def test_oncor_failure_is_named_by_its_class_alike_for_commands_and_orders(
    error: OncorError, problem: str
) -> None:
    assert oncor_problem(error) == problem
    assert failure_reason(error) == problem


def test_order_field_that_cannot_be_read_is_an_invalid_order() -> None:
    class Order(BaseModel):
        time: int

    with pytest.raises(ValidationError) as unreadable:
        Order.model_validate({"time": "yesterday"})
    assert failure_reason(unreadable.value) == "invalid"
