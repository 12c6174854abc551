"""The ONCOR client against the emulator over real HTTP: every method, and the unhappy paths."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapter.emulator.process import EmulatorProcess
from adapter.oncor import (
    OncorAuthError,
    OncorClient,
    OncorRejected,
    OncorSearchTimeout,
    OncorUnavailable,
    RetryPolicy,
    SearchPolicy,
)
from adapter.oncor.models import (
    DictionaryEntry,
    DocumentQuery,
    MedResource,
    RcTm66OrderConclusion,
    RcTm66OrderExpertiseDicom,
    RcTm66OrderExpertiseProtocol,
    RcTm66OrderQuery,
    RcTm66OrderReject,
)
from adapter.oncor.status import STATUS_DICOM_ASSOCIATED, STATUS_PROCESSING_STARTED
from tests.support.commands import KIB, pdf_bytes
from tests.support.emulator_admin import EmulatorAdmin

EXPERT = "39115-661768-26(20190905)"
PDF = pdf_bytes(10 * KIB)


def make_client(emulator: EmulatorProcess, **options: Any) -> OncorClient:
    options.setdefault("retry", RetryPolicy(attempts=3, max_seconds=10, initial_backoff=0.05))
    options.setdefault("search", SearchPolicy(ready_timeout=10, page_size=7))
    return OncorClient(emulator.api_url, emulator.token, **options)


@pytest.fixture
async def client(emulator: EmulatorProcess) -> AsyncIterator[OncorClient]:
    async with make_client(emulator) as client:
        yield client


async def new_order(admin: EmulatorAdmin, **options: Any) -> str:
    created = await admin.add_orders(1, **options)
    return str(created["ids"][0])


async def all_records(client: OncorClient, job_id: str) -> list[str]:
    return [rc.id or "" async for page in client.iter_search(job_id) for rc in page]


# --- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_total", [True, False])
@pytest.mark.parametrize(
    ("offset_mode", "configured"),
    [("page", "auto"), ("record", "auto"), ("page", "page"), ("record", "record")],
)
async def test_iter_search_yields_every_order_once_whatever_offset_counts_with_or_without_total(
    emulator: EmulatorProcess,
    admin: EmulatorAdmin,
    offset_mode: str,
    configured: str,
    with_total: bool,
) -> None:
    # variance: RecordsPage without its optional total, so a short page is the last
    await admin.configure(**{"page_offset_mode": offset_mode, "variance": not with_total})
    created = await admin.add_orders(45, patients=10)
    async with make_client(emulator, search=SearchPolicy(page_size=7, offset_mode=configured)) as c:  # type: ignore[arg-type]
        job = await c.start_order_search(RcTm66OrderQuery(status_is_null=True))
        found = await all_records(c, job.id)
    assert sorted(found) == sorted(created["ids"])
    assert len(found) == len(set(found))


async def test_search_waits_while_the_job_is_not_ready(
    client: OncorClient, admin: EmulatorAdmin
) -> None:
    await admin.configure(**{"job_ready_after": 0.6})
    order_id = await new_order(admin)
    started = time.monotonic()
    job = await client.start_order_search(RcTm66OrderQuery(status_is_null=True))
    assert await all_records(client, job.id) == [order_id]
    assert time.monotonic() - started >= 0.6
    assert len(await admin.calls("search/get/RecordsPage")) > 1


async def test_search_gives_up_when_the_job_stays_not_ready(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.configure(**{"job_ready_after": 30})
    async with make_client(emulator, search=SearchPolicy(ready_timeout=0.5)) as client:
        job = await client.start_order_search(RcTm66OrderQuery(status_is_null=True))
        with pytest.raises(OncorSearchTimeout):
            await client.wait_until_ready(job.id)


async def test_get_records_page_reports_not_ready_then_the_total(
    client: OncorClient, admin: EmulatorAdmin
) -> None:
    await admin.configure(**{"job_ready_after": 0.3})
    await admin.add_orders(3)
    job = await client.start_order_search(RcTm66OrderQuery(status_is_null=True))
    early = await client.get_records_page(job.id, 0, 2)
    assert not early.page.job.ready
    await asyncio.sleep(0.4)
    page = await client.get_records_page(job.id, 0, 2)
    assert page.page.job.ready and page.size == 3 and len(page.rc) == 2


async def test_status_filters_of_the_order_search(
    client: OncorClient, admin: EmulatorAdmin
) -> None:
    started, fresh = await new_order(admin), await new_order(admin)
    await client.update_instance_status(started, STATUS_PROCESSING_STARTED)

    async def search(**query: Any) -> list[str]:
        job = await client.start_order_search(RcTm66OrderQuery(**query))
        return await all_records(client, job.id)

    assert await search(status_is_null=True) == [fresh]
    assert await search(status_value=STATUS_PROCESSING_STARTED) == [started]
    await client.update_instance_status(started, STATUS_DICOM_ASSOCIATED, ris_dicom="https://r/1")
    assert await search(status_value=STATUS_PROCESSING_STARTED) == []
    assert await search(status_value_with_history=STATUS_PROCESSING_STARTED) == [started]


@pytest.mark.parametrize(
    ("kind", "add"),
    [
        ("RcTm66OrderConclusionQuery", "conclusion"),
        ("RcTm66OrderExpertiseDicomQuery", "expertise_dicom"),
        ("RcTm66OrderExpertiseProtocolQuery", "expertise_protocol"),
    ],
)
async def test_document_searches_find_the_documents_added(
    client: OncorClient, admin: EmulatorAdmin, kind: str, add: str
) -> None:
    order_id = await new_order(admin)
    added = await add_document(client, add, order_id)
    job = await client.start_document_search(kind, DocumentQuery(from_date="2020-01-01"))  # type: ignore[arg-type]
    found = [rc async for page in client.iter_search(job.id) for rc in page]
    assert [rc.id for rc in found] == [added.id]
    document = found[0].document()
    assert document is not None and document.order_id == order_id


# --- patients, records, statuses ----------------------------------------------------------------


async def test_get_patient_accepts_an_orid_with_hash(
    client: OncorClient, admin: EmulatorAdmin
) -> None:
    created = await admin.add_orders(1)
    patient_id = created["patient_ids"][0]
    assert patient_id.startswith("#")
    patient = await client.get_patient(patient_id)
    assert patient.id == patient_id and patient.last_name
    sent = (await admin.calls("patient/get"))[-1]
    assert not sent["id"].startswith("#")


async def test_unknown_patient_is_rejected_with_oncors_error(
    client: OncorClient, admin: EmulatorAdmin
) -> None:
    with pytest.raises(OncorRejected) as caught:
        await client.get_patient("#69:999999")
    assert caught.value.name == "PatientNotFoundException"
    assert caught.value.uuid


async def test_get_record_returns_the_order(client: OncorClient, admin: EmulatorAdmin) -> None:
    order_id = await new_order(admin)
    record = await client.get_record(order_id)
    assert record.id == order_id and record.class_name == "RcTm66Order"
    assert record.rc_tm66_order is not None and record.rc_tm66_order.purpose is not None


async def test_status_updates_build_a_history(client: OncorClient, admin: EmulatorAdmin) -> None:
    order_id = await new_order(admin)
    assert (await client.get_instance_status(order_id)).status is None
    first = await client.update_instance_status(order_id, STATUS_PROCESSING_STARTED)
    assert first.status == STATUS_PROCESSING_STARTED and first.time
    await client.update_instance_status(
        order_id, STATUS_DICOM_ASSOCIATED, ris_dicom="https://r/?d=1"
    )
    current = await client.get_instance_status(order_id)
    assert current.fields() == {"status": STATUS_DICOM_ASSOCIATED, "ris_dicom": "https://r/?d=1"}
    assert current.all_statuses() == [STATUS_PROCESSING_STARTED, STATUS_DICOM_ASSOCIATED]


# --- attachments --------------------------------------------------------------------------------


async def test_attachment_round_trip_from_bytes(client: OncorClient, admin: EmulatorAdmin) -> None:
    meta = await client.create_attachment("заключение.pdf", "application/pdf", PDF)
    assert meta.id and meta.digest == hashlib.sha1(PDF).hexdigest() and meta.size == len(PDF)
    fetched = await client.get_attachment(meta.id)
    assert fetched.data == PDF and fetched.meta.name == "заключение.pdf"
    assert await client.get_attachment_file(meta.id) == PDF
    listed = await client.query_attachments([meta.id, "#1587:999999"])
    assert [item.id for item in listed] == [meta.id]


async def test_attachment_streams_from_a_file(client: OncorClient, tmp_path: Path) -> None:
    content = PDF * 300  # ~3 MB, several slices of the streamed body
    path = tmp_path / "big.pdf"
    path.write_bytes(content)
    meta = await client.create_attachment("big.pdf", "application/pdf", path)
    assert meta.size == len(content) and meta.digest == hashlib.sha1(content).hexdigest()
    assert await client.get_attachment_file(meta.id or "") == content


# --- documents ----------------------------------------------------------------------------------


async def add_document(
    client: OncorClient, kind: str, order_id: str, code: str | None = None
) -> Any:
    pdf = await client.create_attachment("doc.pdf", "application/pdf", PDF)
    common: dict[str, Any] = {
        "order_id": order_id,
        "description": "описание",
        "pdf_id": pdf.id,
        "expert": MedResource(id=EXPERT),
    }
    if kind == "reject":
        entry = DictionaryEntry(code=code or "ДАННЫЕ_ПАЦИЕНТА")
        return await client.add_reject(RcTm66OrderReject(reason=entry, **common))
    if kind == "conclusion":
        entry = DictionaryEntry(code=code or "ЗАКЛЮЧЕНИЕ_СОВПАДАЕТ")
        return await client.add_conclusion(RcTm66OrderConclusion(conclusion=entry, **common))
    entry = DictionaryEntry(code=code or "НАРУШЕНИЙ_НЕТ")
    if kind == "expertise_dicom":
        return await client.add_expertise_dicom(RcTm66OrderExpertiseDicom(result=entry, **common))
    return await client.add_expertise_protocol(RcTm66OrderExpertiseProtocol(result=entry, **common))


@pytest.mark.parametrize(
    ("kind", "class_name"),
    [
        ("reject", "RcTm66OrderReject"),
        ("conclusion", "RcTm66OrderConclusion"),
        ("expertise_dicom", "RcTm66OrderExpertiseDicom"),
        ("expertise_protocol", "RcTm66OrderExpertiseProtocol"),
    ],
)
async def test_each_document_is_created_for_its_order_and_listed_in_its_ehr(
    client: OncorClient, admin: EmulatorAdmin, kind: str, class_name: str
) -> None:
    order_id = await new_order(admin)
    record = await add_document(client, kind, order_id)
    assert record.class_name == class_name and record.id
    document = record.document()
    assert document is not None and document.order_id == order_id
    assert document.expert is not None and document.expert.name  # ONCOR fills the expert in
    documents = await admin.documents(order_id)
    assert [doc["id"] for doc in documents] == [record.id]
    assert record.ehr_id
    listed = await client.list_records(record.ehr_id)
    assert [rc.id for rc in listed if rc.class_name == class_name] == [record.id]


@pytest.mark.parametrize("kind", ["reject", "conclusion", "expertise_dicom", "expertise_protocol"])
@pytest.mark.parametrize("error_key", ["name", "class"])
async def test_unknown_code_is_rejected_with_oncors_error_name_in_either_form(
    client: OncorClient, admin: EmulatorAdmin, kind: str, error_key: str
) -> None:
    await admin.configure(**{"document_error_key": error_key})
    order_id = await new_order(admin)
    with pytest.raises(OncorRejected) as caught:
        await add_document(client, kind, order_id, code="НЕТ_ТАКОГО_КОДА")
    assert caught.value.name == "DirectoryEntryNotFoundException"
    assert caught.value.uuid
    assert await admin.documents() == []


# --- dictionaries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Tm66OrderPurpose", "ФОРМИРОВАНИЕ_ЭКСПЕРТНОГО_МНЕНИЯ"),
        ("Tm66DiagnosticsType", "КТ_ГРУДНОЙ_КЛЕТКИ"),
        ("Tm66DiagnosticsMethod", "МРТ"),
        ("Tm66ConclusionType", "ДИАГНОЗ_ПОДТВЕРЖДЕН"),
        ("Tm66OrderRejectReason", "НЕВОЗМОЖНО_АССОЦИИРОВАТЬ"),
        ("Tm66ExpertDicomResult", "ЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ"),
        ("Tm66ExpertProtocolResult", "НЕЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ"),
    ],
)
async def test_dictionaries_hold_the_documented_codes(
    client: OncorClient, name: str, code: str
) -> None:
    entries = await client.get_dictionary(name)  # type: ignore[arg-type]
    assert code in {entry.code for entry in entries}
    assert all(entry.caption for entry in entries)


async def test_medical_directories(client: OncorClient) -> None:
    assert "661768(20190823)" in {mo.id for mo in await client.get_med_organizations()}
    assert any(dep.med_org_code == "661768" for dep in await client.get_med_departments())
    assert EXPERT in {doctor.id for doctor in await client.get_med_resources()}


# --- failures -----------------------------------------------------------------------------------


async def test_wrong_token_is_a_configuration_error_without_the_token_in_it(
    emulator: EmulatorProcess,
) -> None:
    secret = "wrong-token-1234567890"
    async with OncorClient(emulator.api_url, secret) as client:
        with pytest.raises(OncorAuthError) as caught:
            await client.get_dictionary("Tm66ConclusionType")
    assert caught.value.status == 401
    assert secret not in str(caught.value) and secret not in repr(client)


async def failed_calls_seen(admin: EmulatorAdmin, path: str, count: int) -> None:
    """Wait until the emulator answered `count` calls to `path` with a 5xx."""
    # Polling: the state lives in another process, no event can tell us.
    while len([c for c in await admin.calls(path) if (c["status"] or 0) >= 500]) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def test_server_errors_are_retried_until_oncor_answers(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.faults(**{"error_rate": 1.0})
    retry = RetryPolicy(attempts=50, max_seconds=20, initial_backoff=0.01, max_backoff=0.05)
    async with make_client(emulator, retry=retry) as client:
        call = asyncio.create_task(client.get_dictionary("Tm66ConclusionType"))
        await failed_calls_seen(admin, "directory/get/Tm66ConclusionType", 2)
        await admin.clear_faults()
        assert await call
    outcomes = [c["status"] for c in await admin.calls("directory/get/Tm66ConclusionType")]
    assert outcomes[-1] == 200 and len(outcomes) >= 3


async def test_timeouts_are_retried_until_oncor_answers(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.faults(**{"timeout_rate": 1.0, "timeout_seconds": 3})
    retry = RetryPolicy(attempts=5, max_seconds=20, initial_backoff=0.05, max_backoff=0.2)
    async with make_client(emulator, read_timeout=0.3, retry=retry) as client:
        call = asyncio.create_task(client.get_dictionary("Tm66ConclusionType"))
        await asyncio.sleep(0.4)
        await admin.clear_faults()
        assert await call


async def test_retry_budget_exhausted_raises_unavailable(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    await admin.faults(**{"error_rate": 1.0})
    retry = RetryPolicy(attempts=3, max_seconds=30, initial_backoff=0.01, max_backoff=0.02)
    async with make_client(emulator, retry=retry) as client:
        with pytest.raises(OncorUnavailable):
            await client.get_med_resources()
    assert len(await admin.calls("directory/get/MedResource")) == 3


async def test_retry_after_is_honoured(emulator: EmulatorProcess, admin: EmulatorAdmin) -> None:
    await admin.faults(**{"error_rate": 1.0, "error_statuses": [503], "retry_after": 1})
    retry = RetryPolicy(attempts=2, max_seconds=30, initial_backoff=0.01, max_backoff=0.02)
    async with make_client(emulator, retry=retry) as client:
        started = time.monotonic()
        with pytest.raises(OncorUnavailable) as caught:
            await client.get_med_departments()
    assert caught.value.status == 503 and caught.value.retry_after == 1.0
    assert time.monotonic() - started >= 1.0


async def test_a_write_that_may_have_applied_is_not_repeated(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    order_id = await new_order(admin)
    await admin.faults(**{"timeout_rate": 1.0, "timeout_seconds": 2, "paths": ["rc/update"]})
    async with make_client(emulator, read_timeout=0.3) as client:
        with pytest.raises(OncorUnavailable) as caught:
            await client.update_instance_status(order_id, STATUS_PROCESSING_STARTED)
    assert caught.value.maybe_applied
    assert len(await admin.calls("rc/updateInstanceStatus")) == 1


async def test_a_write_that_never_left_is_retried() -> None:
    attempts: list[httpx.Request] = []

    def refuse_then_answer(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"result": [{"json": '{"status":"x"}', "rc_id": "#1:1"}]})

    retry = RetryPolicy(attempts=3, initial_backoff=0.01)
    transport = httpx.MockTransport(refuse_then_answer)
    async with OncorClient(
        "http://oncor.test/api/1.0/json/", "t", transport=transport, retry=retry
    ) as client:
        status = await client.update_instance_status("#1:1", "x")
    assert status.status == "x" and len(attempts) == 2


async def test_client_logs_no_token(
    emulator: EmulatorProcess, admin: EmulatorAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with make_client(emulator) as client:
        await client.get_dictionary("Tm66OrderPurpose")
    assert caplog.records
    assert emulator.token not in caplog.text
