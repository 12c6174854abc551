"""ONCOR times are local wall-clock strings without an offset; we speak ISO 8601 with one."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

ONCOR_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def parse_oncor_time(text: str, zone: ZoneInfo) -> datetime:
    """Read `YYYY-MM-DD HH:MM:SS` (or a bare date) as a time in ONCOR's zone."""
    stripped = text.strip()
    if len(stripped) == 10:
        return datetime.combine(date.fromisoformat(stripped), datetime.min.time(), zone)
    if _CANONICAL.fullmatch(stripped):
        # strptime cost about half of mapping an order to its event (measured); for the
        # zero-padded form ONCOR writes, fromisoformat reads the same moment.
        try:
            return datetime.fromisoformat(stripped).replace(tzinfo=zone)
        except ValueError:
            pass  # e.g. a leap second, which strptime accepts: let it decide
    return datetime.strptime(stripped, ONCOR_DATETIME_FORMAT).replace(tzinfo=zone)


def to_iso(text: str | None, zone: ZoneInfo) -> str | None:
    """ONCOR's local time as ISO 8601 with offset; None stays None."""
    if not text:
        return None
    return parse_oncor_time(text, zone).isoformat()


def format_oncor_time(moment: datetime, zone: ZoneInfo) -> str:
    """An aware datetime as ONCOR's local wall-clock string."""
    return moment.astimezone(zone).strftime(ONCOR_DATETIME_FORMAT)
