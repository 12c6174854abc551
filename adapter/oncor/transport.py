"""The HTTP transport under our httpx client, chosen by measurement.

httpx's own async pool slows down as concurrency grows (httpx issue 3215; DESIGN §9: about
330 req/s at 50 in flight here, against 3,300 with aiohttp underneath), so by default httpx's API
runs on the `httpx-aiohttp` transport. `DEZO_ONCOR_HTTP_TRANSPORT=httpx` switches back.
"""

from __future__ import annotations

from typing import Literal

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

TransportName = Literal["aiohttp", "httpx"]


def make_transport(name: TransportName, max_connections: int) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    if name == "aiohttp":
        return AiohttpTransport(limits=limits)
    return httpx.AsyncHTTPTransport(limits=limits)


def request_never_sent(exc: httpx.TransportError) -> bool:
    """True when the request surely did not reach ONCOR, so even a write may be sent again.

    The aiohttp transport maps most of aiohttp's errors onto httpx.ConnectTimeout (a dropped
    connection or a read timeout included), so the underlying cause decides, not the class.
    """
    cause = exc.__cause__
    if cause is not None:
        return isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
