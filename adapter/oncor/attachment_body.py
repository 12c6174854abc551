"""The `attachment/create` request body, base64 inside JSON, produced as a stream.

A 50 MB PDF is 67 MB of base64: building that as one string (and then one JSON document) would
hold several copies of the file at once. Instead the body is written in slices of a multiple of
three bytes, so each slice encodes on its own, and the body can be produced again for a retry.
A file that arrived as base64 already (checked, see `Base64File`) goes as it came.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Base64File:
    """A file as canonical standard base64 (alphabet and padding checked), and its size.

    Decoding an inline file only to encode it again for ONCOR cost more CPU than everything
    else a command does (measured on 100 KB PDFs), so a checked inline file stays encoded.
    """

    text: bytes
    size: int  # decoded bytes


AttachmentContent = bytes | Path | Base64File

_SLICE = 3 * 64 * 1024  # a multiple of 3: base64 of each slice needs no padding in the middle
#: Files up to this size go as one body: for them a copy costs less than slicing (a write and an
#: await per slice); bigger ones are sliced, so their base64 never exists whole.
_WHOLE_MAX = 1024 * 1024


class AttachmentBody:
    def __init__(self, name: str, media_type: str, content: AttachmentContent) -> None:
        meta = json.dumps({"name": name, "type": media_type}, ensure_ascii=False)
        self._prefix = ('{"attachment":{"meta":' + meta + ',"data":"').encode()
        self._suffix = b'"}}'
        self._content = content
        if isinstance(content, Path):
            self._size = content.stat().st_size
        elif isinstance(content, Base64File):
            self._size = content.size
        else:
            self._size = len(content)

    @property
    def content_length(self) -> int:
        return len(self._prefix) + 4 * ((self._size + 2) // 3) + len(self._suffix)

    def whole(self) -> bytes | None:
        """The whole body at once for a small file in memory; None when it should be streamed."""
        if isinstance(self._content, Path) or self._size > _WHOLE_MAX:
            return None
        if isinstance(self._content, Base64File):
            data = self._content.text
        else:
            data = base64.b64encode(self._content)
        return b"".join((self._prefix, data, self._suffix))

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._prefix
        if isinstance(self._content, Path):
            with self._content.open("rb") as file:
                while piece := await asyncio.to_thread(file.read, _SLICE):
                    yield base64.b64encode(piece)
        elif isinstance(self._content, Base64File):
            text = memoryview(self._content.text)
            for start in range(0, len(text), _SLICE):
                yield bytes(text[start : start + _SLICE])
        else:
            view = memoryview(self._content)
            for start in range(0, len(view), _SLICE):
                yield base64.b64encode(view[start : start + _SLICE])
        yield self._suffix
