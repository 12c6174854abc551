"""How an order that cannot go further this cycle is named, counted and logged.

An order skipped in one cycle still has no status in ONCOR, so the next search finds it again:
a failure here delays an order, it never loses one.
"""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import Literal

from pydantic import ValidationError

from adapter.failures import OncorProblem, oncor_problem
from adapter.observability import metrics
from adapter.oncor.errors import OncorAuthError, OncorError, OncorUnavailable

log = logging.getLogger(__name__)

#: `record`: the search gave the order in a form its documented type does not allow
Stage = Literal["record", "patient", "attachments", "event", "mark"]

AUTH_HINT = "ONCOR refused the API token: check DEZO_ONCOR_TOKEN and its rights in ONCOR"


class OrderSkipped(Exception):
    """The order could not be announced this cycle; it was counted and logged already."""


def failure_reason(exc: BaseException) -> OncorProblem | Literal["invalid"]:
    """The words of adapter.failures: ONCOR's failure by its class; anything else (a field of
    the order that cannot be read) is `invalid`."""
    return oncor_problem(exc) if isinstance(exc, OncorError) else "invalid"


def describe(exc: BaseException) -> str:
    """The error for a log line; a validation error names fields only, never their values."""
    if isinstance(exc, ValidationError):
        fields = ", ".join(".".join(str(part) for part in e["loc"]) for e in exc.errors())
        return f"invalid fields: {fields}"
    return str(exc)


def count_failure(stage: Stage, order_id: str | None, exc: BaseException) -> None:
    """Count an order's failure and log it with the order id (and never the patient)."""
    reason = failure_reason(exc)
    metrics.order_failures.labels(stage, reason).inc()
    extra: dict[str, object] = {
        "order_id": order_id,
        "stage": stage,
        "reason": reason,
        "error": describe(exc),
    }
    if isinstance(exc, OncorUnavailable):
        extra["maybe_applied"] = exc.maybe_applied
    if isinstance(exc, OncorAuthError):
        log.error(AUTH_HINT, extra=extra)
    elif stage == "mark":
        log.warning(
            "order announced but not marked; the next cycle announces it again", extra=extra
        )
    else:
        log.warning("order skipped this cycle", extra=extra)


class OrderStage:
    """`with OrderStage("patient", order_id):` a failure inside skips the order for this cycle.

    An auth error is not the order's fault: it propagates and ends the cycle.
    """

    def __init__(self, stage: Stage, order_id: str | None) -> None:
        self._stage: Stage = stage
        self._order_id = order_id

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, OncorAuthError) or not isinstance(exc, OncorError | ValueError):
            return
        count_failure(self._stage, self._order_id, exc)
        raise OrderSkipped(self._stage) from exc


class SkippedOrders:
    """Orders skipped in every cycle since some time: what `dezo_orders_skipped_since...` shows.

    An order leaves when a cycle gets past it or no longer finds it (announced, deleted, or
    given a status by someone else). Only the leader polls; a follower shows none.
    """

    def __init__(self) -> None:
        self._since: dict[str | None, float] = {}  # order id (None: a record without one)
        self._this_cycle: set[str | None] = set()

    def cycle_started(self) -> None:
        self._this_cycle = set()

    def skipped(self, order_id: str | None) -> None:
        self._this_cycle.add(order_id)

    def cycle_finished(self) -> None:
        """After a whole search was read: keep the orders skipped again, forget the others."""
        now = time.time()
        self._since = {order: self._since.get(order, now) for order in self._this_cycle}
        metrics.orders_skipped_since.set(min(self._since.values(), default=0))

    def forget(self) -> None:
        self._since.clear()
        metrics.orders_skipped_since.set(0)
