"""Calls and expectations the emulator tests share."""

import base64
import time
from dataclasses import dataclass
from typing import Any

import httpx

TOKEN_HEADER = "X-Oncor-API-Token"
EXPERT_ID = "39115-661768-26(20190905)"


def new_orders(admin_http: httpx.Client, count: int = 1, **options: Any) -> list[str]:
    response = admin_http.post("orders", json={"count": count, **options})
    response.raise_for_status()
    ids: list[str] = response.json()["ids"]
    return ids


def bare(orid: str) -> str:
    """An ORID as a query string carries it."""
    return orid.removeprefix("#")


def assert_error(response: httpx.Response, status: int, name: str, key: str = "name") -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error[key] == name
    assert {"message", "uuid"} <= error.keys()
    message: str = error["message"]
    return message


def start_search(api: httpx.Client, query: dict[str, Any], search: str = "RcTm66OrderQuery") -> str:
    response = api.post(f"search/start/{search}", json={"query": query})
    assert response.status_code == 200, response.text
    job_id: str = response.json()["result"][0]["id"]
    return job_id


def records_page(api: httpx.Client, job_id: str, offset: int, size: int) -> dict[str, Any]:
    response = api.post(
        "search/get/RecordsPage",
        json={"page": {"job": {"id": job_id}, "offset": offset, "size": size}},
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()["result"][0]
    return page


def search_ids(
    api: httpx.Client,
    query: dict[str, Any],
    search: str = "RcTm66OrderQuery",
) -> list[str]:
    """The ids a search finds, waiting for its job to be ready."""
    job_id = start_search(api, query, search)
    page = records_page(api, job_id, 0, 1000)
    while not page["page"]["job"]["ready"]:
        time.sleep(0.05)
        page = records_page(api, job_id, 0, 1000)
    return [rc["id"] for rc in page.get("rc", [])]


def set_status(api: httpx.Client, order_id: str, status_json: str) -> httpx.Response:
    return api.post(
        "rc/updateInstanceStatus",
        json={"updateInstanceStatus": {"json": status_json, "rc_id": order_id}},
    )


def upload(api: httpx.Client, data: bytes, name: str = "conclusion.pdf") -> dict[str, Any]:
    body = {
        "attachment": {
            "meta": {"name": name, "type": "application/pdf"},
            "data": base64.b64encode(data).decode(),
        }
    }
    response = api.post("attachment/create", json=body)
    assert response.status_code == 200, response.text
    meta: dict[str, Any] = response.json()["result"][0]
    return meta


@dataclass(frozen=True)
class Kind:
    method: str
    body_key: str
    code_field: str
    code: str
    entry: dict[str, str]  # the full dictionary entry the answer carries
    cluster: str


KINDS = [
    Kind(
        "addRcTm66OrderReject",
        "rc_tm66_order_reject",
        "reason",
        "ДАННЫЕ_ПАЦИЕНТА",
        {"id": "1", "code": "ДАННЫЕ_ПАЦИЕНТА", "caption": "Недостаточно данных о пациенте"},
        "#1937:",
    ),
    Kind(
        "addRcTm66OrderConclusion",
        "rc_tm66_order_conclusion",
        "conclusion",
        "ЗАКЛЮЧЕНИЕ_СОВПАДАЕТ",
        {
            "code": "ЗАКЛЮЧЕНИЕ_СОВПАДАЕТ",
            "caption": "Заключение эксперта совпадает с направленным заключением",
        },
        "#1953:",
    ),
    Kind(
        "addRcTm66OrderExpertiseDicom",
        "rc_tm66_order_expertise_dicom",
        "result",
        "НЕЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ",
        {
            "code": "НЕЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ",
            "caption": "Выявлены незначительные нарушения, обусловленные оборудованием, на котором "
            "проводилось исследование",
        },
        "#1977:",
    ),
    Kind(
        "addRcTm66OrderExpertiseProtocol",
        "rc_tm66_order_expertise_protocol",
        "result",
        "НЕЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ",
        {
            "code": "НЕЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ",
            "caption": "Выявлены незначительные нарушения, не влияющие на сформированное "
            "заключение",
        },
        "#1969:",
    ),
]
KIND_IDS = [kind.method for kind in KINDS]


def post_document(api: httpx.Client, method: str, fields: dict[str, Any]) -> httpx.Response:
    body_key = next(kind.body_key for kind in KINDS if kind.method == method)
    return api.post(f"tm66/order/{method}", json={"record": {body_key: fields}})


def add_document(api: httpx.Client, method: str, fields: dict[str, Any]) -> dict[str, Any]:
    response = post_document(api, method, fields)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()["result"][0]
    return document
