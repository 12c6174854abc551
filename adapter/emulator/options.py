"""What an emulator is started with: the command line's flags (arguments.py) and the settings
of a process started from tests or the bench. Kept apart from the server so that the adapter's
command line knows the flags without loading the emulator."""

from dataclasses import dataclass
from typing import Literal

PageOffsetMode = Literal["page", "record"]
#: What a bare `to_date` (a day) bounds; the docs do not say. "day_start": that day is out.
BareToDate = Literal["day_start", "day_end"]


@dataclass(frozen=True)
class EmulatorOptions:
    host: str = "127.0.0.1"
    port: int = 8080  # 0: any free port, announced in the listening line
    token: str = "emulator-token"
    orders: int = 5  # sample orders seeded at start
    seed: int = 1
    job_ready_after: float = 0.2  # seconds a new search job answers ready=false
    page_offset_mode: PageOffsetMode = "page"  # RecordsPage offset: "page" number or "record"s
    timezone: str = "Asia/Yekaterinburg"
    variance: bool = False  # documented but unexampled answer forms, and one odd order of each kind
    bare_to_date: BareToDate = "day_start"  # what a bare to_date bounds: the docs do not say
