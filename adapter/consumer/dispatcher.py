"""The message bus: one command at a time per order, to its handler, and back as a decision.

The decision says how the delivery ends; the service carries it out (see settlement):

    CommandSucceeded / CommandFailed   announce it (a failure is dead-lettered too)
    RetryLater                         ONCOR is unavailable: to retry queue `step`
    WaitForOncor                       ONCOR is down (the circuit breaker is open): parked in
                                       the first retry queue, no retry budget spent

A command that an earlier copy already carried out succeeds again from what ONCOR holds (see
idempotency), with the same outcome event id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapter.consumer.dependencies import Dependencies
from adapter.consumer.errors import InvalidCommand
from adapter.consumer.handlers import HANDLERS
from adapter.consumer.intake import ReceivedCommand
from adapter.failures import Problem, oncor_problem, reason_of
from adapter.messages.outcomes import CommandFailed, CommandSucceeded, OncorErrorInfo
from adapter.oncor.errors import (
    OncorAuthError,
    OncorCircuitOpen,
    OncorError,
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


class OrderLocks:
    """One asyncio.Lock per order while anyone uses it; waiters get it in arrival order."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, order_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(order_id, asyncio.Lock())
        self._users[order_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[order_id] -= 1
            if not self._users[order_id]:
                del self._users[order_id], self._locks[order_id]


class Dispatcher:
    def __init__(self, deps: Dependencies, retry_budget: int, write_horizon: float) -> None:
        self._deps = deps
        self._retry_budget = retry_budget
        self._write_horizon = write_horizon
        self._locks = OrderLocks()

    async def dispatch(self, received: ReceivedCommand) -> Decision:
        """Carry out one command; never raises except on cancellation."""
        # The lock is the first await after the message arrived: arrival order is kept.
        async with self._locks.hold(received.command.order_id):
            return await self._run(received)

    async def _run(self, received: ReceivedCommand) -> Decision:
        ids = _log_ids(received)
        try:
            return await HANDLERS[received.name](received, self._deps)
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
            if isinstance(exc, OncorUnavailable) and exc.maybe_applied:
                # The write may still land: the next attempt looks for it only after it would
                # have. Holding the order meanwhile keeps its other commands behind it.
                await asyncio.sleep(self._write_horizon)
            if isinstance(exc, OncorCircuitOpen):  # an outage is no failure of this command
                return WaitForOncor(str(exc))
            return self._retry_or_give_up(received, exc)
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

    def _retry_or_give_up(self, received: ReceivedCommand, exc: OncorError) -> Decision:
        step = received.attempt + 1
        if step <= self._retry_budget:
            log.warning(
                "ONCOR unavailable, retrying later",
                extra={**_log_ids(received), "step": step, "error": str(exc)},
            )
            return RetryLater(step, str(exc))
        return _failed(
            received,
            "oncor_unavailable",  # an auth error too: for a command, waiting was all it could do
            f"ONCOR stayed unavailable through {self._retry_budget} delayed retries ({exc}); "
            "the command waits in dezo.commands.dead for a replay",
        )


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
