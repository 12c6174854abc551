"""The typed async client of ONCOR's HTTP+JSON API: one method per call DEZO uses."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar
from urllib.parse import urlencode, urlsplit

from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from adapter.observability import tracing
from adapter.oncor.attachment_body import AttachmentBody, AttachmentContent
from adapter.oncor.breaker import BreakerPolicy, CircuitBreaker, CircuitObserver
from adapter.oncor.errors import (
    OncorAuthError,
    OncorCircuitOpen,
    OncorError,
    OncorProtocolError,
    OncorRejected,
    OncorSearchTimeout,
    OncorUnavailable,
)
from adapter.oncor.flow import FlowControl
from adapter.oncor.models import (
    Attachment,
    AttachmentMeta,
    DictionaryEntry,
    DocumentQuery,
    ErrorResult,
    InstanceStatus,
    MedDepart,
    MedOrganization,
    MedResource,
    Patient,
    Rc,
    RcTm66OrderConclusion,
    RcTm66OrderExpertiseDicom,
    RcTm66OrderExpertiseProtocol,
    RcTm66OrderQuery,
    RcTm66OrderReject,
    RecordList,
    RecordsPage,
    SearchJob,
    SearchPage,
    Tm66Dictionary,
    entry_id,
)
from adapter.oncor.orid import orid_for_query
from adapter.oncor.status import format_status
from adapter.oncor.transport import Answer, Body, Timeouts, TransportName, WireError, make_wire

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Oncor-API-Token"
#: The circuit breaker's probe: a small dictionary, read-only.
PROBE_METHOD = "directory/get/Tm66ConclusionType"
DocumentSearch = Literal[
    "RcTm66OrderConclusionQuery",
    "RcTm66OrderExpertiseDicomQuery",
    "RcTm66OrderExpertiseProtocolQuery",
]
OffsetMode = Literal["auto", "page", "record"]
Model = TypeVar("Model", bound=BaseModel)

#: Set by `OncorClient.outage_wait` for one caller (a task and the tasks it starts).
_outage_wait: ContextVar[float | None] = ContextVar("oncor_outage_wait", default=None)

#: Called after every HTTP exchange with (API method, outcome, seconds); outcome is the HTTP
#: status as text, or `timeout` / `connection_error`. The metrics module plugs in here.
CallObserver = Callable[[str, str, float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """In-process retries of transient failures: exponential backoff with jitter, bounded twice."""

    attempts: int = 4
    max_seconds: float = 20.0
    initial_backoff: float = 0.2
    max_backoff: float = 5.0


@dataclass(frozen=True)
class FlowPolicy:
    """How hard the process may press on ONCOR, and how long a call waits out an outage."""

    max_concurrency: int = 50
    max_rps: float | None = None
    outage_wait: float = 120.0  # seconds a call waits for the circuit to close, in all


@dataclass(frozen=True)
class SearchPolicy:
    """How long to wait for a search job, and how to page through it."""

    ready_timeout: float = 60.0
    page_size: int = 100
    offset_mode: OffsetMode = "auto"


def _ignore_call(method: str, outcome: str, seconds: float) -> None:
    return None


class _Results(BaseModel, Generic[Model]):
    """ONCOR's answer envelope, `{"result": [...]}`, validated straight from the JSON bytes."""

    result: list[Model]


_results_models: dict[type[BaseModel], type[_Results[Any]]] = {}


def _results_of(model: type[Model]) -> type[_Results[Model]]:
    """`_Results[model]`, looked up here: pydantic's own lookup is slower than the parse."""
    found = _results_models.get(model)
    if found is None:
        found = _results_models[model] = _Results[model]  # type: ignore[valid-type]
    return found


