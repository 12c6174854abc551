"""The `attachment/create` request body, base64 inside JSON, produced as a stream.

A 50 MB PDF is 67 MB of base64: building that as one string (and then one JSON document) would
hold several copies of the file at once. Instead the body is written in slices of a multiple of
three bytes, so each slice encodes on its own, and the body can be produced again for a retry.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

AttachmentContent = bytes | Path

_SLICE = 3 * 64 * 1024  # a multiple of 3: base64 of each slice needs no padding in the middle


class AttachmentBody:
    def __init__(self, name: str, media_type: str, content: AttachmentContent) -> None:
        meta = json.dumps({"name": name, "type": media_type}, ensure_ascii=False)
        self._prefix = ('{"attachment":{"meta":' + meta + ',"data":"').encode()
        self._suffix = b'"}}'
        self._content = content
        self._size = content.stat().st_size if isinstance(content, Path) else len(content)

    @property
    def content_length(self) -> int:
        return len(self._prefix) + 4 * ((self._size + 2) // 3) + len(self._suffix)

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._prefix
        if isinstance(self._content, Path):
            with self._content.open("rb") as file:
                while piece := await asyncio.to_thread(file.read, _SLICE):
                    yield base64.b64encode(piece)
        else:
            view = memoryview(self._content)
            for start in range(0, len(view), _SLICE):
                yield base64.b64encode(view[start : start + _SLICE])
        yield self._suffix
