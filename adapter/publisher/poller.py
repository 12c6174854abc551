"""One polling cycle, as the scenario reads it.

1. search the orders without a status, created since the configured date;
2. page through them;
3. enrich each with its patient and attachment metadata, and announce it on the bus;
4. once the broker confirmed the announcement, set its status `Обработка началась`.

Traces: the cycle is one (search, pages); each order starts a trace of its own, linked to its
cycle's, so that one order can be followed from its search to its status: `order` with the
children `patient`, `attachments`, `publish dezo.events` (whose context `order.received`
carries) and `mark`.

An order whose status was not set is found again by the next search and announced again with the
same event id: a failure anywhere delays an order, never loses one.

A cycle ends once its announcements are confirmed; the status updates go on behind it, so that
one update hanging (up to the read timeout) delays its own order only. Until it ends, the next
cycles find that order still without a status and leave it alone instead of announcing it again;
so do they with an order marked after their search started (the search may predate the mark).
Status updates go `concurrency` at a time: however many hang, the rest of ONCOR's connections
stay free for the searches and enrichment of the orders behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from adapter.bus.outbox import Outbox
from adapter.bus.topology import EVENTS_EXCHANGE, ORDER_RECEIVED
from adapter.messages.orders import OrderReceived
from adapter.observability import metrics, tracing
from adapter.oncor.api import OncorApi
from adapter.oncor.errors import OncorAuthError, OncorError
from adapter.oncor.models import Rc, RcTm66OrderQuery, SearchPage
from adapter.oncor.status import STATUS_PROCESSING_STARTED
from adapter.publisher.enrich import CycleEnrichment, page_attachment_ids
from adapter.publisher.failures import (
    AUTH_HINT,
    OrderSkipped,
    OrderStage,
    SkippedOrders,
    count_failure,
)
from adapter.publisher.order_event import OrderMapping, order_received_message

log = logging.getLogger(__name__)

#: A publish not confirmed by then counts as the broker being unavailable.
PUBLISH_TIMEOUT = 15.0
#: Pages of orders in flight at once: one being announced while the next is fetched.
PAGES_IN_FLIGHT = 2

CycleOutcome = Literal["success", "error", "interrupted", "oncor_down"]


@dataclass(frozen=True)
class PollSettings:
    interval: float  # `poll_interval`: also the longest wait for ONCOR within a cycle
    concurrency: int  # ONCOR calls at once for patients and attachments
    page_size: int  # records per search page
    from_date: date | None  # search orders created since; else `lookback_days` back
    lookback_days: int
    zone: ZoneInfo  # ONCOR's clock
    oncor_origin: str  # for /ui-orid/ links


class PublishingStopped(Exception):
    """The replica lost its leadership or is shutting down: no further order is announced."""


class BrokerUnavailable(Exception):
    """A publish was not confirmed (broker away, or unroutable): the cycle stops there."""


@dataclass
class CycleReport:
    """What one cycle did: logged, counted, and kept as `OrderPublisher.last_cycle`."""

    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    outcome: CycleOutcome = "interrupted"
    found: int = 0
    published: int = 0
    marked: int = 0  # status updates finishing after the cycle count here too
    skipped: int = 0
    in_flight: int = 0  # found again while its announcement or mark was in flight, or just marked
    deleted: int = 0
    duration: float = 0.0


class UnmarkedAnnouncements:
    """Orders this process announced but has not marked (yet), by order id.

    Seeing one published again is a re-publish (with the same event id, which is derived from the
    order id alone). Kept in memory only, bounded: it counts what this process re-publishes,
    which is what an operator needs to notice failing status updates.
    """

    LIMIT = 100_000

    def __init__(self) -> None:
        self._ids: dict[str, None] = {}  # insertion-ordered, so the oldest is dropped first

    def published(self, order_id: str) -> bool:
        """Remember a confirmed publish; True when this order was announced before."""
        again = order_id in self._ids
        self._ids[order_id] = None
        if len(self._ids) > self.LIMIT:
            del self._ids[next(iter(self._ids))]
        return again

    def marked(self, order_id: str) -> None:
        self._ids.pop(order_id, None)


#: Asked before every announcement and every status update: still leading, not shutting down.
MayPublish = Callable[[], bool]


class Poller:
    """Runs cycles, one at a time."""

    def __init__(self, settings: PollSettings, oncor: OncorApi, bus: Outbox) -> None:
        self._settings = settings
        self._oncor = oncor
        self._bus = bus
        self._mapping = OrderMapping(settings.zone, settings.oncor_origin)
        self._unmarked = UnmarkedAnnouncements()
        self.skipped = SkippedOrders()
        self._commits: set[asyncio.Task[None]] = set()
        #: orders whose announcement or status update is in flight: the next cycles skip them
        self._in_flight: set[str] = set()
        #: orders in flight when this cycle's search started: the only ones it may find unmarked
        #: after they were marked, since it finds its own orders once (`iter_search`)
        self._in_flight_at_search: set[str] = set()
        #: those of them marked since: skipped too, so a backlog of any size adds none here
        self._marked_since_search: set[str] = set()
        self._marks = asyncio.Semaphore(settings.concurrency)
        #: orders of a cycle in flight at once
        self._window = PAGES_IN_FLIGHT * settings.page_size
        self.last_report: CycleReport | None = None
        #: monotonic time of the last sign of life: a cycle started or ended, a page arrived
        self.last_progress = time.monotonic()

    async def run_cycle(self, may_publish: MayPublish) -> CycleReport:
        """One cycle; ends early, never raises, on ONCOR or broker failure; cancellable."""
        with tracing.span("poll cycle") as span:
            report = await self._cycle(may_publish)
            span.set_attributes(
                {
                    "dezo.cycle.outcome": report.outcome,
                    "dezo.cycle.found": report.found,
                    "dezo.cycle.published": report.published,
                }
            )
            if report.outcome == "error":
                tracing.failed(span, "cycle_failed")
        return report

    async def _cycle(self, may_publish: MayPublish) -> CycleReport:
        report = CycleReport()
        started = self.last_progress = time.monotonic()
        enrichment = CycleEnrichment(self._oncor, self._settings.concurrency, self._window)
        self.skipped.cycle_started()
        try:
            if await self._oncor_down():
                report.outcome = "oncor_down"  # skipped: the circuit breaker holds ONCOR for down
            else:
                # An outage seen mid-cycle is waited out for an interval at most: then the cycle
                # ends, and the next ones are skipped until ONCOR is back.
                with self._oncor.outage_wait(self._settings.interval):
                    await self._poll(report, enrichment, may_publish)
                report.outcome = "success"
                self.skipped.cycle_finished()
        except* OncorAuthError as group:
            report.outcome = "error"
            log.error(AUTH_HINT, extra={"error": str(group.exceptions[0])})
        except* OncorError as group:
            report.outcome = "error"
            log.warning(
                "order search failed; the next cycle retries",
                extra={"error": str(group.exceptions[0])},
            )
        except* BrokerUnavailable as group:
            report.outcome = "error"
            log.warning(
                "announcement not confirmed (broker away, or no queue bound to order.received):"
                " cycle stopped, unconfirmed orders left unmarked",
                extra={"error": str(group.exceptions[0]), "orders": len(group.exceptions)},
            )
        except* PublishingStopped:
            log.info("cycle stopped: leadership lost or shutting down")
        except* Exception:
            report.outcome = "error"
            log.exception("cycle failed unexpectedly; the next cycle retries")
        finally:
            enrichment.close()
            report.duration = time.monotonic() - started
            self._record(report)
        return report

    async def settle(self, grace: float) -> None:
        """Let announcements and status updates in flight finish, for at most `grace` seconds."""
        if not self._commits:
            return
        _, pending = await asyncio.wait(self._commits.copy(), timeout=grace)
        for commit in pending:
            commit.cancel()
        if pending:
            log.warning(
                "grace period over: orders left unmarked are announced again later",
                extra={"orders": len(pending)},
            )

    def abandon(self) -> None:
        """Stop every announcement and status update in flight: leadership has moved on."""
        for commit in self._commits:
            commit.cancel()

    # --- step 0: ONCOR is there ---------------------------------------------------------------

    async def _oncor_down(self) -> bool:
        """While the circuit breaker holds ONCOR for down, wait up to an interval for it."""
        breaker = self._oncor.breaker
        if breaker.is_open:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.interval):
                    await breaker.wait_closed()
        return breaker.is_open

    # --- steps 1 and 2: search, page ----------------------------------------------------------

    def _query(self) -> RcTm66OrderQuery:
        today = datetime.now(self._settings.zone).date()
        since = self._settings.from_date or today - timedelta(days=self._settings.lookback_days)
        # No to_date: dezo.md searches "from a date (or without one) up to the present", and the
        # docs do not say whether a bare to_date takes in that day or ends where it starts.
        return RcTm66OrderQuery(from_date=since.isoformat(), status_is_null=True)

    async def _poll(
        self, report: CycleReport, enrichment: CycleEnrichment, may_publish: MayPublish
    ) -> None:
        self._marked_since_search.clear()
        self._in_flight_at_search = set(self._in_flight)
        job = await self._oncor.start_order_search(self._query())
        in_flight = asyncio.Semaphore(self._window)
        async with asyncio.TaskGroup() as orders:
            async for page in self._oncor.iter_search(job.id):
                self.last_progress = time.monotonic()
                report.found += len(page.records) + len(page.unreadable)
                metrics.orders_found.inc(len(page.records) + len(page.unreadable))
                records = self._announceable(page, report)
                page_ids = page_attachment_ids(records)
                enrichment.prefetch_attachments(page_ids)
                for record in records:
                    await in_flight.acquire()
                    order = orders.create_task(
                        self._handle(record, page_ids, enrichment, report, may_publish)
                    )
                    order.add_done_callback(lambda _: in_flight.release())

    def _announceable(self, page: SearchPage, report: CycleReport) -> list[Rc]:
        """The page's orders to announce: not the unreadable ones, not the deleted ones."""
        for unreadable in page.unreadable:
            count_failure("record", unreadable.id, unreadable.error)
            self._skip(unreadable.id, report)
        deleted = [record for record in page.records if record.deleted]
        if deleted:
            report.deleted += len(deleted)
            metrics.orders_deleted.inc(len(deleted))
            log.debug(  # every cycle finds them again: the metric counts, the log stays quiet
                "deleted orders left alone",
                extra={"order_ids": [record.id for record in deleted]},
            )
        records = [record for record in page.records if not record.deleted]
        announceable = [
            record
            for record in records
            if record.id not in self._in_flight and record.id not in self._marked_since_search
        ]
        report.in_flight += len(records) - len(announceable)
        return announceable

    def _skip(self, order_id: str | None, report: CycleReport) -> None:
        report.skipped += 1
        self.skipped.skipped(order_id)

    # --- step 3: enrich, announce -------------------------------------------------------------

    async def _handle(
        self,
        record: Rc,
        page_ids: tuple[str, ...],
        enrichment: CycleEnrichment,
        report: CycleReport,
        may_publish: MayPublish,
    ) -> None:
        with tracing.span(
            "order",
            context=tracing.NEW_TRACE,
            links=tracing.link_to_current(),  # the cycle that found it
            attributes={"dezo.order_id": record.id or ""},
        ) as span:
            try:
                announcement = await self._enrich(record, page_ids, enrichment)
            except OrderSkipped:
                tracing.failed(span, "skipped")  # its stage's span says why
                self._skip(record.id, report)
                return
            # From here the order is its event: the task below holds it, and lets it go once
            # the message is made (`_commit`).
            del record
            order_id = announcement.order.id
            announced: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            # The task keeps the order's trace: its `mark` span, ending after this one, is
            # still the order's child.
            commit = asyncio.create_task(self._commit(announcement, announced, report, may_publish))
            del announcement
            self._commits.add(commit)
            self._in_flight.add(order_id)
            commit.add_done_callback(lambda done: self._commit_done(done, order_id, announced))
            # Shielded: once started, an announcement and its status update finish even when
            # the cycle is cancelled; `settle` bounds them at shutdown. The cycle waits for the
            # announcement only: the status update goes on behind it.
            await asyncio.shield(announced)

    def _commit_done(
        self, commit: asyncio.Task[None], order_id: str, announced: asyncio.Future[None]
    ) -> None:
        self._commits.discard(commit)
        self._in_flight.discard(order_id)
        if commit.cancelled():
            announced.cancel()
        elif (error := commit.exception()) is not None and not announced.done():
            announced.set_exception(error)  # raised into its cycle, if that is still on

    async def _enrich(
        self, record: Rc, page_ids: tuple[str, ...], enrichment: CycleEnrichment
    ) -> OrderReceived:
        with tracing.span("patient"), OrderStage("patient", record.id):
            patient = await enrichment.patient(record.patient_id) if record.patient_id else None
        with tracing.span("attachments"), OrderStage("attachments", record.id):
            attachments = await enrichment.attachments(record, page_ids)
        if attachments.missing:
            log.warning(
                "order goes out without the attachments ONCOR no longer has",
                extra={"order_id": record.id, "attachment_ids": attachments.missing},
            )
        with OrderStage("event", record.id):
            return self._mapping.order_received(record, patient, attachments)

    async def _commit(
        self,
        announcement: OrderReceived,
        announced: asyncio.Future[None],
        report: CycleReport,
        may_publish: MayPublish,
    ) -> None:
        """Announce the order, then set its status."""
        order_id = announcement.order.id
        if not may_publish():
            raise PublishingStopped
        try:
            with tracing.publishing(EVENTS_EXCHANGE, ORDER_RECEIVED, None) as span:
                message = order_received_message(announcement)  # carries the span's context
                # Waiting for its confirm, an order weighs its message alone: at the start of a
                # backlog, a whole window of orders waits for the broker at once.
                del announcement
                span.set_attribute("messaging.message.id", message.message_id or "")
                async with asyncio.timeout(PUBLISH_TIMEOUT):
                    await self._bus.publish(EVENTS_EXCHANGE, ORDER_RECEIVED, message)
        except Exception as exc:  # whatever the cause, the event is not confirmed
            raise BrokerUnavailable(f"order {order_id}: {type(exc).__name__}: {exc}") from exc
        del message
        self._confirmed(order_id, report)
        if not may_publish():
            raise PublishingStopped  # the next leader announces it again, and marks it
        announced.set_result(None)
        async with self._marks:
            # Asked again after waiting its turn: a replica that no longer leads (or is
            # stopping) starts no status update; the next leader announces the order again.
            if may_publish():
                await self._mark(order_id, report)

    def _confirmed(self, order_id: str, report: CycleReport) -> None:
        report.published += 1
        metrics.orders_published.inc()
        # By order id: deriving the event id (uuid5) twice more per order cost more than the
        # bookkeeping itself.
        if self._unmarked.published(order_id):
            metrics.orders_republished.inc()
            log.info("order announced again: its status was not set", extra={"order_id": order_id})

    # --- step 4: mark -------------------------------------------------------------------------

    async def _mark(self, order_id: str, report: CycleReport) -> None:
        try:
            with tracing.span("mark"):
                await self._oncor.update_instance_status(order_id, STATUS_PROCESSING_STARTED)
        except OncorError as exc:
            # Not marked (or maybe marked, if `maybe_applied`): the next search decides.
            count_failure("mark", order_id, exc)
            return
        self._unmarked.marked(order_id)
        if order_id in self._in_flight_at_search:
            self._marked_since_search.add(order_id)
        report.marked += 1
        metrics.orders_marked.inc()

    def _record(self, report: CycleReport) -> None:
        self.last_report = report
        self.last_progress = time.monotonic()
        metrics.poll_cycles.labels(report.outcome).inc()
        metrics.poll_cycle_duration.observe(report.duration)
        if report.outcome == "success":
            metrics.poll_last_success.set_to_current_time()
        log.info(
            "poll cycle finished",
            extra={
                "outcome": report.outcome,
                "found": report.found,
                "published": report.published,
                "marked": report.marked,
                "skipped": report.skipped,
                "in_flight": report.in_flight,
                "deleted": report.deleted,
                "duration_s": round(report.duration, 3),
            },
        )
