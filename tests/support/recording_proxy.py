"""A reverse proxy in front of the emulator that records what ONCOR would see of each request:
its path and its `traceparent` header. The emulator itself stays as ONCOR's docs describe it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

#: Headers that belong to one hop, not to the request.
_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class RecordingProxy:
    def __init__(self, target: str) -> None:
        self._target = target.rstrip("/")
        self.requests: list[tuple[str, str | None]] = []  # (path, traceparent)
        self.url = ""

    def traceparents(self, path_end: str) -> list[str | None]:
        return [parent for path, parent in self.requests if path.endswith(path_end)]

    async def _forward(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, request.headers.get("traceparent")))
        headers = {
            name: value for name, value in request.headers.items() if name.lower() not in _HOP
        }
        async with self._session.request(
            request.method,
            self._target + request.path_qs,
            headers=headers,
            data=await request.read(),
        ) as answer:
            return web.Response(
                status=answer.status,
                body=await answer.read(),
                content_type=answer.content_type,
            )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RecordingProxy]:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        async with aiohttp.ClientSession() as self._session:
            await site.start()
            port = runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}"
            try:
                yield self
            finally:
                await runner.cleanup()
