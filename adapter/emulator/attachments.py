"""Attachments: upload (base64 in JSON), metadata, content, and the direct file links."""

import base64
import json
from urllib.parse import quote

from pydantic import ConfigDict, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.emulator.protocol import (
    NOT_FOUND,
    RECORD_NOT_FOUND,
    ApiError,
    api_route,
    invalid,
    query_orid,
    read_wrapped_body,
    required_object,
    required_str,
    result,
)
from adapter.emulator.state import EmulatorState
from adapter.emulator.store import Attachment

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# pydantic-core decodes base64 in Rust, several times faster than binascii: the emulator shares
# the CPU with the adapter it serves, and uploads are its heaviest requests.
_RUST_BASE64: TypeAdapter[bytes] = TypeAdapter(bytes, config=ConfigDict(val_json_bytes="base64"))


def decode_base64(text: str) -> bytes:
    """`base64.b64decode(text, validate=True)`, faster; raises ValueError the same way."""
    encoded = text.encode("ascii")  # UnicodeEncodeError is a ValueError
    rest = encoded.translate(None, _ALPHABET)
    data_chars = len(encoded) - len(rest)
    needed = -data_chars % 4  # the padding the last quantum needs
    if rest.strip(b"=") or not encoded.endswith(rest) or needed == 3:
        raise ValueError("not standard base64")
    if (needed and len(rest) != needed) or (rest and not data_chars):
        raise ValueError("wrong base64 padding")
    canonical = encoded[: data_chars + needed]  # surplus `=` after a whole quantum dropped
    try:
        return _RUST_BASE64.validate_json(b'"' + canonical + b'"')
    except ValidationError:  # e.g. non-zero bits in the last quantum, which binascii accepts
        return base64.b64decode(text, validate=True)


class AttachmentsApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            api_route("/attachment/create", self.create, ["POST"]),
            api_route("/attachment/get", self.get, ["GET"]),
            api_route("/attachment/query", self.query, ["POST"]),
            api_route("/attachment/file", self.file, ["GET"]),
        ]

    def direct_link_routes(self) -> list[Route]:
        """/attachment/{digest}:{id without '#'}, outside /api."""
        return [api_route("/{link}", self.direct_link, ["GET"])]

    async def create(self, request: Request) -> Response:
        """Bodies reach ~67 MB of base64: parse once, decode once, keep only the bytes."""
        upload = await read_wrapped_body(request, "attachment")
        meta = required_object(upload, "meta", "attachment")
        name = required_str(meta, "name", "attachment.meta")
        media_type = required_str(meta, "type", "attachment.meta")
        try:
            data = decode_base64(required_str(upload, "data", "attachment"))
        except ValueError:  # binascii.Error, or non-ASCII text
            raise invalid("attachment.data is not valid base64") from None
        attachment = self.state.store.add_attachment(
            name, media_type, data, self.state.clock.now_text()
        )
        return result(attachment.meta())

    async def get(self, request: Request) -> Response:
        attachment = self._attachment(query_orid(request))
        # Built as bytes around the base64 so a large file is not copied through a str.
        meta = json.dumps(attachment.meta(), ensure_ascii=False, separators=(",", ":")).encode()
        body = b"".join(
            (b'{"result":[{"meta":', meta, b',"data":"', base64.b64encode(attachment.data), b'"}]}')
        )
        return Response(body, media_type="application/json")

    async def query(self, request: Request) -> Response:
        query = await read_wrapped_body(request, "query")
        ids = query.get("ids", [])
        if not isinstance(ids, list) or not all(isinstance(orid, str) for orid in ids):
            raise invalid("query.ids must be a list of attachment ids")
        known = self.state.store.attachments
        unknown = [orid for orid in ids if orid not in known]
        if unknown and self.state.config.variance:
            # the docs do not say how a stale id is answered: omitted, or the query refused
            raise ApiError(RECORD_NOT_FOUND, f"attachments not found: {', '.join(unknown)}")
        return result(*(known[orid].meta() for orid in ids if orid in known))

    async def file(self, request: Request) -> Response:
        return self._file_response(self._attachment(query_orid(request)))

    async def direct_link(self, request: Request) -> Response:
        # The docs do not say whether the link needs the token; the emulator requires it.
        digest, _, position = request.path_params["link"].partition(":")
        attachment = self.state.store.attachments.get("#" + position)
        if attachment is None or attachment.digest != digest:
            raise ApiError(NOT_FOUND, "no such attachment link", 404)
        return self._file_response(attachment)

    def _attachment(self, attachment_id: str) -> Attachment:
        attachment = self.state.store.attachments.get(attachment_id)
        if attachment is None:
            raise ApiError(RECORD_NOT_FOUND, f"attachment {attachment_id} not found")
        return attachment

    @staticmethod
    def _file_response(attachment: Attachment) -> Response:
        disposition = f"attachment; filename*=UTF-8''{quote(attachment.name)}"
        return Response(
            attachment.data,
            media_type=attachment.type,
            headers={"Content-Disposition": disposition},
        )
