"""ONCOR's wire conventions: URL prefixes, result and error envelopes, wrapped bodies, ORIDs."""

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pydantic_core
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API_PREFIX = "/api/1.0/json/"
DIRECT_LINK_PREFIX = "/attachment/"  # the documented /attachment/{digest}:{id} file links
TOKEN_HEADER = "X-Oncor-API-Token"

INVALID_ARGUMENTS = "InvalidArgumentsException"
RECORD_NOT_FOUND = "RecordNotFoundException"
NOT_FOUND = "NotFoundException"  # unknown method or file link, HTTP 404

_ORID = re.compile(r"#(\d+):(\d+)")

Endpoint = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    """An error answer in ONCOR's shape; HTTP 422 unless the status says otherwise."""

    def __init__(self, name: str, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.status_code = status_code


def invalid(message: str) -> ApiError:
    return ApiError(INVALID_ARGUMENTS, message)


class FastJSONResponse(JSONResponse):
    """The same compact UTF-8 JSON as Starlette's, written by pydantic-core: the emulator
    shares the CPU with what it serves, and pages of orders run to hundreds of kilobytes."""

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content)


def error_response(
    name: str,
    message: str,
    status_code: int = 422,
    *,
    key: str = "name",
) -> JSONResponse:
    """`{"error": {key: name, "message", "uuid"}}`; some ONCOR endpoints say "class", not "name"."""
    error = {key: name, "message": message, "uuid": str(uuid.uuid4())}
    return FastJSONResponse({"error": error}, status_code=status_code)


def result(*items: Any) -> JSONResponse:
    return FastJSONResponse({"result": list(items)})


def api_route(
    path: str,
    endpoint: Endpoint,
    methods: list[str],
    error_key: Callable[[], str] = lambda: "name",
) -> Route:
    """A route whose ApiErrors become ONCOR error answers keyed by `error_key()`."""

    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ApiError as error:
            return error_response(error.name, error.message, error.status_code, key=error_key())

    return Route(path, answer, methods=methods, name=endpoint.__name__)


def oncor_path(path: str) -> str | None:
    """The path relative to the ONCOR API (e.g. "patient/get"), or None outside ONCOR."""
    if path.startswith(API_PREFIX):
        return path[len(API_PREFIX) :]
    if path.startswith(DIRECT_LINK_PREFIX):
        return path.lstrip("/")
    return None


async def read_body(request: Request) -> Any:
    # Not Request.body(), which caches: a large upload's raw bytes should die once parsed.
    raw = b"".join([chunk async for chunk in request.stream()])
    try:
        # pydantic-core's parser: about ten times the json module's speed on an upload.
        return pydantic_core.from_json(raw)
    except ValueError as error:  # also covers bodies that are not UTF-8
        raise invalid(f"request body is not valid JSON: {error}") from None


async def read_wrapped_body(request: Request, key: str) -> dict[str, Any]:
    """The object inside ONCOR's wrapper, e.g. the query of `{"query": {...}}`."""
    body = await read_body(request)
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise invalid(f'request body must be {{"{key}": {{...}}}}')
    wrapped: dict[str, Any] = body[key]
    return wrapped


def optional_str(fields: Mapping[str, Any], key: str, where: str) -> str | None:
    """A string field; an empty string counts as absent, as in protobuf."""
    value = fields.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(f"{where}.{key} must be a string")
    return value


def required_str(fields: Mapping[str, Any], key: str, where: str) -> str:
    value = optional_str(fields, key, where)
    if value is None:
        raise invalid(f"{where}.{key} is required")
    return value


def optional_object(fields: Mapping[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = fields.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(f"{where}.{key} must be an object")
    return value


def required_object(fields: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = optional_object(fields, key, where)
    if value is None:
        raise invalid(f"{where}.{key} is required")
    return value


def optional_int(fields: Mapping[str, Any], key: str, where: str) -> int | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):  # bool is an int to Python
        raise invalid(f"{where}.{key} must be an integer")
    return value


def optional_bool(fields: Mapping[str, Any], key: str, where: str) -> bool | None:
    value = fields.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(f"{where}.{key} must be true or false")
    return value


def optional_orid(fields: Mapping[str, Any], key: str, where: str) -> str | None:
    """An ORID inside a JSON body, where it keeps its '#': "#1930:0"."""
    value = optional_str(fields, key, where)
    if value is not None and not _ORID.fullmatch(value):
        raise invalid(f"{where}.{key} must be a record id like #1930:0, got {value!r}")
    return value


def required_orid(fields: Mapping[str, Any], key: str, where: str) -> str:
    value = optional_orid(fields, key, where)
    if value is None:
        raise invalid(f"{where}.{key} is required")
    return value


def query_orid(request: Request, parameter: str = "id") -> str:
    """The ?id= ORID. Clients send it without '#': an unencoded '#' would start a URL fragment.

    Deliberately strict: a '#' that arrives percent-encoded is refused, which proves the client
    strips it.
    """
    value = request.query_params.get(parameter, "")
    if not value or value.startswith("#"):
        raise invalid(f"{parameter} must be given without '#', e.g. ?{parameter}=1930:0")
    orid = "#" + value
    if not _ORID.fullmatch(orid):
        raise invalid(f"{parameter} must be a record id like 1930:0, got {value!r}")
    return orid


def orid_from_path(value: str) -> str:
    """An ORID in an admin URL, accepted with or without its '#'."""
    return value if value.startswith("#") else "#" + value


def orid_sort_key(orid: str) -> tuple[int, int]:
    match = _ORID.fullmatch(orid)
    return (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
