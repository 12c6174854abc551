"""Everything one emulator holds, behind one object the routes share."""

from dataclasses import dataclass, field, replace
from typing import Literal

from adapter.emulator.calls import CallLog
from adapter.emulator.clock import LocalClock
from adapter.emulator.faults import FaultInjector
from adapter.emulator.jobs import SearchJobs
from adapter.emulator.options import BareToDate, PageOffsetMode
from adapter.emulator.samples import SampleGenerator
from adapter.emulator.store import Store


@dataclass
class RuntimeConfig:
    """Settings /admin/config may change while the emulator runs."""

    job_ready_after: float  # seconds a new search job answers ready=false
    # "page": RecordsPage offset is a page number (RecordsPage doc);
    # "record": it counts records (dezo.md). Clients must work with both.
    page_offset_mode: PageOffsetMode
    # dezo.md: the order's status "is also updated when documents are uploaded", without naming
    # the statuses: none by default; e.g. {"RcTm66OrderReject": "Отказ"} to set one.
    document_statuses: dict[str, str] = field(default_factory=dict)
    # Every documented 422 body says "name"; "class" is a variant clients must read too.
    document_error_key: Literal["name", "class"] = "name"
    # Answers in forms the docs allow but their examples do not show (variance.py)
    variance: bool = False
    bare_to_date: BareToDate = "day_start"


class EmulatorState:
    """The emulator's whole state.

    The app runs in one event loop and every mutation here is synchronous (no await inside), so
    each request's changes are atomic without a lock.
    """

    def __init__(
        self,
        *,
        token: str,
        timezone: str,
        seed: int,
        config: RuntimeConfig,
    ) -> None:
        self.token = token
        self.clock = LocalClock(timezone)
        self._initial_config = config
        self.config = replace(config, document_statuses=dict(config.document_statuses))
        self.store = Store()
        self.samples = SampleGenerator(self.store, self.clock, seed)
        self.jobs = SearchJobs()
        self.calls = CallLog()
        self.faults = FaultInjector(seed)

    def reset(self) -> None:
        """Back to an empty registry with the start-up config; record ids keep growing."""
        self.store.clear()
        self.jobs.clear()
        self.calls.clear()
        self.faults.clear()
        initial = self._initial_config
        self.config = replace(initial, document_statuses=dict(initial.document_statuses))
