"""The message bus: each command to its handler, and back as a decision.

Each command joins its order's line as it arrives; its handler takes its turn for what must not
interleave with the order's other commands (see order_line).

The decision says how the delivery ends; the service carries it out (see settlement):

    CommandSucceeded / CommandFailed   announce it (a failure is dead-lettered too)
    RetryLater                         ONCOR is unavailable: to retry queue `step`
    WaitForOncor                       ONCOR is down (the circuit breaker is open): parked in
                                       the first retry queue, no retry budget spent
    (RetryLater also when every download slot is taken: see attachments)

A command that an earlier copy already carried out succeeds again from what ONCOR holds (see
idempotency), with the same outcome event id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adapter.consumer.dependencies import Dependencies
from adapter.consumer.errors import DownloadsBusy, InvalidCommand
from adapter.consumer.handlers import HANDLERS
from adapter.consumer.intake import ReceivedCommand
from adapter.consumer.order_line import OrderLines, OrderTurn
from adapter.failures import Problem, oncor_problem, reason_of
from adapter.messages.outcomes import CommandFailed, CommandSucceeded, OncorErrorInfo
from adapter.oncor.errors import (
    OncorAuthError,
    OncorCircuitOpen,
    OncorProtocolError,
    OncorRejected,
    OncorUnavailable,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryLater:
    step: int  # the retry queue, 1-based: its TTL is the step-th configured delay
    error: str


@dataclass(frozen=True)
class WaitForOncor:
    error: str


Decision = CommandSucceeded | CommandFailed | RetryLater | WaitForOncor


class Dispatcher:
    def __init__(self, deps: Dependencies, retry_budget: int, write_horizon: float) -> None:
        self._deps = deps
        self._retry_budget = retry_budget
        self._lines = OrderLines(write_horizon)

    async def dispatch(self, received: ReceivedCommand) -> Decision:
        """Carry out one command; never raises except on cancellation."""
        async with self._lines.joined(received.command.order_id) as turn:
            return await self._carry_out(received, turn)

    async def _carry_out(self, received: ReceivedCommand, turn: OrderTurn) -> Decision:
        ids = _log_ids(received)
        try:
            return await HANDLERS[received.name](received, self._deps, turn)
        except InvalidCommand as exc:
            return _failed(received, exc.problem, exc.message)
        except OncorRejected as exc:
            return _failed(
                received,
                oncor_problem(exc),
                f"ONCOR refused {exc.method}: {exc.oncor_message}. Fix the command or the data "
                "in ONCOR, then replay it from dezo.commands.dead",
                OncorErrorInfo(name=exc.name, message=exc.oncor_message, uuid=exc.uuid),
            )
        except (OncorUnavailable, OncorAuthError) as exc:
            if isinstance(exc, OncorCircuitOpen):  # an outage is no failure of this command
                return WaitForOncor(str(exc))
            return self._retry_or_give_up(
                received,
                str(exc),
                "oncor_unavailable",  # an auth error too: waiting was all a command could do
                f"ONCOR stayed unavailable through {self._retry_budget} delayed retries ({exc}); "
                "the command waits in dezo.commands.dead for a replay",
            )
        except DownloadsBusy as exc:
            return self._retry_or_give_up(
                received,
                str(exc),
                "spool_full",
                f"{exc} through {self._retry_budget} delayed retries; publish the command "
                "again later",
            )
        except OncorProtocolError as exc:
            log.exception("unreadable answer from ONCOR", extra=ids)
            return _failed(received, oncor_problem(exc), str(exc))
        except Exception as exc:
            log.exception("command handler failed", extra=ids)
            return _failed(
                received,
                "internal_error",
                f"the adapter failed unexpectedly ({type(exc).__name__}); see its logs",
            )

    def _retry_or_give_up(
        self, received: ReceivedCommand, error: str, problem: Problem, given_up: str
    ) -> Decision:
        step = received.attempt + 1
        if step <= self._retry_budget:
            log.warning(
                "cannot carry out the command now, retrying later",
                extra={**_log_ids(received), "step": step, "error": error},
            )
            return RetryLater(step, error)
        return _failed(received, problem, given_up)


def _failed(
    received: ReceivedCommand,
    problem: Problem,
    message: str,
    oncor_error: OncorErrorInfo | None = None,
) -> CommandFailed:
    return CommandFailed(
        command=received.name,
        command_id=received.command_id,
        order_id=received.command.order_id,
        reason=reason_of(problem),
        problem=problem,
        message=message,
        oncor_error=oncor_error,
    )


def _log_ids(received: ReceivedCommand) -> dict[str, str]:
    return {
        "command_id": received.command_id,
        "order_id": received.command.order_id,
        "command": received.name,
    }
