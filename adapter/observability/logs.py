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


class FoldedConnectionErrors(logging.Filter):
    """Drops aiormq's and aio-pika's own lines about a broker connection failing, which the
    bus tells in one line each: "broker not reachable, retrying" per attempt (with the attempt
    number, the next delay and the address), "broker connection lost" per loss (with the error).

    - aiormq "error when creating transport": raised to whoever connects, right after;
    - aiormq "Unexpected connection close from remote" and "Cancelling cause reader exited
      abnormally" (with a traceback): the same error closes the connection, and its close
      callbacks get it;
    - aio-pika "Callback ... error: RuntimeError: <Connection ...> closed": a channel's close
      callback finding its connection already gone, after that same loss.
    """

    _FOLDED = (
        "error when creating transport",
        "Unexpected connection close from remote",
        "Cancelling cause reader exited abnormally",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)  # not getMessage(): aio-pika's repr of a callback can raise
        if message.startswith(self._FOLDED):
            return False
        args = record.args if isinstance(record.args, tuple) else ()
        return not (
            message.startswith("Callback %r error")
            and len(args) == 3
            and args[1] == "RuntimeError"
            and str(args[2]).endswith(" closed")
        )


def fold_connection_errors() -> None:
    """Install `FoldedConnectionErrors` on the loggers it is for, once."""
    for name in ("aiormq.connection", "aio_pika.tools"):
        logger = logging.getLogger(name)
        if not any(isinstance(known, FoldedConnectionErrors) for known in logger.filters):
            logger.addFilter(FoldedConnectionErrors())


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
