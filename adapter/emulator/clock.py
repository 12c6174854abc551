"""ONCOR's clock: local wall-clock time without an offset, in one configured time zone."""

from datetime import datetime
from zoneinfo import ZoneInfo

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"


def format_time(moment: datetime) -> str:
    """`TIME_FORMAT`, written without strftime (which is several times slower)."""
    return moment.replace(tzinfo=None).isoformat(" ", "seconds")


class LocalClock:
    """Naive local datetimes in the configured zone, whole seconds as ONCOR shows them."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)

    def now(self) -> datetime:
        return datetime.now(self.zone).replace(tzinfo=None, microsecond=0)

    def now_text(self) -> str:
        return format_time(self.now())
