"""A command's files (the PDF and its detached signature): checked, fetched and uploaded.

Inline files are decoded in memory: the message size bounds them. Files by URL (claim checks)
are streamed to a temporary file with a size limit and a deadline, and uploaded from that file
(`OncorClient.create_attachment` reads a Path in slices), so a 50 MB PDF never sits in memory.
Every check happens before ONCOR is called: a bad file means no ONCOR call at all.
"""

from __future__ import annotations

import asyncio
import binascii
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

from adapter.consumer.errors import InvalidCommand
from adapter.messages.commands import AttachmentRef, InlineAttachment, UrlAttachment
from adapter.observability import metrics
from adapter.oncor.attachment_body import AttachmentContent, Base64File
from adapter.oncor.client import OncorClient
from adapter.oncor.errors import OncorProtocolError

PDF_MAGIC = b"%PDF-"
_DOWNLOAD_CHUNK = 256 * 1024
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@dataclass(frozen=True)
class AttachmentLimits:
    inline_max_bytes: int
    url_max_bytes: int
    url_timeout: float


@dataclass(frozen=True)
class ReadyAttachment:
    """A checked file, in memory or in a temporary file, about to be uploaded."""

    name: str
    media_type: str
    content: AttachmentContent
    size: int


class AttachmentFetcher:
    """Turns attachment references into checked files; `http` is not the ONCOR client."""

    def __init__(self, limits: AttachmentLimits, http: httpx.AsyncClient) -> None:
        self._limits = limits
        self._http = http

    @asynccontextmanager
    async def ready(
        self, ref: AttachmentRef, what: str, *, must_be_pdf: bool
    ) -> AsyncIterator[ReadyAttachment]:
        """The file, checked; a downloaded file is deleted when the context ends."""
        if isinstance(ref, InlineAttachment):
            checked = check_inline(ref.content_base64, what, self._limits.inline_max_bytes)
            _check_pdf(_head(checked), what, must_be_pdf)
            yield ReadyAttachment(ref.name, ref.media_type, checked, checked.size)
            return
        path, size = await self._download(ref, what)
        try:
            with path.open("rb") as file:
                _check_pdf(file.read(len(PDF_MAGIC)), what, must_be_pdf)
            yield ReadyAttachment(ref.name, ref.media_type, path, size)
        finally:
            _discard(path)

    async def _download(self, ref: UrlAttachment, what: str) -> tuple[Path, int]:
        handle, name = tempfile.mkstemp(prefix="dezo-attachment-")
        path = Path(name)
        try:
            with os.fdopen(handle, "wb") as file:
                size = await self._stream_into(file, ref, what)
        except BaseException:
            _discard(path)
            raise
        if size == 0:
            _discard(path)
            raise InvalidCommand("empty_attachment", f"{what}: {_shown(ref)} is empty")
        return path, size

    async def _stream_into(self, file: BinaryIO, ref: UrlAttachment, what: str) -> int:
        limit, timeout = self._limits.url_max_bytes, self._limits.url_timeout
        try:
            async with asyncio.timeout(timeout), self._http.stream("GET", str(ref.url)) as response:
                if response.status_code != httpx.codes.OK:
                    raise InvalidCommand(
                        "url_failed",
                        f"{what}: GET {_shown(ref)} answered HTTP {response.status_code}",
                    )
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise _url_too_large(ref, what, limit)
                size = 0
                async for chunk in response.aiter_bytes(_DOWNLOAD_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise _url_too_large(ref, what, limit)
                    file.write(chunk)  # a page-cache write of 256 KB: cheaper than a thread hop
                return size
        except (TimeoutError, httpx.TimeoutException):
            raise InvalidCommand(
                "url_timeout",
                f"{what}: downloading {_shown(ref)} took over {timeout:g} s "
                "(DEZO_ATTACHMENT_URL_TIMEOUT)",
            ) from None
        except httpx.HTTPError as exc:
            raise InvalidCommand(
                "url_failed", f"{what}: GET {_shown(ref)} failed: {type(exc).__name__}"
            ) from None


async def upload(oncor: OncorClient, attachment: ReadyAttachment, name: str) -> str:
    """`attachment/create` under `name`; returns the new attachment's ONCOR id."""
    meta = await oncor.create_attachment(name, attachment.media_type, attachment.content)
    if not meta.id:
        raise OncorProtocolError("attachment/create", "the answer has no attachment id")
    metrics.attachment_bytes.inc(attachment.size)
    return meta.id


def check_inline(text: str, what: str, max_bytes: int) -> Base64File:
    """Standard base64 (RFC 4648 §4), checked without decoding it; whitespace is tolerated.

    What `base64.b64decode(validate=True)` accepts: the alphabet, then `=` at the end only,
    exactly as many as the last quantum needs (surplus ones after a whole quantum are ignored).
    """
    if 3 * (len(text) // 4) > max_bytes + 2:  # refuse before any copy: a copy costs memory
        raise _inline_too_large(what, max_bytes)
    encoded = text.encode("ascii") if text.isascii() else b""
    rest = encoded.translate(None, _ALPHABET)
    if not text.isascii() or rest.strip(b"="):  # maybe whitespace: drop it, check again
        text = "".join(text.split())
        if not text.isascii():
            raise _bad_base64(what)
        encoded = text.encode("ascii")
        rest = encoded.translate(None, _ALPHABET)
    if rest.strip(b"=") or not encoded.endswith(rest):  # only `=`, and only at the end
        raise _bad_base64(what)
    data_chars = len(encoded) - len(rest)
    needed = -data_chars % 4  # the padding the last quantum needs
    if needed:
        if needed == 3 or len(rest) != needed:  # one character over a quantum is no byte
            raise _bad_base64(what)
    elif rest:  # surplus `=` after a whole quantum: ignored, and not sent on to ONCOR
        if not data_chars:
            raise _bad_base64(what)
        encoded = encoded[:data_chars]
    size = 3 * (data_chars // 4) + (3 - needed) % 3
    if size == 0:
        raise InvalidCommand("empty_attachment", f"{what}: content_base64 holds no bytes")
    if size > max_bytes:
        raise _inline_too_large(what, max_bytes)
    return Base64File(encoded, size)


def _head(file: Base64File) -> bytes:
    """The first bytes of the file, decoded: enough for the `%PDF-` magic."""
    return binascii.a2b_base64(file.text[:8])


def _check_pdf(head: bytes, what: str, must_be_pdf: bool) -> None:
    if must_be_pdf and not head.startswith(PDF_MAGIC):
        raise InvalidCommand("not_pdf", f"{what}: the file is not a PDF (no %PDF- at its start)")


def _bad_base64(what: str) -> InvalidCommand:
    return InvalidCommand("bad_base64", f"{what}: content_base64 is not valid standard base64")


def _inline_too_large(what: str, max_bytes: int) -> InvalidCommand:
    return InvalidCommand(
        "attachment_too_large",
        f"{what}: the inline file is over {max_bytes} bytes (DEZO_ATTACHMENT_INLINE_MAX_BYTES); "
        "send it by URL",
    )


def _url_too_large(ref: UrlAttachment, what: str, limit: int) -> InvalidCommand:
    return InvalidCommand(
        "url_too_large",
        f"{what}: {_shown(ref)} is over {limit} bytes (DEZO_ATTACHMENT_URL_MAX_BYTES)",
    )


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)  # a local unlink: too quick to be worth a thread


def _shown(ref: UrlAttachment) -> str:
    """The URL without its query: claim-check URLs often carry a signed token there."""
    url = ref.url
    return f"{url.scheme}://{url.host}{f':{url.port}' if url.port else ''}{url.path or ''}"
