"""How the ONCOR client puts a request on the wire: aiohttp directly, or any httpx transport.

Chosen by measurement (bench/): at 50 requests in flight httpx's own pool manages
about 330 req/s here against 3,300 for aiohttp (httpx issue 3215). Wrapping aiohttp in httpx's
Request/Response (the `httpx-aiohttp` transport) still cost about twice aiohttp's CPU per call:
URL parsing, header normalisation, a streamed response re-read through httpx. So by default
the client talks to aiohttp directly (`AiohttpWire`); `DEZO_ONCOR_HTTP_TRANSPORT=httpx`, or an
httpx transport handed to the client (tests use `httpx.MockTransport`), goes through `HttpxWire`
(httpx_wire.py, imported only then: a process that does not use httpx does not load it).

Both raise `WireError`, which says what the client needs to decide on a retry: whether the
request surely never reached ONCOR, and whether the wait for the answer timed out.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import aiohttp

if TYPE_CHECKING:
    import httpx

TransportName = Literal["aiohttp", "httpx"]
Body = bytes | AsyncIterable[bytes] | None


@dataclass(frozen=True)
class Timeouts:
    connect: float  # to open a connection
    read: float  # to wait for the answer, and for a free connection from the pool


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, read whole: ONCOR's answers are JSON documents or one file."""

    status: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes


class WireError(Exception):
    """The exchange failed before an answer came back."""

    def __init__(self, what: str, *, never_sent: bool, timed_out: bool) -> None:
        super().__init__(what)
        self.never_sent = never_sent  # so even a write may be sent again
        self.timed_out = timed_out


class Wire(Protocol):
    async def send(self, verb: str, url: str, headers: Mapping[str, str], body: Body) -> Answer: ...

    async def aclose(self) -> None: ...


class AiohttpWire:
    """aiohttp's pool, with nothing per call that ONCOR does not need (no cookies, no redirects)."""

    def __init__(self, max_connections: int, timeouts: Timeouts) -> None:
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.read,
            sock_connect=timeouts.connect,
            sock_read=timeouts.read,
        )
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: a ClientSession belongs to the running event loop.
        self._session = aiohttp.ClientSession(
            # Idle connections are dropped before the 5 s after which uvicorn and many proxies
            # close them: a POST sent on a connection the server is closing may or may not have
            # been applied, and a write is not sent twice.
            connector=aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=4.0),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=self._timeout,
        )
        return self._session

    async def send(self, verb: str, url: str, headers: Mapping[str, str], body: Body) -> Answer:
        session = self._session or self._open()
        try:
            async with session.request(
                verb, url, headers=headers, data=body, allow_redirects=False
            ) as response:
                return Answer(response.status, response.headers, await response.read())
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # No connection was made (or none came free from the pool): nothing was sent.
            raise WireError(
                type(exc).__name__, never_sent=True, timed_out=isinstance(exc, TimeoutError)
            ) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise WireError(
                type(exc).__name__, never_sent=False, timed_out=isinstance(exc, TimeoutError)
            ) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def make_wire(
    transport: TransportName | httpx.AsyncBaseTransport, max_connections: int, timeouts: Timeouts
) -> Wire:
    if transport == "aiohttp":
        return AiohttpWire(max_connections, timeouts)
    from adapter.oncor.httpx_wire import HttpxWire, httpx_pool

    if transport == "httpx":
        return HttpxWire(httpx_pool(max_connections), timeouts)
    return HttpxWire(transport, timeouts)
