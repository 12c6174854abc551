"""Our wire models and requests against every JSON example in ONCOR's API docs.

Each documented response must parse into our models with every field it shows declared (none
left over as an unknown extra), and each documented request must be exactly what our client
sends for the same call.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from pydantic import BaseModel

from adapter.oncor.client import OncorClient
from adapter.oncor.models import (
    Attachment,
    AttachmentMeta,
    DictionaryEntry,
    DocumentQuery,
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
    RecordsPage,
    SearchJob,
)
from adapter.oncor.status import parse_status
from tests.oncor.doc_examples import DOCS, Example, get_requests, json_examples

if not DOCS.is_dir():
    pytest.skip(f"ONCOR API docs not found at {DOCS}", allow_module_level=True)

TM66_DICTIONARIES = [
    "Tm66OrderPurpose",
    "Tm66DiagnosticsType",
    "Tm66DiagnosticsMethod",
    "Tm66ConclusionType",
    "Tm66OrderRejectReason",
    "Tm66ExpertDicomResult",
    "Tm66ExpertProtocolResult",
]
DOCUMENT_SEARCHES = [
    "RcTm66OrderConclusionQuery",
    "RcTm66OrderExpertiseDicomQuery",
    "RcTm66OrderExpertiseProtocolQuery",
]
ADD_METHODS: dict[str, tuple[str, type[BaseModel]]] = {
    "addRcTm66OrderReject": ("rc_tm66_order_reject", RcTm66OrderReject),
    "addRcTm66OrderConclusion": ("rc_tm66_order_conclusion", RcTm66OrderConclusion),
    "addRcTm66OrderExpertiseDicom": ("rc_tm66_order_expertise_dicom", RcTm66OrderExpertiseDicom),
    "addRcTm66OrderExpertiseProtocol": (
        "rc_tm66_order_expertise_protocol",
        RcTm66OrderExpertiseProtocol,
    ),
}


def _search_result(item: dict[str, Any]) -> type[BaseModel]:
    return RecordsPage if "page" in item else SearchJob


RESPONSE_MODELS: dict[str, Callable[[dict[str, Any]], type[BaseModel]]] = {
    "search/start/RcTm66OrderQuery": _search_result,
    "search/get/RecordsPage": _search_result,
    **{f"search/start/{kind}": _search_result for kind in DOCUMENT_SEARCHES},
    "patient/get": lambda _: Patient,
    "rc/get": lambda _: Rc,
    "status/get": lambda _: InstanceStatus,
    "status/update": lambda _: InstanceStatus,
    "attachment/create": lambda _: AttachmentMeta,
    "attachment/get": lambda _: Attachment,
    "attachment/query": lambda _: AttachmentMeta,
    **{f"tm66/order/{method}": (lambda _: Rc) for method in ADD_METHODS},
    **{f"directory/get/{name}": (lambda _: DictionaryEntry) for name in TM66_DICTIONARIES},
    "directory/get/MedOrganization": lambda _: MedOrganization,
    "directory/get/MedDepart": lambda _: MedDepart,
    "directory/get/MedResource": lambda _: MedResource,
}


def undeclared_fields(model: BaseModel, path: str = "") -> list[str]:
    """Paths of fields the example has but our model does not declare."""
    found = [f"{path}{name}" for name in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, BaseModel):
                found += undeclared_fields(child, f"{path}{name}.")
    return found


def responses(page: str) -> list[Example]:
    return [example for example in json_examples(page)[0] if example.is_response]


@pytest.mark.parametrize("page", sorted(RESPONSE_MODELS))
def test_documented_responses_parse_into_our_models(page: str) -> None:
    examples = responses(page)
    results = [item for example in examples for item in example.body.get("result", [])]
    if page != "attachment/file":
        assert results, f"{page}: the docs show no response to check"
    for item in results:
        model = RESPONSE_MODELS[page](item).model_validate(item)
        assert undeclared_fields(model) == [], f"{page}: fields our models do not declare"


def test_documented_error_body_parses_with_name_and_uuid() -> None:
    errors = [ex.body["error"] for ex in json_examples("ehr/add")[0] if "error" in ex.body]
    assert errors
    from adapter.oncor.models import ErrorResult

    parsed = ErrorResult.model_validate(errors[0])
    assert parsed.error_name == "PatientNotFoundException"
    assert parsed.uuid == "9b2ef941-b81d-43e3-8e87-e8b0dad6e6e2"


# --- requests -----------------------------------------------------------------------------------

PLACEHOLDERS = {"{{rcId}}": "#1930:0", "{{attachmentId}}": "#1587:4385"}
Call = Callable[[OncorClient, Any], Awaitable[object]]


def _fill(body: Any) -> Any:
    text = json.dumps(body, ensure_ascii=False)
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


def _search_call(kind: str) -> Call:
    async def call(client: OncorClient, body: Any) -> object:
        if "page" in body:
            page = body["page"]
            return await client.get_records_page(page["job"]["id"], page["offset"], page["size"])
        if kind == "RcTm66OrderQuery":
            return await client.start_order_search(RcTm66OrderQuery(**body["query"]))
        return await client.start_document_search(kind, DocumentQuery(**body["query"]))  # type: ignore[arg-type]

    return call


async def _status_update(client: OncorClient, body: Any) -> object:
    update = body["updateInstanceStatus"]
    fields = parse_status(update["json"])
    return await client.update_instance_status(update["rc_id"], fields.pop("status"), **fields)


async def _attachment_create(client: OncorClient, body: Any) -> object:
    attachment = body["attachment"]
    data = base64.b64decode(attachment["data"])
    return await client.create_attachment(
        attachment["meta"]["name"], attachment["meta"]["type"], data
    )


def _add_call(method: str) -> Call:
    field, model = ADD_METHODS[method]

    async def call(client: OncorClient, body: Any) -> object:
        document = model.model_validate(body["record"][field])
        adder = getattr(
            client,
            {
                "addRcTm66OrderReject": "add_reject",
                "addRcTm66OrderConclusion": "add_conclusion",
                "addRcTm66OrderExpertiseDicom": "add_expertise_dicom",
                "addRcTm66OrderExpertiseProtocol": "add_expertise_protocol",
            }[method],
        )
        return await adder(document)

    return call


REQUEST_CALLS: dict[str, Call] = {
    "search/start/RcTm66OrderQuery": _search_call("RcTm66OrderQuery"),
    "search/get/RecordsPage": _search_call("RcTm66OrderQuery"),
    **{f"search/start/{kind}": _search_call(kind) for kind in DOCUMENT_SEARCHES},
    "status/update": _status_update,
    "attachment/create": _attachment_create,
    "attachment/query": lambda client, body: client.query_attachments(body["query"]["ids"]),
    **{f"tm66/order/{method}": _add_call(method) for method in ADD_METHODS},
}


class Recorder:
    """An httpx transport that records requests and answers with the page's documented reply."""

    def __init__(self, page: str) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []
        self._page = page

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(await request.aread())
        path = request.url.path.split("/api/1.0/json/")[1]
        answers = [
            ex.body for ex in responses(self._page) if ex.is_response and "result" in ex.body
        ]
        matching = [
            answer
            for answer in answers
            if ("page" in answer["result"][0]) == (path == "search/get/RecordsPage")
        ]
        return httpx.Response(200, json=(matching or answers or [{"result": [{}]}])[0])


