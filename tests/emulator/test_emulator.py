"""The ONCOR emulator over real HTTP: the token gate, patients, records, statuses, attachments."""

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest

from adapter.emulator.options import EmulatorOptions
from adapter.emulator.process import EmulatorProcess, start_emulator_process
from tests.emulator.api_calls import (
    EXPERT_ID,
    TOKEN_HEADER,
    add_document,
    assert_error,
    bare,
    new_orders,
    set_status,
    upload,
)

# "Текстовый файл", the attachment/create example's data
DOC_EXAMPLE_DATA = "0KLQtdC60YHRgtC+0LLRi9C5INGE0LDQudC7"


# --- start-up and the gate -------------------------------------------------------------------


def test_launcher_honours_the_options_and_seeds_orders(http: httpx.Client) -> None:
    options = EmulatorOptions(port=0, orders=2, token="other-token", page_offset_mode="record")
    with start_emulator_process(options) as emulator:
        orders = http.get(emulator.base_url + "/admin/orders").json()
        config = http.get(emulator.base_url + "/admin/config").json()
        record = http.get(
            emulator.api_url + "rc/get",
            params={"id": bare(orders[0]["id"])},
            headers={TOKEN_HEADER: "other-token"},
        )
    assert len(orders) == 2
    assert config == {
        "job_ready_after": 0.2,
        "page_offset_mode": "record",
        "document_statuses": {},
        "document_error_key": "name",
        "variance": False,
        "bare_to_date": "day_start",
    }
    assert record.json()["result"][0]["class_name"] == "RcTm66Order"
    assert emulator.process.poll() is not None


@pytest.mark.parametrize("headers", [{}, {TOKEN_HEADER: "wrong"}])
def test_calls_without_the_token_are_refused(
    http: httpx.Client,
    emulator_process: EmulatorProcess,
    headers: dict[str, str],
) -> None:
    response = http.get(
        emulator_process.api_url + "directory/get/Tm66OrderPurpose", headers=headers
    )
    assert_error(response, 401, "AuthenticationException")


def test_unknown_methods_are_404_in_oncor_shape(api: httpx.Client) -> None:
    assert_error(api.get("no/such/method"), 404, "NotFoundException")
    assert_error(api.post("search/start/NoSuchQuery", json={"query": {}}), 404, "NotFoundException")


def test_bodies_that_are_not_json_are_invalid_arguments(api: httpx.Client) -> None:
    assert_error(
        api.post("search/start/RcTm66OrderQuery", content=b"{oops"),
        422,
        "InvalidArgumentsException",
    )
    assert_error(
        api.post("search/start/RcTm66OrderQuery", json={"from_date": "2020-01-01"}),
        422,
        "InvalidArgumentsException",
    )
    assert_error(
        api.post("tm66/order/addRcTm66OrderConclusion", content=b"\xff"),
        422,
        "InvalidArgumentsException",
    )


# --- patients and records --------------------------------------------------------------------


