"""A command's files (the PDF and its detached signature): checked, fetched and uploaded.

Inline files are decoded in memory: the message size bounds them. Files by URL (claim checks)
are fetched only from allowed hosts, at the address checked for them (see url_policy), and
streamed to a temporary file (see spool) with a size limit and a deadline, then uploaded from it
(`OncorApi.create_attachment` reads a Path in slices), so a 50 MB PDF never sits in memory.
Every check happens before ONCOR is called: a bad file means no ONCOR call at all. Failure
texts name the host and path only: no ports, addresses or error types (no port scanner).
"""

from __future__ import annotations

import asyncio
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from adapter.consumer.errors import DownloadsBusy, InvalidCommand
from adapter.consumer.spool import Spool, SpooledFile, SpoolFull
from adapter.consumer.url_policy import (
    AllowedHosts,
    IpAddress,
    UrlNotAllowed,
    UrlUnresolvable,
    checked_addresses,
)
from adapter.failures import CommandProblem
from adapter.messages.commands import AttachmentRef, InlineAttachment, UrlAttachment
from adapter.observability import metrics
from adapter.oncor.api import OncorApi
from adapter.oncor.attachment_body import AttachmentContent, Base64File
from adapter.oncor.errors import OncorProtocolError

PDF_MAGIC = b"%PDF-"
# A detached CMS/PKCS#7 signature: DER (a SEQUENCE), PEM, or DER in base64 (`MI…`).
_SIGNATURE_STARTS = (b"\x30", b"-----BEGIN ", b"MI")
_HEAD_BYTES = 12
_DOWNLOAD_CHUNK = 256 * 1024
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@dataclass(frozen=True)
class AttachmentLimits:
    inline_max_bytes: int
    url_max_bytes: int
    url_timeout: float
    allowed_hosts: AllowedHosts
    url_concurrency: int  # already lowered to leave a lane of deliveries free (budget)
    spool_max_bytes: int


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
        self._spool = Spool(limits.spool_max_bytes, limits.url_concurrency)

    @asynccontextmanager
    async def ready(
        self, ref: AttachmentRef, what: str, *, must_be_pdf: bool
    ) -> AsyncIterator[ReadyAttachment]:
        """The file of a command, checked; a downloaded file is deleted when the context ends.

        The file that is not the PDF is the PDF's detached signature, and must look like one.
        """
        if isinstance(ref, InlineAttachment):
            checked = check_inline(ref.content_base64, what, self._limits.inline_max_bytes)
            _check_kind(_head(checked), what, must_be_pdf)
            yield ReadyAttachment(ref.name, ref.media_type, checked, checked.size)
            return
        with self._spool.new_file() as spooled:
            await self._stream_into(spooled, ref, what)
            spooled.file.close()
            if spooled.size == 0:
                raise InvalidCommand("empty_attachment", f"{what}: {_shown(ref)} is empty")
            with spooled.path.open("rb") as file:
                _check_kind(file.read(_HEAD_BYTES), what, must_be_pdf)
            yield ReadyAttachment(ref.name, ref.media_type, spooled.path, spooled.size)

    async def _stream_into(self, spooled: SpooledFile, ref: UrlAttachment, what: str) -> None:
        """Download into the spool, in a free download slot or not at all (DownloadsBusy)."""
        limit, timeout = self._limits.url_max_bytes, self._limits.url_timeout
        try:
            with self._spool.download_slot():
                async with asyncio.timeout(timeout):
                    response = await self._connect(ref)
                    try:
                        await _save(response, spooled, ref, what, limit)
                    finally:
                        await response.aclose()
        except (UrlNotAllowed, UrlUnresolvable) as exc:
            problem: CommandProblem = (
                "url_not_allowed" if isinstance(exc, UrlNotAllowed) else "url_failed"
            )
            raise InvalidCommand(problem, f"{what}: {_shown(ref)}: {exc}") from None
        except SpoolFull as exc:
            raise DownloadsBusy(
                f"{what}: no room to download {_shown(ref)} now: {exc} taken by other commands"
            ) from None
        except (TimeoutError, httpx.TimeoutException):
            raise InvalidCommand(
                "url_timeout",
                f"{what}: downloading {_shown(ref)} timed out after {timeout:g} s "
                "(DEZO_ATTACHMENT_URL_TIMEOUT)",
            ) from None
        except httpx.HTTPError:
            raise InvalidCommand(
                "url_failed", f"{what}: {_shown(ref)} could not be downloaded"
            ) from None

    async def _connect(self, ref: UrlAttachment) -> httpx.Response:
        """The answer's head from the first checked address that takes the connection."""
        url = httpx.URL(str(ref.url))
        host = url.raw_host.decode("ascii")  # IDNA-encoded, as the allow-list entries are
        addresses = await checked_addresses(self._limits.allowed_hosts, host, ref.url.port or 0)
        for address in addresses[:-1]:
            try:
                return await self._send(pinned_request(self._http, url, address))
            except httpx.ConnectError:
                continue  # e.g. `localhost` resolved to ::1 first, served on 127.0.0.1 only
        return await self._send(pinned_request(self._http, url, addresses[-1]))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        return await self._http.send(request, stream=True, follow_redirects=False)


