"""The order publisher: while this replica leads, one polling cycle every `poll_interval`."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from adapter.bus.leadership import Leadership
from adapter.publisher.poller import CycleReport, Poller
from adapter.waiting import first_of

#: Leading without a sign of life for this many intervals means the poll loop is stuck.
STALL_INTERVALS = 10


@dataclass(frozen=True)
class PublisherSettings:
    poll_interval: float
    search_ready_timeout: float  # a cycle may wait this long for one search, and not be stuck
    shutdown_grace: float


class OrderPublisher:
    """Runs the poller on the leader replica only; cycles never overlap."""

    def __init__(self, settings: PublisherSettings, leadership: Leadership, poller: Poller) -> None:
        self._settings = settings
        self._leadership = leadership
        self._stop = asyncio.Event()
        self._poller = poller

    @property
    def last_cycle(self) -> CycleReport | None:
        """The last finished cycle of this replica, whatever its outcome."""
        return self._poller.last_report

    @property
    def electing(self) -> bool:
        """This replica's consumer stands on the leader queue: it leads or can take over."""
        return self._leadership.consuming

    @property
    def healthy(self) -> bool:
        """False only when this replica leads and its poll loop has stopped making progress.

        ONCOR or broker outages do not count: restarting would not help, and they show in
        `last_cycle`, `dezo_poll_cycles_total` and `dezo_poll_last_success_timestamp_seconds`.
        """
        stall_after = (
            STALL_INTERVALS * self._settings.poll_interval + self._settings.search_ready_timeout
        )
        idle = time.monotonic() - self._poller.last_progress
        return not self._leadership.held or idle < stall_after

    async def run(self, stop: asyncio.Event) -> None:
        """Poll while leading, until `stop` is set; then finish what is in flight and step down."""
        self._stop = stop
        electing = asyncio.create_task(self._leadership.take_part())
        try:
            while not stop.is_set():
                if self._leadership.held:
                    await self._lead(stop)
                else:
                    await self._follow(stop)
        finally:
            # Still leading while the last status updates finish: no one else polls meanwhile.
            await self._poller.settle(self._settings.shutdown_grace)
            await self._leadership.close()
            await asyncio.gather(electing, return_exceptions=True)

    def _may_publish(self) -> bool:
        return self._leadership.held and not self._stop.is_set()

    async def _lead(self, stop: asyncio.Event) -> None:
        """One cycle, cut short by `stop` or a lost leadership, then the rest of the interval."""
        quiet = self._leadership.quiet_until - time.monotonic()
        if quiet > 0:  # taken over: the former leader's status updates may still land
            await first_of(stop.wait(), self._leadership.lost.wait(), seconds=quiet)
            return
        started = time.monotonic()
        cycle = asyncio.create_task(self._poller.run_cycle(self._may_publish))
        await first_of(cycle, stop.wait(), self._leadership.lost.wait())  # cancels the cycle
        await asyncio.wait({cycle})  # let a cancelled cycle count itself and clean up
        # Announcements and status updates still in flight are not waited for: the next cycle
        # leaves their orders alone (`Poller`), so one hanging update holds no other order up.
        remaining = self._settings.poll_interval - (time.monotonic() - started)
        if remaining > 0:
            await first_of(stop.wait(), self._leadership.lost.wait(), seconds=remaining)
        if not self._leadership.held:
            # Another replica leads now, whether lost during the cycle or after it: a status
            # update of ours may no longer start, nor go on.
            self._poller.abandon()

    async def _follow(self, stop: asyncio.Event) -> None:
        self._poller.skipped.forget()  # the leader speaks for the orders now
        await first_of(stop.wait(), self._leadership.gained.wait())
