"""The ONCOR API: /api/1.0/json/* and the direct file links, behind the token."""

import secrets

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from adapter.emulator.attachments import AttachmentsApi
from adapter.emulator.documents import DocumentsApi
from adapter.emulator.protocol import (
    API_PREFIX,
    DIRECT_LINK_PREFIX,
    NOT_FOUND,
    TOKEN_HEADER,
    error_response,
)
from adapter.emulator.records import RecordsApi
from adapter.emulator.search import SearchApi
from adapter.emulator.state import EmulatorState

_HTTP_ERROR_NAMES = {404: NOT_FOUND, 405: "MethodNotAllowedException"}


class TokenGate:
    """Answers 401 unless the request carries the API token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = Headers(scope=scope).get(TOKEN_HEADER, "").encode()
        if scope["type"] == "http" and not secrets.compare_digest(given, self.token):
            response = error_response(
                "AuthenticationException", f"missing or wrong {TOKEN_HEADER} header", 401
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def oncor_routes(state: EmulatorState) -> list[BaseRoute]:
    attachments = AttachmentsApi(state)
    api_routes = [
        *SearchApi(state).routes(),
        *RecordsApi(state).routes(),
        *attachments.routes(),
        *DocumentsApi(state).routes(),
    ]
    return [
        Mount(API_PREFIX.rstrip("/"), app=TokenGate(Router(api_routes), state.token)),
        Mount(
            DIRECT_LINK_PREFIX.rstrip("/"),
            app=TokenGate(Router(attachments.direct_link_routes()), state.token),
        ),
    ]


async def http_error(request: Request, error: Exception) -> Response:
    """Router errors (unknown path, wrong method) in ONCOR's error shape."""
    assert isinstance(error, HTTPException)  # registered for HTTPException only
    name = _HTTP_ERROR_NAMES.get(error.status_code, "HttpException")
    response = error_response(
        name, f"{request.method} {request.url.path}: {error.detail}", error.status_code
    )
    response.headers.update(error.headers or {})
    return response