class OncorClient:
    """One long-lived client per process; safe to share between tasks.

    Reads are retried on every transient failure. Writes (status updates, attachments,
    documents) are retried in process only when the request surely never reached ONCOR;
    otherwise the failure surfaces with `maybe_applied=True` so the caller can reconcile.

    Every exchange passes the process's flow control and circuit breaker (`breaker`). While the
    circuit is open a call waits for it to close, up to `FlowPolicy.outage_wait` in all, and
    then starts over with its whole retry budget: an outage does not use it up. A call that
    waited in vain, or a write that may have landed when the circuit opened, raises
    `OncorCircuitOpen`.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_connections: int = 50,
        transport: TransportName | httpx.AsyncBaseTransport = "aiohttp",
        retry: RetryPolicy | None = None,
        search: SearchPolicy | None = None,
        flow: FlowPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        observer: CallObserver = _ignore_call,
        circuit_observer: CircuitObserver | None = None,
    ) -> None:
        # Not httpx's Client, nor httpx's Request/Response around aiohttp: each layer cost more
        # CPU per call than the call itself (measured; see transport.py and bench/).
        self._wire = make_wire(
            transport, max_connections, Timeouts(connect=connect_timeout, read=read_timeout)
        )
        self._base_url = base_url.rstrip("/") + "/"
        base = urlsplit(self._base_url)
        self._base_path = base.path
        self._server: dict[str, str | int] = {"server.address": base.hostname or ""}
        if base.port is not None:
            self._server["server.port"] = base.port
        self._headers = {TOKEN_HEADER: token, "Content-Type": "application/json"}
        self._retry = retry or RetryPolicy()
        self._search = search or SearchPolicy()
        self._observer = observer
        self._flow_policy = flow or FlowPolicy()
        self._flow = FlowControl(self._flow_policy.max_concurrency, self._flow_policy.max_rps)
        self.breaker = CircuitBreaker(self._probe, breaker, circuit_observer)
        self._detected_offset_mode: Literal["page", "record"] | None = None

    def __repr__(self) -> str:  # never the token
        return f"OncorClient({self._base_url!r})"

    async def __aenter__(self) -> OncorClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.breaker.aclose()
        await self._wire.aclose()

    @contextlib.contextmanager
    def outage_wait(self, seconds: float) -> Iterator[None]:
        """Calls made within, by this task and the tasks it starts, wait at most `seconds` for
        an open circuit (instead of `FlowPolicy.outage_wait`): for a loop with a beat of its own.
        """
        token = _outage_wait.set(seconds)
        try:
            yield
        finally:
            _outage_wait.reset(token)

    # --- search -------------------------------------------------------------------------------

    async def start_order_search(self, query: RcTm66OrderQuery) -> SearchJob:
        """`search/start/RcTm66OrderQuery`: start an asynchronous search for DEZO orders."""
        return await self._start_search("RcTm66OrderQuery", query)

    async def start_document_search(self, kind: DocumentSearch, query: DocumentQuery) -> SearchJob:
        """`search/start/RcTm66Order{Conclusion,ExpertiseDicom,ExpertiseProtocol}Query`."""
        return await self._start_search(kind, query)

    async def _start_search(self, kind: str, query: BaseModel) -> SearchJob:
        body = {"query": query.model_dump(exclude_defaults=True)}
        return await self._call_one(SearchJob, f"search/start/{kind}", json_body=body)

    async def get_records_page(self, job_id: str, offset: int, size: int) -> RecordsPage:
        """`search/get/RecordsPage`: one page of a search job (which may not be ready yet)."""
        body = {"page": {"job": {"id": job_id}, "offset": offset, "size": size}}
        return await self._call_one(RecordsPage, "search/get/RecordsPage", json_body=body)

    async def wait_until_ready(self, job_id: str) -> RecordsPage:
        """Ask for the first page until the job is ready, backing off; bounded in time."""
        started = time.monotonic()
        delay = 0.05
        while True:
            first = await self.get_records_page(job_id, 0, self._search.page_size)
            if first.page.job.error is not None:
                error = first.page.job.error
                raise OncorRejected(
                    "search/get/RecordsPage", error.error_name, error.message or "", error.uuid
                )
            if first.page.job.ready:
                return first
            waited = time.monotonic() - started
            if waited + delay > self._search.ready_timeout:
                raise OncorSearchTimeout("search/get/RecordsPage", job_id, waited)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def iter_search(self, job_id: str) -> AsyncIterator[SearchPage]:
        """Every record of a search job, a page at a time, none skipped and none repeated.

        ONCOR's docs disagree on whether `offset` counts pages or records; unless configured,
        the client tells them apart on the second request and remembers the answer. The job's
        total (`size`) is optional: without it, a short or empty page is the last.
        """
        size = self._search.page_size
        first = await self.wait_until_ready(job_id)
        total = first.size
        seen: set[str] = set()
        read = 0

        def fresh(page: RecordsPage) -> SearchPage:
            nonlocal read
            new = [entry for entry in page.rc if entry_id(entry) not in seen]
            seen.update(filter(None, map(entry_id, new)))
            read += len(new)
            return SearchPage.read(new)

        def last(page: RecordsPage) -> bool:
            if not page.rc:
                return True
            if total is not None:
                return read >= total
            # short against the page size the answer names, if any: a server may cap it
            return len(page.rc) < (page.page.size or size)

        yield fresh(first)
        if last(first):
            return
        page = first
        mode = self._offset_mode()
        offset = 1 if mode == "page" else len(first.rc)
        if mode is None:
            probe = await self.get_records_page(job_id, 1, size)
            # compared as they came: an unreadable record may have no id
            record_mode = len(first.rc) > 1 and bool(probe.rc) and probe.rc[0] == first.rc[1]
            mode = self._detected_offset_mode = "record" if record_mode else "page"
            if mode == "page":
                page = probe
                yield fresh(probe)
                offset = 2
            del probe
        step = 1 if mode == "page" else len(first.rc)
        del first  # a page of records weighs megabytes: only the one being read is kept
        while not last(page):
            page = await self.get_records_page(job_id, offset, size)
            yield fresh(page)
            offset += step
        if total is not None and read < total:
            raise OncorProtocolError(
                "search/get/RecordsPage", f"job {job_id} announced {total} records, gave {read}"
            )

    def _offset_mode(self) -> Literal["page", "record"] | None:
        configured = self._search.offset_mode
        return self._detected_offset_mode if configured == "auto" else configured

    # --- patients and records -----------------------------------------------------------------

    async def get_patient(self, patient_id: str) -> Patient:
        """`patient/get`: the patient by id. The answer is personal data: never log it."""
        return await self._call_one(
            Patient, "patient/get", params={"id": orid_for_query(patient_id)}
        )

    async def get_record(self, record_id: str) -> Rc:
        """`rc/get`: any medical record (an order, a DEZO document) by id."""
        return await self._call_one(Rc, "rc/get", params={"id": orid_for_query(record_id)})

    async def list_records(self, ehr_id: str) -> SearchPage:
        """`rc/getList`: every record of one EHR (a patient's disease), DEZO documents included;
        read one by one, like a search page."""
        method = "rc/getList"
        answer = await self._send(method, "GET", params={"ehr_id": orid_for_query(ehr_id)})
        try:
            listing = RecordList.model_validate_json(answer.content)
        except ValidationError as exc:
            raise OncorProtocolError(method, f"unreadable answer: {type(exc).__name__}") from None
        return SearchPage.read(listing.result)

    async def get_instance_status(self, record_id: str) -> InstanceStatus:
        """`rc/getInstanceStatus`: a record's current status with its history."""
        params = {"id": orid_for_query(record_id)}
        return await self._call_one(InstanceStatus, "rc/getInstanceStatus", params=params)

    async def update_instance_status(
        self, record_id: str, status: str, **fields: str
    ) -> InstanceStatus:
        """`rc/updateInstanceStatus`: set a record's status, e.g. `Обработка началась`."""
        body = {
            "updateInstanceStatus": {"json": format_status(status, **fields), "rc_id": record_id}
        }
        return await self._call_one(
            InstanceStatus, "rc/updateInstanceStatus", json_body=body, writes=True
        )

    # --- attachments --------------------------------------------------------------------------

    async def create_attachment(
        self, name: str, media_type: str, content: AttachmentContent
    ) -> AttachmentMeta:
        """`attachment/create`: upload a file; the body is base64 in JSON, built as a stream."""
        body = AttachmentBody(name, media_type, content)
        return await self._call_one(
            AttachmentMeta, "attachment/create", body_stream=body, writes=True
        )

    async def get_attachment(self, attachment_id: str) -> Attachment:
        """`attachment/get`: an attachment's metadata and bytes."""
        params = {"id": orid_for_query(attachment_id)}
        return await self._call_one(Attachment, "attachment/get", params=params)

    async def query_attachments(self, attachment_ids: Sequence[str]) -> list[AttachmentMeta]:
        """`attachment/query`: the metadata of many attachments in one call."""
        body = {"query": {"ids": list(attachment_ids)}}
        return await self._call_list(AttachmentMeta, "attachment/query", json_body=body)

    async def get_attachment_file(self, attachment_id: str) -> bytes:
        """`attachment/file`: an attachment's bytes, as they were uploaded."""
        params = {"id": orid_for_query(attachment_id)}
        answer = await self._send("attachment/file", "GET", params=params)
        return answer.content

    # --- DEZO documents -----------------------------------------------------------------------

    async def add_reject(self, reject: RcTm66OrderReject) -> Rc:
        """`tm66/order/addRcTm66OrderReject`: the expert centre refuses the order."""
        return await self._add_document("addRcTm66OrderReject", "rc_tm66_order_reject", reject)

    async def add_conclusion(self, conclusion: RcTm66OrderConclusion) -> Rc:
        """`tm66/order/addRcTm66OrderConclusion`: the expert's conclusion on the order."""
        return await self._add_document(
            "addRcTm66OrderConclusion", "rc_tm66_order_conclusion", conclusion
        )

    async def add_expertise_dicom(self, expertise: RcTm66OrderExpertiseDicom) -> Rc:
        """`tm66/order/addRcTm66OrderExpertiseDicom`: quality expertise of the DICOM study."""
        return await self._add_document(
            "addRcTm66OrderExpertiseDicom", "rc_tm66_order_expertise_dicom", expertise
        )

    async def add_expertise_protocol(self, expertise: RcTm66OrderExpertiseProtocol) -> Rc:
        """`tm66/order/addRcTm66OrderExpertiseProtocol`: expertise of the primary protocol."""
        return await self._add_document(
            "addRcTm66OrderExpertiseProtocol", "rc_tm66_order_expertise_protocol", expertise
        )

    async def _add_document(self, method: str, field: str, document: BaseModel) -> Rc:
        body = {"record": {field: document.model_dump(exclude_defaults=True, by_alias=True)}}
        return await self._call_one(Rc, f"tm66/order/{method}", json_body=body, writes=True)

    # --- dictionaries -------------------------------------------------------------------------

    async def get_dictionary(self, name: Tm66Dictionary) -> list[DictionaryEntry]:
        """`directory/get/Tm66*`: the valid codes and captions of a DEZO dictionary."""
        return await self._call_list(DictionaryEntry, f"directory/get/{name}", http_method="GET")

    async def get_med_organizations(self) -> list[MedOrganization]:
        """`directory/get/MedOrganization`: medical organisations."""
        return await self._call_list(
            MedOrganization, "directory/get/MedOrganization", http_method="GET"
        )

    async def get_med_departments(self) -> list[MedDepart]:
        """`directory/get/MedDepart`: departments of medical organisations."""
        return await self._call_list(MedDepart, "directory/get/MedDepart", http_method="GET")

    async def get_med_resources(self) -> list[MedResource]:
        """`directory/get/MedResource`: physicians (clients and experts)."""
        return await self._call_list(MedResource, "directory/get/MedResource", http_method="GET")

    # --- the exchange itself ------------------------------------------------------------------

    async def _call_one(self, model: type[Model], method: str, **kwargs: Any) -> Model:
        results = await self._call_list(model, method, **kwargs)
        if len(results) != 1:
            raise OncorProtocolError(method, f"expected one result, got {len(results)}")
        return results[0]

    async def _call_list(
        self,
        model: type[Model],
        method: str,
        *,
        http_method: str | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        body_stream: AttachmentBody | None = None,
        writes: bool = False,
    ) -> list[Model]:
        verb = http_method or ("POST" if json_body is not None or body_stream else "GET")
        answer = await self._send(
            method, verb, params=params, json_body=json_body, body_stream=body_stream, writes=writes
        )
        try:
            # One pass from bytes to models: no intermediate dicts (about half the CPU).
            return _results_of(model).model_validate_json(answer.content).result
        except ValidationError as exc:
            raise OncorProtocolError(method, f"unreadable answer: {type(exc).__name__}") from None

    async def _send(
        self,
        method: str,
        verb: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        body_stream: AttachmentBody | None = None,
        writes: bool = False,
    ) -> Answer:
        url, body = self._request(method, params, json_body)
        deadline: float | None = None
        while True:
            try:
                return await self._send_retrying(method, verb, url, body, body_stream, writes)
            except OncorCircuitOpen as exc:
                if writes and exc.maybe_applied:
                    raise  # the caller reconciles before writing again
                if deadline is None:
                    wait = _outage_wait.get()
                    if wait is None:
                        wait = self._flow_policy.outage_wait
                    deadline = time.monotonic() + wait
                try:
                    async with asyncio.timeout(deadline - time.monotonic()):
                        await self.breaker.wait_closed()
                except TimeoutError:
                    raise exc from exc.__cause__  # the outage, not our wait, is the cause
                # ONCOR answered the breaker's probe: the call starts over, its budget whole.

    async def _send_retrying(
        self,
        method: str,
        verb: str,
        url: str,
        body: bytes | None,
        body_stream: AttachmentBody | None,
        writes: bool,
    ) -> Answer:
        def retryable(exc: BaseException) -> bool:
            # An open circuit is waited out by `_send`, not retried here.
            if not isinstance(exc, OncorUnavailable) or isinstance(exc, OncorCircuitOpen):
                return False
            return not writes or not exc.maybe_applied

        started = time.monotonic()
        try:
            # The first attempt goes without tenacity: most calls succeed, and setting up a retry
            # loop per call cost about as much CPU as the HTTP exchange itself (measured).
            return await self._exchange(method, verb, url, body, body_stream)
        except OncorUnavailable as exc:
            if not retryable(exc):
                raise
            first_failure: OncorUnavailable | None = exc
        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(self._retry.attempts)
            | stop_after_delay(self._retry.max_seconds - (time.monotonic() - started)),
            # ONCOR's Retry-After is not waited for here: flow control holds every caller back.
            wait=wait_random_exponential(
                multiplier=self._retry.initial_backoff, max=self._retry.max_backoff
            ),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if first_failure is not None:
                    # Replayed as tenacity's attempt 1, so that the count and the backoff apply
                    # to it as if tenacity had made it.
                    failure, first_failure = first_failure, None
                    raise failure
                return await self._exchange(method, verb, url, body, body_stream)
        raise AssertionError("tenacity ends with a result or the last error")  # pragma: no cover

    async def _probe(self) -> None:
        """The breaker's probe: a small read, through flow control but not the breaker's gate."""
        url, _ = self._request(PROBE_METHOD, None, None)
        async with self._flow:
            await self._attempt(PROBE_METHOD, "GET", url, None, None)

    async def _exchange(
        self,
        method: str,
        verb: str,
        url: str,
        body: bytes | None,
        body_stream: AttachmentBody | None,
    ) -> Answer:
        async with self._flow:
            # Asked once flow control lets the call go: calls queued behind its limits when the
            # circuit opened must not go out one by one after it.
            if self.breaker.is_open:
                raise OncorCircuitOpen(method)
            return await self._attempt(method, verb, url, body, body_stream)

    async def _attempt(
        self,
        method: str,
        verb: str,
        url: str,
        body: bytes | None,
        body_stream: AttachmentBody | None,
    ) -> Answer:
        """One HTTP exchange, inside flow control; its outcome goes to the breaker."""
        try:
            answer = await self._wire_exchange(method, verb, url, body, body_stream)
        except OncorUnavailable as exc:
            if exc.retry_after is not None:
                self._flow.pause(exc.retry_after)
            self.breaker.failed(exc)
            if self.breaker.is_open:
                raise OncorCircuitOpen.seen_in(exc) from exc
            raise
        except OncorError:
            self.breaker.answered()  # a refusal is an answer
            raise
        self.breaker.answered()
        return answer

    def _request(
        self, method: str, params: Mapping[str, str] | None, json_body: Any
    ) -> tuple[str, bytes | None]:
        url = self._base_url + method
        if params:
            url += "?" + urlencode(params, safe=":")
        body = None if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
        return url, body

    async def _wire_exchange(
        self,
        method: str,
        verb: str,
        url: str,
        body: bytes | None,
        body_stream: AttachmentBody | None,
    ) -> Answer:
        with tracing.span(
            f"{verb} {method}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": verb,
                "url.path": self._base_path + method,  # ids travel in the query, left out
                **self._server,
            },
        ) as span:
            # The trace context of this very exchange: ONCOR, or a proxy before it, may join it.
            headers = {**self._headers, **tracing.current_context_fields()}
            answer = await self._timed_exchange(method, verb, url, headers, body, body_stream)
            span.set_attribute("http.response.status_code", answer.status)
            _raise_for_status(method, answer)
            return answer

    async def _timed_exchange(
        self,
        method: str,
        verb: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        body_stream: AttachmentBody | None,
    ) -> Answer:
        started = time.perf_counter()
        outcome = "connection_error"
        content: Body = body
        if body_stream is not None:
            content = body_stream.whole()
            if content is None:
                # Produced afresh for every attempt; its length is known, so it is not chunked.
                headers = {**headers, "Content-Length": str(body_stream.content_length)}
                content = body_stream.chunks()
        try:
            answer = await self._wire.send(verb, url, headers, content)
            outcome = str(answer.status)
        except WireError as exc:
            if exc.timed_out:
                outcome = "timeout"
            raise OncorUnavailable(
                method,
                "timed out" if exc.timed_out else f"connection failed: {exc}",
                maybe_applied=not exc.never_sent,
            ) from None
        finally:
            seconds = time.perf_counter() - started
            self._observer(method, outcome, seconds)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "oncor call",
                    extra={
                        "oncor_method": method,
                        "outcome": outcome,
                        "duration_ms": round(seconds * 1000, 1),
                    },
                )
        return answer


def _raise_for_status(method: str, response: Answer) -> None:
    status = response.status
    if status < 400:
        return
    if status == 422:
        error = _error_body(response)
        raise OncorRejected(method, error.error_name, error.message or "", error.uuid)
    if status in (401, 403):
        raise OncorAuthError(method, status)
    if status >= 500 or status == 429:
        raise OncorUnavailable(
            method,
            f"HTTP {status}",
            status=status,
            # 429 and 503 refuse before the work; a 502 or 504 gateway may have handed the
            # request on and lost only the answer.
            maybe_applied=status not in (429, 503),
            retry_after=_retry_after(response),
        )
    raise OncorProtocolError(method, f"unexpected HTTP {status}")


def _error_body(response: Answer) -> ErrorResult:
    try:
        return ErrorResult.model_validate(json.loads(response.content)["error"])
    except (ValueError, KeyError, TypeError, ValidationError):
        text = response.content[:200].decode("utf-8", errors="replace")
        return ErrorResult(name="UnreadableError", message=text)


def _retry_after(response: Answer) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # the HTTP-date form; our backoff applies instead


__all__ = ["CallObserver", "OncorClient", "OncorError", "RetryPolicy", "SearchPolicy"]
