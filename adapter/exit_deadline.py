"""The last guard of a shutdown: after SIGTERM the process ends by a deadline, whatever hangs.

A clean stop finishes in-flight commands within `DEZO_SHUTDOWN_GRACE` and closes the broker
connection. Some waits cannot be cut short from inside the event loop: an AMQP handshake with
a peer that accepts TCP and never answers leaves aio-pika reconnecting in a task that outlives
the cancellation of everything else, and `asyncio.run` then waits for it forever. A timer
thread, independent of the loop, ends the process once the deadline passes.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

#: Seconds allowed beyond the grace for closing connections, within the promised grace + 5 s.
CLOSING_SLACK = 4.0
#: Exit status of a shutdown cut short: in-flight commands stay unacked and are redelivered.
EXIT_STATUS = 3


def exit_by(seconds: float) -> None:
    """End the process `seconds` from now unless it has ended by itself."""
    timer = threading.Timer(seconds, _exit_now, args=(seconds,))
    timer.daemon = True  # never what keeps a finished process alive
    timer.start()


def _exit_now(seconds: float) -> None:
    log.error("shutdown not finished in time, exiting", extra={"seconds": seconds})
    logging.shutdown()
    os._exit(EXIT_STATUS)
