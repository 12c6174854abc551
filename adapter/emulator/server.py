"""Build and run the emulator: create_app, serve."""

import asyncio
import contextlib
import logging
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount

from adapter.emulator.admin import AdminApi
from adapter.emulator.app import http_error, oncor_routes
from adapter.emulator.calls import CallLogMiddleware
from adapter.emulator.faults import FaultMiddleware, HideInjectedDrops
from adapter.emulator.options import EmulatorOptions
from adapter.emulator.protocol import API_PREFIX
from adapter.emulator.state import EmulatorState, RuntimeConfig
from adapter.emulator.variance import ODDITIES


def create_app(options: EmulatorOptions) -> Starlette:
    state = EmulatorState(
        token=options.token,
        timezone=options.timezone,
        seed=options.seed,
        config=RuntimeConfig(
            job_ready_after=options.job_ready_after,
            page_offset_mode=options.page_offset_mode,
            variance=options.variance,
            bare_to_date=options.bare_to_date,
        ),
    )
    if options.orders:
        state.samples.add_orders(options.orders)
    if options.variance:
        for oddity in ODDITIES:
            state.samples.add_orders(1, oddity=oddity)
    app = Starlette(
        routes=[*oncor_routes(state), Mount("/admin", routes=AdminApi(state).routes())],
        # the call log sits outside the faults so that it sees the statuses they cause
        middleware=[
            Middleware(CallLogMiddleware, log=state.calls),
            Middleware(FaultMiddleware, injector=state.faults),
        ],
        exception_handlers={HTTPException: http_error},
    )
    return app


def serve(options: EmulatorOptions) -> None:
    """Run until SIGINT/SIGTERM; print one line once listening, and nothing else."""
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the signal it handled
        asyncio.run(_serve(options))


class _AnnouncingServer(uvicorn.Server):
    """Prints one line once its sockets accept connections."""

    def __init__(self, config: uvicorn.Config, announcement: str) -> None:
        super().__init__(config)
        self.announcement = announcement

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        print(self.announcement, flush=True)


async def _serve(options: EmulatorOptions) -> None:
    listener = _listen(options.host, options.port)
    config = uvicorn.Config(
        create_app(options),
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=False,  # no proxy in front; saves a middleware on every request
        timeout_graceful_shutdown=1,  # do not wait out a request hanging on an injected timeout
    )
    logging.getLogger("uvicorn.error").addFilter(HideInjectedDrops())
    host = f"[{options.host}]" if ":" in options.host else options.host
    url = f"http://{host}:{listener.getsockname()[1]}{API_PREFIX}"
    server = _AnnouncingServer(
        config, f"ONCOR emulator listening on {url} (token: {options.token})"
    )
    await server.serve(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """Bind ourselves, so that port 0 becomes a real port we can announce."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets, and without it
    # every answer waits ~40 ms for a delayed ACK
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    return listener
