"""Disk for attachments downloaded by URL: a few downloads at once, a bounded number of bytes.

Each download writes a temporary file under $TMPDIR (in the chart, an emptyDir sized from these
limits, see README "Resource limits"). Its bytes count against `DEZO_ATTACHMENT_SPOOL_MAX_BYTES`
from the first write until the file is deleted after its upload; a write that would go over
fails at once with SpoolFull, so a flood of large URLs cannot fill the disk.

A download holds the delivery its command came on. So at most `max_downloads` run at once:
`DEZO_ATTACHMENT_URL_CONCURRENCY`, and half a lane fewer than the deliveries in flight (see
budget), which keeps room for commands that download nothing. A download that finds no slot
(SpoolFull) does not wait for one: its command is retried later, and its delivery is free for
the commands behind it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


class SpoolFull(Exception):
    """Every download slot is taken, or writing on would take the spool over its limit."""


class Spool:
    def __init__(self, max_bytes: int, max_downloads: int) -> None:
        self.max_bytes = max_bytes
        self.in_use = 0
        self.max_downloads = max_downloads
        self.downloads = 0  # running

    @contextmanager
    def download_slot(self) -> Iterator[None]:
        """A download slot, at once, or SpoolFull."""
        if self.downloads >= self.max_downloads:
            raise SpoolFull(f"all {self.max_downloads} download slots")
        self.downloads += 1
        try:
            yield
        finally:
            self.downloads -= 1

    @contextmanager
    def new_file(self) -> Iterator[SpooledFile]:
        """A temporary file whose bytes count against the spool until it is deleted."""
        handle, name = tempfile.mkstemp(prefix="dezo-attachment-")
        spooled = SpooledFile(self, Path(name), os.fdopen(handle, "wb"))
        try:
            yield spooled
        finally:
            spooled.file.close()
            spooled.path.unlink(missing_ok=True)  # a local unlink: too quick for a thread
            self.in_use -= spooled.size


class SpooledFile:
    def __init__(self, spool: Spool, path: Path, file: BinaryIO) -> None:
        self.spool = spool
        self.path = path
        self.file = file
        self.size = 0

    def write(self, chunk: bytes) -> None:
        spool = self.spool
        if spool.in_use + len(chunk) > spool.max_bytes:
            raise SpoolFull(f"the spool's {spool.max_bytes} bytes")
        spool.in_use += len(chunk)
        self.size += len(chunk)
        self.file.write(chunk)  # a page-cache write of 256 KB: cheaper than a thread hop