def recording_client(page: str) -> tuple[OncorClient, Recorder]:
    recorder = Recorder(page)
    client = OncorClient(
        "https://oncor.test/api/1.0/json/", "doc-token", transport=httpx.MockTransport(recorder)
    )
    return client, recorder


def _comparable(page: str, body: Any) -> Any:
    """The status object is JSON-ish text; compare what it means, not its spacing."""
    if page == "status/update":
        update = dict(body["updateInstanceStatus"])
        update["json"] = parse_status(update["json"])
        return {"updateInstanceStatus": update}
    return body


@pytest.mark.parametrize("page", sorted(REQUEST_CALLS))
async def test_documented_request_bodies_are_what_our_client_sends(page: str) -> None:
    requests = [_fill(ex.body) for ex in json_examples(page)[0] if not ex.is_response]
    assert requests, f"{page}: the docs show no request body"
    for documented in requests:
        client, recorder = recording_client(page)
        async with client:
            await REQUEST_CALLS[page](client, documented)
        sent = json.loads(recorder.bodies[-1])
        assert _comparable(page, sent) == _comparable(page, documented)
        assert recorder.requests[-1].headers["X-Oncor-API-Token"] == "doc-token"


GET_CALLS: dict[str, Callable[[OncorClient, str], Awaitable[object]]] = {
    "patient/get": lambda client, orid: client.get_patient(orid),
    "rc/get": lambda client, orid: client.get_record(orid),
    "status/get": lambda client, orid: client.get_instance_status(orid),
    "attachment/get": lambda client, orid: client.get_attachment(orid),
    "attachment/file": lambda client, orid: client.get_attachment_file(orid),
    **{
        f"directory/get/{name}": (lambda client, _, name=name: client.get_dictionary(name))
        for name in TM66_DICTIONARIES
    },
    "directory/get/MedOrganization": lambda client, _: client.get_med_organizations(),
    "directory/get/MedDepart": lambda client, _: client.get_med_departments(),
    "directory/get/MedResource": lambda client, _: client.get_med_resources(),
}


@pytest.mark.parametrize("page", sorted(GET_CALLS))
async def test_documented_get_requests_are_what_our_client_sends(page: str) -> None:
    targets = get_requests(page)
    assert targets, f"{page}: the docs show no GET request"
    for target in targets:
        orid = "#" + target.split("id=")[1].lstrip("#") if "id=" in target else ""
        client, recorder = recording_client(page)
        async with client:
            await GET_CALLS[page](client, orid)
        sent = recorder.requests[-1].url
        sent_target = unquote(sent.path.split("/api/1.0/json/")[1] + "?" + sent.query.decode())
        # Some pages show `?id=#…`, which a browser would cut off as a fragment; ONCOR gets no '#'.
        assert sent_target.rstrip("?") == target.replace("id=#", "id=")
