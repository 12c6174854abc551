"""The admin API under /admin/ (no token): seed orders, inspect what clients did, break things."""

from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapter.emulator.clock import TIME_FORMAT, format_time
from adapter.emulator.documents import DOCUMENT_KINDS
from adapter.emulator.faults import FaultSettings, Outage, OutageSchedule
from adapter.emulator.options import BareToDate
from adapter.emulator.protocol import NOT_FOUND, ApiError, api_route, invalid, orid_from_path
from adapter.emulator.state import EmulatorState
from adapter.emulator.store import Attachment, Record
from adapter.emulator.variance import Oddity

_DOCUMENT_BODY_KEYS = {kind.class_name: kind.body_key for kind in DOCUMENT_KINDS}

Body = TypeVar("Body", bound=BaseModel)


class NewOrders(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=0, le=100_000)
    patients: int | None = Field(default=None, ge=1)  # spread over this many; default one each
    missing_optional: bool = False  # only the required minimum of fields
    unknown_patient: bool = False  # patient ids that /patient/get does not know
    created_at: datetime | None = None  # local "YYYY-MM-DD HH:MM:SS"; default: about now
    oddity: Oddity | None = None  # differ from the documented example this way (variance.py)

    @field_validator("created_at", mode="before")
    @classmethod
    def _local_time(cls, value: object) -> object:
        # ONCOR's naive local format only; an ISO string with an offset would be ambiguous here
        return datetime.strptime(value, TIME_FORMAT) if isinstance(value, str) else value


class ConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_ready_after: float | None = Field(default=None, ge=0.0)
    page_offset_mode: Literal["page", "record"] | None = None
    document_statuses: dict[str, str] | None = None
    document_error_key: Literal["name", "class"] | None = None
    variance: bool | None = None
    bare_to_date: BareToDate | None = None


def _order_summary(order: Record) -> dict[str, Any]:
    current = order.current_status
    return {
        "id": order.id,
        "patient_id": order.rc["patient_id"],
        "created": format_time(order.created),
        "status": current.fields if current else None,
        "status_history": [status.fields for status in order.statuses],
        "status_updates": order.status_updates,
    }


def _document_order_id(document: Record) -> str:
    return str(document.rc[_DOCUMENT_BODY_KEYS[document.class_name]]["order_id"])


async def _parse(request: Request, model: type[Body]) -> Body:
    try:
        return model.model_validate_json(await request.body() or b"{}")
    except ValidationError as error:
        problems = "; ".join(
            ".".join(str(part) for part in problem["loc"]) + ": " + problem["msg"]
            if problem["loc"]
            else problem["msg"]
            for problem in error.errors()
        )
        raise invalid(problems) from None


def _ok() -> JSONResponse:
    return JSONResponse({"ok": True})


class AdminApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            api_route("/health", self.health, ["GET"]),
            api_route("/reset", self.reset, ["POST"]),
            api_route("/orders", self.add_orders, ["POST"]),
            api_route("/orders", self.list_orders, ["GET"]),
            api_route("/orders/{order_id}", self.get_order, ["GET"]),
            api_route("/documents", self.list_documents, ["GET"]),
            api_route("/attachments/{attachment_id}", self.get_attachment, ["GET"]),
            api_route("/attachments/{attachment_id}/data", self.get_attachment_data, ["GET"]),
            api_route("/faults", self.get_faults, ["GET"]),
            api_route("/faults", self.set_faults, ["POST"]),
            api_route("/faults", self.clear_faults, ["DELETE"]),
            api_route("/outage", self.get_outage, ["GET"]),
            api_route("/outage", self.set_outage, ["POST"]),
            api_route("/outage", self.end_outage, ["DELETE"]),
            api_route("/config", self.get_config, ["GET"]),
            api_route("/config", self.update_config, ["POST"]),
            api_route("/calls", self.list_calls, ["GET"]),
            api_route("/calls", self.clear_calls, ["DELETE"]),
            api_route("/stats", self.stats, ["GET"]),
        ]

    async def health(self, request: Request) -> Response:
        return _ok()

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return _ok()

    async def add_orders(self, request: Request) -> Response:
        new = await _parse(request, NewOrders)
        order_ids, patient_ids = self.state.samples.add_orders(
            new.count,
            patients=new.patients,
            missing_optional=new.missing_optional,
            unknown_patient=new.unknown_patient,
            created_at=new.created_at,
            oddity=new.oddity,
        )
        return JSONResponse({"ids": order_ids, "patient_ids": patient_ids})

    async def list_orders(self, request: Request) -> Response:
        return JSONResponse([_order_summary(order) for order in self.state.store.orders()])

    async def get_order(self, request: Request) -> Response:
        order_id = orid_from_path(request.path_params["order_id"])
        order = self.state.store.order(order_id)
        if order is None:
            raise ApiError(NOT_FOUND, f"order {order_id} not found", 404)
        return JSONResponse(_order_summary(order))

    async def list_documents(self, request: Request) -> Response:
        order_id = request.query_params.get("order_id")
        class_name = request.query_params.get("class_name")
        documents = [
            document.rc
            for document in self.state.store.documents()
            if (order_id is None or _document_order_id(document) == orid_from_path(order_id))
            and (class_name is None or document.class_name == class_name)
        ]
        return JSONResponse(documents)

    async def get_attachment(self, request: Request) -> Response:
        attachment = self._attachment(request)
        return JSONResponse({**attachment.meta(), "sha1": attachment.digest})

    async def get_attachment_data(self, request: Request) -> Response:
        attachment = self._attachment(request)
        return Response(attachment.data, media_type=attachment.type)

    async def get_faults(self, request: Request) -> Response:
        return JSONResponse(self.state.faults.settings.model_dump())

    async def set_faults(self, request: Request) -> Response:
        self.state.faults.settings = await _parse(request, FaultSettings)
        return await self.get_faults(request)

    async def clear_faults(self, request: Request) -> Response:
        self.state.faults.clear()
        return await self.get_faults(request)

    async def get_outage(self, request: Request) -> Response:
        outage = self.state.faults.outage
        if outage is None:
            return JSONResponse({"down": False, "schedule": None})
        return JSONResponse({"down": outage.down(), "schedule": outage.schedule.model_dump()})

    async def set_outage(self, request: Request) -> Response:
        """ONCOR down (503 to every API call) now or as scheduled; replaces any earlier one."""
        self.state.faults.outage = Outage(await _parse(request, OutageSchedule))
        return await self.get_outage(request)

    async def end_outage(self, request: Request) -> Response:
        self.state.faults.outage = None
        return await self.get_outage(request)

    async def get_config(self, request: Request) -> Response:
        return JSONResponse(asdict(self.state.config))

    async def update_config(self, request: Request) -> Response:
        update = await _parse(request, ConfigUpdate)
        for name, value in update.model_dump(exclude_none=True).items():
            setattr(self.state.config, name, value)
        return await self.get_config(request)

    async def list_calls(self, request: Request) -> Response:
        return JSONResponse(self.state.calls.entries())

    async def clear_calls(self, request: Request) -> Response:
        self.state.calls.clear()
        return _ok()

    async def stats(self, request: Request) -> Response:
        store = self.state.store
        return JSONResponse(
            {
                "calls": self.state.calls.counts(),
                "orders": len(store.orders()),
                "documents": len(store.documents()),
                "attachments": len(store.attachments),
            }
        )

    def _attachment(self, request: Request) -> Attachment:
        attachment_id = orid_from_path(request.path_params["attachment_id"])
        attachment = self.state.store.attachments.get(attachment_id)
        if attachment is None:
            raise ApiError(NOT_FOUND, f"attachment {attachment_id} not found", 404)
        return attachment
