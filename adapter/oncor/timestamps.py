"""ONCOR times are local wall-clock strings, usually without an offset; we speak ISO 8601 with one.

ONCOR's examples write `YYYY-MM-DD HH:MM:SS`; its type `date_time` is not described, so every
ISO 8601 form is read: a `T` or a space, fractional seconds, an offset or `Z`, or a bare date.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def parse_oncor_time(text: str, zone: ZoneInfo) -> datetime:
    """An ONCOR time as an aware datetime in ONCOR's zone; raises ValueError if not ISO 8601.

    A time without an offset is ONCOR's local time; one with an offset is that moment.
    """
    # fromisoformat reads all of these (Python 3.11+) and is several times faster than strptime
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)
