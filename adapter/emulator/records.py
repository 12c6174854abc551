"""Reading records, setting order statuses, directories: patient/get, rc/*, directory/get/*."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.emulator.dictionaries import DIRECTORIES
from adapter.emulator.documents import listed
from adapter.emulator.protocol import (
    NOT_FOUND,
    RECORD_NOT_FOUND,
    ApiError,
    api_route,
    invalid,
    query_orid,
    read_wrapped_body,
    required_orid,
    required_str,
    result,
)
from adapter.emulator.state import EmulatorState
from adapter.emulator.statuses import parse_status_json
from adapter.emulator.store import API_USER_ID, JsonObject, Record, StatusEntry
from adapter.emulator.variance import bare_key_status


class RecordsApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            api_route("/patient/get", self.get_patient, ["GET"]),
            api_route("/rc/get", self.get_record, ["GET"]),
            api_route("/rc/getList", self.list_records, ["GET"]),
            api_route("/rc/getInstanceStatus", self.get_instance_status, ["GET"]),
            api_route("/rc/updateInstanceStatus", self.update_instance_status, ["POST"]),
            api_route("/directory/get/{directory}", self.get_directory, ["GET"]),
        ]

    async def get_patient(self, request: Request) -> Response:
        patient_id = query_orid(request)
        patient = self.state.store.patients.get(patient_id)
        if patient is None:
            raise ApiError("PatientNotFoundException", f"patient {patient_id} not found")
        return result(patient)

    async def get_record(self, request: Request) -> Response:
        record_id = query_orid(request)
        record = self.state.store.records.get(record_id)
        if record is None:
            raise ApiError(RECORD_NOT_FOUND, f"record {record_id} not found")
        return result(record.to_rc())

    async def list_records(self, request: Request) -> Response:
        ehr_id = query_orid(request, "ehr_id")
        return result(*(listed(record) for record in self.state.store.of_ehr(ehr_id)))

    async def get_instance_status(self, request: Request) -> Response:
        order = self._order(query_orid(request))
        current = order.current_status
        if current is None:
            return result({"rc_id": order.id})
        answer = self._instance_status(current, order.id)
        if len(order.statuses) > 1:
            answer["history"] = [
                self._instance_status(status, order.id) for status in order.statuses[:-1]
            ]
        return result(answer)

    async def update_instance_status(self, request: Request) -> Response:
        update = await read_wrapped_body(request, "updateInstanceStatus")
        order = self._order(required_orid(update, "rc_id", "updateInstanceStatus"))
        try:
            fields = parse_status_json(required_str(update, "json", "updateInstanceStatus"))
        except ValueError as error:
            raise invalid(f"updateInstanceStatus.json: {error}") from None
        status = order.set_status(fields, API_USER_ID, self.state.clock.now_text())
        order.status_updates += 1
        return result(self._instance_status(status, order.id))

    async def get_directory(self, request: Request) -> Response:
        name = request.path_params["directory"]
        entries = DIRECTORIES.get(name)
        if entries is None:
            raise ApiError(
                NOT_FOUND, f"unknown directory {name}; known: {', '.join(DIRECTORIES)}", 404
            )
        return result(*entries)

    def _instance_status(self, status: StatusEntry, rc_id: str) -> JsonObject:
        answer = status.instance_status(rc_id)
        if self.state.config.variance:  # the form status/get documents
            answer["json"] = bare_key_status(status.fields)
        return answer

    def _order(self, record_id: str) -> Record:
        """Statuses here are those of DEZO orders."""
        order = self.state.store.order(record_id)
        if order is None:
            raise ApiError(RECORD_NOT_FOUND, f"order (RcTm66Order) {record_id} not found")
        return order
