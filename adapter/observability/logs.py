"""JSON logs, one object per line, that never carry a secret or a patient's personal data.

Callers pass ids through `extra={...}`. Two guards stand behind them: keys that name personal
data are dropped whatever their value, and the configured secrets are masked in every field.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

#: Fields of a patient (as ONCOR names them) that must never reach a log line.
PERSONAL_KEYS = frozenset(
    {
        "first_name",
        "middle_name",
        "last_name",
        "birth_day",
        "snils",
        "phones",
        "address",
        "patient",
        "insurance",
        "code_of_patient",
    }
)
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
MASK = "***"


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in PERSONAL_KEYS:
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return self._mask(json.dumps(entry, ensure_ascii=False, default=str))

    def _mask(self, line: str) -> str:
        for secret in self._secrets:
            line = line.replace(secret, MASK)
        return line


class ReraisedTransportErrors(logging.Filter):
    """Drops aiormq's "error when creating transport" line: aiormq raises that very error right
    after logging it, and whoever connects reports it (the bus: one line per attempt, with the
    attempt number, the next delay and the address), so the line only doubles it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error when creating transport")


def fold_connection_errors() -> None:
    """Install `ReraisedTransportErrors` on aiormq's connection logger, once."""
    transport = logging.getLogger("aiormq.connection")
    if not any(isinstance(known, ReraisedTransportErrors) for known in transport.filters):
        transport.addFilter(ReraisedTransportErrors())


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Send every logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    fold_connection_errors()
    logging.captureWarnings(True)  # Python warnings too, as JSON, not as bare stderr text
    # aio-pika and httpx log URLs and reconnect chatter at INFO; warnings are enough.
    for noisy in ("aio_pika", "aiormq", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
