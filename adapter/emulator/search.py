"""Searches: /search/start/* snapshots the matching records, /search/get/RecordsPage pages them."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.emulator.clock import DATE_FORMAT, TIME_FORMAT
from adapter.emulator.documents import listed
from adapter.emulator.options import BareToDate
from adapter.emulator.protocol import (
    NOT_FOUND,
    ApiError,
    api_route,
    invalid,
    optional_bool,
    optional_int,
    optional_str,
    orid_sort_key,
    read_wrapped_body,
    required_object,
    required_str,
    result,
)
from adapter.emulator.state import EmulatorState
from adapter.emulator.store import ORDER_CLASS, Record

# the record class each search finds
SEARCHES = {
    "RcTm66OrderQuery": ORDER_CLASS,
    "RcTm66OrderConclusionQuery": "RcTm66OrderConclusion",
    "RcTm66OrderExpertiseDicomQuery": "RcTm66OrderExpertiseDicom",
    "RcTm66OrderExpertiseProtocolQuery": "RcTm66OrderExpertiseProtocol",
    # not in the public docs; accepted because the adapter reconciles rejects like the others
    "RcTm66OrderRejectQuery": "RcTm66OrderReject",
}
_STATUS_FILTERS = ("status_is_null", "status_value", "status_value_with_history")

RecordFilter = Callable[[Record], bool]


def _time_bound(
    query: dict[str, Any], key: str, *, upper: bool, bare_to_date: BareToDate = "day_start"
) -> datetime | None:
    """A lower bound, or an exclusive upper bound.

    A to_date with a time takes in that second; a bare to_date ends where its day starts, or
    takes in that whole day, as `bare_to_date` says (the docs say neither).
    """
    text = optional_str(query, key, "query")
    if text is None:
        return None
    day_end = timedelta(days=1) if bare_to_date == "day_end" else timedelta(0)
    for time_format, resolution in ((TIME_FORMAT, timedelta(seconds=1)), (DATE_FORMAT, day_end)):
        try:
            moment = datetime.strptime(text, time_format)
        except ValueError:
            continue
        return moment + resolution if upper else moment
    raise invalid(f"query.{key} must be YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, got {text!r}")


def _status_filter(query: dict[str, Any], class_name: str) -> RecordFilter:
    given = [key for key in _STATUS_FILTERS if query.get(key) is not None]
    if not given:
        return lambda record: True
    if class_name != ORDER_CLASS:
        raise invalid(f"{', '.join(given)}: status filters exist for RcTm66OrderQuery only")
    if len(given) > 1:
        raise invalid(f"give at most one of {', '.join(_STATUS_FILTERS)}, got {', '.join(given)}")
    key = given[0]
    if key == "status_is_null":
        # false, the other branch of the oneof, finds the orders that do have a status
        is_null = optional_bool(query, key, "query")
        return lambda record: (record.current_status is None) == is_null
    value = required_str(query, key, "query")
    if key == "status_value":
        return lambda record: (
            record.current_status is not None and record.current_status.fields["status"] == value
        )
    return lambda record: any(status.fields["status"] == value for status in record.statuses)


class SearchApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            api_route("/search/start/{search}", self.start_search, ["POST"]),
            api_route("/search/get/RecordsPage", self.records_page, ["POST"]),
        ]

    async def start_search(self, request: Request) -> Response:
        search = request.path_params["search"]
        class_name = SEARCHES.get(search)
        if class_name is None:
            raise ApiError(NOT_FOUND, f"unknown search {search}; known: {', '.join(SEARCHES)}", 404)
        query = await read_wrapped_body(request, "query")
        lower = _time_bound(query, "from_date", upper=False)
        upper = _time_bound(
            query, "to_date", upper=True, bare_to_date=self.state.config.bare_to_date
        )
        matches_status = _status_filter(query, class_name)
        found = [
            record
            for record in self.state.store.records.values()
            if record.class_name == class_name
            and (lower is None or record.created >= lower)
            and (upper is None or record.created < upper)
            and matches_status(record)
        ]
        found.sort(key=lambda record: (record.created, orid_sort_key(record.id)))
        job = self.state.jobs.start(
            [record.id for record in found], self.state.config.job_ready_after
        )
        return result({"id": job.id})

    async def records_page(self, request: Request) -> Response:
        page = await read_wrapped_body(request, "page")
        job_id = required_str(required_object(page, "job", "page"), "id", "page.job")
        offset = optional_int(page, "offset", "page") or 0
        size = optional_int(page, "size", "page")
        if offset < 0:
            raise invalid("page.offset must not be negative")
        if size is None or size <= 0:
            raise invalid("page.size must be a positive number of records")
        job = self.state.jobs.get(job_id)
        if job is None:
            raise ApiError("SearchJobNotFoundException", f"search job {job_id} not found")
        ready = job.is_ready()
        answer: dict[str, Any] = {
            "page": {"job": {"id": job.id, "ready": ready}, "offset": offset, "size": size}
        }
        if not ready:
            return result(answer)
        first = offset * size if self.state.config.page_offset_mode == "page" else offset
        records = self.state.store.records
        page_records = [
            listed(records[orid])
            for orid in job.record_ids[first : first + size]
            if orid in records
        ]
        if page_records:  # the doc's "nothing found" answer has no "rc" at all
            answer["rc"] = page_records
        if not self.state.config.variance:  # optional in RecordsPage
            answer["size"] = len(job.record_ids)
        return result(answer)