def test_patient_get_answers_the_documented_patient(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    [order_id] = new_orders(admin_http)
    patient_id = api.get("rc/get", params={"id": bare(order_id)}).json()["result"][0]["patient_id"]

    [patient] = api.get("patient/get", params={"id": bare(patient_id)}).json()["result"]

    assert patient.keys() == {
        "id",
        "first_name",
        "middle_name",
        "last_name",
        "birth_day",
        "gender",
        "code",
        "ehr_count",
        "company_name",
        "snils",
        "phones",
    }
    assert patient["id"] == patient_id
    assert patient["gender"]["caption"] in ("М", "Ж")
    assert patient["code"].endswith(patient["gender"]["caption"])


def test_orders_of_unknown_patients_lead_to_patient_not_found(
    api: httpx.Client,
    admin_http: httpx.Client,
) -> None:
    response = admin_http.post("orders", json={"count": 1, "unknown_patient": True}).json()
    [patient_id] = response["patient_ids"]
    assert_error(
        api.get("patient/get", params={"id": bare(patient_id)}), 422, "PatientNotFoundException"
    )


@pytest.mark.parametrize(
    "path", ["patient/get", "rc/get", "rc/getInstanceStatus", "attachment/get", "attachment/file"]
)
def test_ids_with_a_hash_or_missing_are_refused(api: httpx.Client, path: str) -> None:
    message = assert_error(
        api.get(path, params={"id": "#1930:0"}), 422, "InvalidArgumentsException"
    )
    assert "without '#'" in message
    assert_error(api.get(path), 422, "InvalidArgumentsException")


def test_rc_get_answers_any_record_and_refuses_unknown_ids(
    api: httpx.Client,
    admin_http: httpx.Client,
) -> None:
    [order_id] = new_orders(admin_http)
    document = add_document(
        api,
        "addRcTm66OrderExpertiseDicom",
        {"order_id": order_id, "result": {"code": "НАРУШЕНИЙ_НЕТ"}, "expert": {"id": EXPERT_ID}},
    )

    [rc] = api.get("rc/get", params={"id": bare(document["id"])}).json()["result"]

    assert rc == document
    assert_error(api.get("rc/get", params={"id": "1930:999999"}), 422, "RecordNotFoundException")


# --- statuses --------------------------------------------------------------------------------


def test_statuses_take_onco_json_and_keep_history(
    api: httpx.Client, admin_http: httpx.Client
) -> None:
    [order_id] = new_orders(admin_http)
    assert api.get("rc/getInstanceStatus", params={"id": bare(order_id)}).json() == {
        "result": [{"rc_id": order_id}]
    }

    first = set_status(api, order_id, '{status: "Обработка началась"}').json()["result"][0]
    second = set_status(
        api, order_id, '{status: "Ассоциация DICOM", ris_dicom:"https://ris_link_dicom/?dicom=abc"}'
    )
    [current] = api.get("rc/getInstanceStatus", params={"id": bare(order_id)}).json()["result"]

    assert first.keys() == {"json", "rc_id", "user_id", "time"}
    assert json.loads(first["json"]) == {"status": "Обработка началась"}
    assert json.loads(current["json"]) == {
        "status": "Ассоциация DICOM",
        "ris_dicom": "https://ris_link_dicom/?dicom=abc",
    }
    assert current["history"] == [first]
    assert {key: current[key] for key in second.json()["result"][0]} == second.json()["result"][0]
    [rc] = api.get("rc/get", params={"id": bare(order_id)}).json()["result"]
    assert rc["instance_status"] == current["json"]
    assert admin_http.get(f"orders/{bare(order_id)}").json()["status_updates"] == 2


@pytest.mark.parametrize("status_json", ['{status: "open', '{"state": "x"}', '"status"'])
def test_unusable_status_json_is_refused(
    api: httpx.Client,
    admin_http: httpx.Client,
    status_json: str,
) -> None:
    [order_id] = new_orders(admin_http)
    assert_error(set_status(api, order_id, status_json), 422, "InvalidArgumentsException")


def test_statuses_of_unknown_records_are_refused(api: httpx.Client) -> None:
    assert_error(set_status(api, "#1930:999999", '{status: "x"}'), 422, "RecordNotFoundException")


# --- attachments -----------------------------------------------------------------------------


def test_attachments_answer_the_documented_shapes(
    api: httpx.Client,
    http: httpx.Client,
    emulator_process: EmulatorProcess,
) -> None:
    body = {
        "attachment": {
            "meta": {"name": "проверка.txt", "type": "text/plain"},
            "data": DOC_EXAMPLE_DATA,
        }
    }
    [meta] = api.post("attachment/create", json=body).json()["result"]
    content = base64.b64decode(DOC_EXAMPLE_DATA)

    assert meta.keys() == {"id", "digest", "name", "type", "size", "created"}
    assert (meta["name"], meta["type"], meta["size"]) == ("проверка.txt", "text/plain", 27)
    assert meta["digest"] == hashlib.sha1(content).hexdigest()
    assert api.get("attachment/get", params={"id": bare(meta["id"])}).json() == {
        "result": [{"meta": meta, "data": DOC_EXAMPLE_DATA}]
    }
    queried = api.post("attachment/query", json={"query": {"ids": [meta["id"], "#1587:999999"]}})
    assert queried.json() == {"result": [meta]}
    file = api.get("attachment/file", params={"id": bare(meta["id"])})
    assert (file.content, file.headers["content-type"]) == (content, "text/plain; charset=utf-8")
    link = f"{emulator_process.base_url}/attachment/{meta['digest']}:{bare(meta['id'])}"
    token = {TOKEN_HEADER: emulator_process.token}
    assert http.get(link, headers=token).content == content
    assert http.get(link).status_code == 401
    assert http.get(link.replace(meta["digest"], "0" * 40), headers=token).status_code == 404


@pytest.mark.parametrize(
    "attachment",
    [
        {"meta": {"name": "a.pdf", "type": "application/pdf"}, "data": "not base64!"},
        {"meta": {"name": "a.pdf", "type": "application/pdf"}, "data": "жжжж"},
        {"meta": {"name": "a.pdf"}, "data": "JVBERi0="},
        {"data": "JVBERi0="},
    ],
)
def test_unusable_uploads_are_refused(api: httpx.Client, attachment: dict[str, Any]) -> None:
    response = api.post("attachment/create", json={"attachment": attachment})
    assert_error(response, 422, "InvalidArgumentsException")


def test_a_large_upload_round_trips(api: httpx.Client, admin_http: httpx.Client) -> None:
    data = b"%PDF-1.4\n" + bytes(range(256)) * 32_768  # 8 MB
    meta = upload(api, data)
    assert meta["size"] == len(data)
    stored = admin_http.get(f"attachments/{bare(meta['id'])}").json()
    assert stored["sha1"] == hashlib.sha1(data).hexdigest()
    assert api.get("attachment/file", params={"id": bare(meta["id"])}).content == data
