"""The ONCOR client's wire over any httpx transport: httpx's own pool, or a test double."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from adapter.oncor.transport import Answer, Body, Timeouts, WireError


def httpx_pool(max_connections: int) -> httpx.AsyncHTTPTransport:
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return httpx.AsyncHTTPTransport(limits=limits)


class HttpxWire:
    """Any httpx transport: httpx's own pool, or a test double."""

    def __init__(self, transport: httpx.AsyncBaseTransport, timeouts: Timeouts) -> None:
        self._transport = transport
        self._extensions = {
            "timeout": httpx.Timeout(
                timeouts.read, connect=timeouts.connect, pool=timeouts.read
            ).as_dict()
        }

    async def send(self, verb: str, url: str, headers: Mapping[str, str], body: Body) -> Answer:
        request = httpx.Request(
            verb, url, headers=headers, content=body, extensions=self._extensions
        )
        try:
            response = await self._transport.handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            never_sent = isinstance(
                exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
            )
            raise WireError(
                type(exc).__name__,
                never_sent=never_sent,
                timed_out=isinstance(exc, httpx.TimeoutException),
            ) from exc
        return Answer(response.status_code, response.headers, content)

    async def aclose(self) -> None:
        await self._transport.aclose()
