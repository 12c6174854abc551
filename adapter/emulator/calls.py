"""The log of ONCOR API calls the emulator answered, for tests to inspect via /admin/calls."""

import time
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter.emulator.protocol import oncor_path

_LOG_LIMIT = 200_000


@dataclass
class ApiCall:
    method: str
    path: str  # relative to the API, e.g. "patient/get"
    id: str | None  # the ?id= parameter, if any
    status: int | None  # the HTTP status answered; None while the call is in flight
    time: float  # unix seconds when the call arrived


class CallLog:
    """A bounded log in arrival order, with per-path counts that outlive the bound."""

    def __init__(self) -> None:
        self._calls: deque[ApiCall] = deque(maxlen=_LOG_LIMIT)
        self._counts: Counter[str] = Counter()

    def record(self, method: str, path: str, record_id: str | None) -> ApiCall:
        call = ApiCall(method=method, path=path, id=record_id, status=None, time=time.time())
        self._calls.append(call)
        self._counts[path] += 1
        return call

    def entries(self) -> list[dict[str, Any]]:
        return [asdict(call) for call in self._calls]

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def clear(self) -> None:
        self._calls.clear()
        self._counts.clear()


class CallLogMiddleware:
    """Logs every ONCOR call with the status it got, injected faults included."""

    def __init__(self, app: ASGIApp, log: CallLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = oncor_path(scope["path"]) if scope["type"] == "http" else None
        if path is None:
            await self.app(scope, receive, send)
            return
        call = self.log.record(scope["method"], path, Request(scope).query_params.get("id"))

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                call.status = message["status"]
            await send(message)

        await self.app(scope, receive, send_noting_status)