def pinned_request(http: httpx.AsyncClient, url: httpx.URL, address: IpAddress) -> httpx.Request:
    """A GET to `address`, naming the URL's host in `Host` and in TLS (SNI, certificate)."""
    host = url.raw_host.decode("ascii")
    return http.build_request(
        "GET",
        url.copy_with(host=str(address)),
        headers={"Host": url.netloc.decode("ascii").rpartition("@")[2]},
        extensions={"sni_hostname": host} if url.scheme == "https" else {},
    )


async def _save(
    response: httpx.Response, spooled: SpooledFile, ref: UrlAttachment, what: str, limit: int
) -> None:
    """The body into the spool, refused as soon as it is known to be over `limit`."""
    if response.status_code != httpx.codes.OK:
        redirect = " (redirects are not followed)" if response.is_redirect else ""
        raise InvalidCommand(
            "url_failed",
            f"{what}: GET {_shown(ref)} answered HTTP {response.status_code}{redirect}",
        )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _url_too_large(ref, what, limit)
    async for chunk in response.aiter_bytes(_DOWNLOAD_CHUNK):
        if spooled.size + len(chunk) > limit:
            raise _url_too_large(ref, what, limit)
        spooled.write(chunk)


async def upload(oncor: OncorApi, attachment: ReadyAttachment, name: str) -> str:
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
    """The first bytes of the file, decoded: enough to tell a PDF or a signature."""
    return binascii.a2b_base64(file.text[: _HEAD_BYTES // 3 * 4])


def _check_kind(head: bytes, what: str, must_be_pdf: bool) -> None:
    if must_be_pdf and not head.startswith(PDF_MAGIC):
        raise InvalidCommand("not_pdf", f"{what}: the file is not a PDF (no %PDF- at its start)")
    if not must_be_pdf and not head.lstrip().startswith(_SIGNATURE_STARTS):
        raise InvalidCommand(
            "not_signature",
            f"{what}: the file is not a detached signature (CMS/PKCS#7 in DER, PEM or base64)",
        )


def _bad_base64(what: str) -> InvalidCommand:
    return InvalidCommand("bad_base64", f"{what}: content_base64 is not valid standard base64")


def _inline_too_large(what: str, max_bytes: int) -> InvalidCommand:
    return InvalidCommand(
        "attachment_too_large",
        f"{what}: the inline file is too large: over {max_bytes} bytes "
        "(DEZO_ATTACHMENT_INLINE_MAX_BYTES); "
        "send it by URL",
    )


def _url_too_large(ref: UrlAttachment, what: str, limit: int) -> InvalidCommand:
    return InvalidCommand(
        "url_too_large",
        f"{what}: {_shown(ref)} is too large: over {limit} bytes (DEZO_ATTACHMENT_URL_MAX_BYTES)",
    )


def _shown(ref: UrlAttachment) -> str:
    """The URL without port, credentials or query: a query often carries a signed token, and
    naming ports would let a sender map which ones answer."""
    url = ref.url
    return f"{url.scheme}://{url.host}{url.path or ''}"
