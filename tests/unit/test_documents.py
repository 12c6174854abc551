"""The four document commands: one path, four specifications, against the in-memory ONCOR."""

from __future__ import annotations

import pytest

from adapter.consumer.documents import DOCUMENTS, DocumentSpec, deliver_document
from adapter.consumer.errors import InvalidCommand
from adapter.consumer.idempotency import uploaded_by
from adapter.oncor.errors import OncorRejected
from tests.support.commands import SIGNATURE, document_data, inline, pdf_bytes
from tests.support.consumer_parts import ORIGIN, alone, dependencies, received
from tests.support.memory_oncor import MemoryOncor

CODE_FIELDS = {
    "order.reject": "reason_code",
    "order.conclusion": "conclusion_code",
    "order.expertise-dicom": "result_code",
    "order.expertise-protocol": "result_code",
}
COMMANDS = list(DOCUMENTS)
PDF = pdf_bytes(2048)


def spec(name: str) -> DocumentSpec:  # type: ignore[type-arg]
    return DOCUMENTS[name]


async def deliver(oncor: MemoryOncor, name: str, **changes: object):  # type: ignore[no-untyped-def]
    order_id = str(changes.pop("order_id", "")) or oncor.add_order().id or ""
    data = document_data(name, order_id, **{"pdf": inline(PDF), **changes})
    deps = await dependencies(oncor)
    return await deliver_document(spec(name), received(name, data), deps, alone())


@pytest.mark.parametrize("name", COMMANDS)
async def test_document_is_created_in_oncor_with_the_commands_code_and_text(name: str) -> None:
    oncor = MemoryOncor()
    outcome = await deliver(oncor, name)
    [record] = oncor.documents(outcome.order_id)
    document = record.document()
    assert record.class_name == spec(name).record.__name__
    sent = document_data(name, outcome.order_id)
    assert getattr(document, spec(name).code_field).code == sent[CODE_FIELDS[name]]
    assert document is not None and document.description == sent["description"]
    assert outcome.record_id == record.id


@pytest.mark.parametrize("name", COMMANDS)
async def test_pdf_is_uploaded_under_a_name_tagged_with_the_command_id(name: str) -> None:
    oncor = MemoryOncor()
    outcome = await deliver(oncor, name)
    [pdf_id] = outcome.attachment_ids
    meta, data = oncor.attachments[pdf_id]
    assert data == PDF
    assert uploaded_by("cmd-1", meta.name)
    assert meta.name.endswith("-conclusion.pdf")


@pytest.mark.parametrize("name", COMMANDS)
async def test_unknown_code_is_refused_before_oncor_is_written(name: str) -> None:
    oncor = MemoryOncor()
    with pytest.raises(InvalidCommand) as refused:
        await deliver(oncor, name, **{CODE_FIELDS[name]: "999"})
    assert refused.value.problem == "unknown_code"
    assert oncor.writes() == []


@pytest.mark.parametrize("name", COMMANDS)
async def test_document_for_an_order_oncor_does_not_know_is_rejected_by_oncor(name: str) -> None:
    oncor = MemoryOncor()
    with pytest.raises(OncorRejected):
        await deliver(oncor, name, order_id="#30:999")
    assert oncor.writes() == []


async def test_succeeded_outcome_links_to_the_document_in_oncors_ui() -> None:
    oncor = MemoryOncor()
    outcome = await deliver(oncor, "order.conclusion")
    assert outcome.ui_link.startswith(ORIGIN)
    assert outcome.record_id.lstrip("#").replace(":", "-") in outcome.ui_link.replace(":", "-")


async def test_reject_without_pdf_uploads_nothing() -> None:
    oncor = MemoryOncor()
    outcome = await deliver(oncor, "order.reject", pdf=None)
    assert outcome.attachment_ids == []
    assert "create_attachment" not in oncor.calls
    [record] = oncor.documents(outcome.order_id)
    assert record.document() is not None and record.document().pdf_id is None  # type: ignore[union-attr]


async def test_signature_is_uploaded_beside_the_pdf_and_referenced_by_the_document() -> None:
    oncor = MemoryOncor()
    outcome = await deliver(
        oncor,
        "order.conclusion",
        signature=inline(SIGNATURE, "conclusion.sig", "application/pkcs7-signature"),
    )
    pdf_id, signature_id = outcome.attachment_ids
    [record] = oncor.documents(outcome.order_id)
    document = record.document()
    assert document is not None
    assert (document.pdf_id, document.pdf_ds_id) == (pdf_id, signature_id)
    assert oncor.attachments[signature_id][1] == SIGNATURE


async def test_inline_pdf_that_is_not_base64_is_refused_before_oncor_is_asked() -> None:
    oncor = MemoryOncor()
    bad = {**inline(PDF), "content_base64": "not base64 at all!"}
    with pytest.raises(InvalidCommand) as refused:
        await deliver(oncor, "order.conclusion", pdf=bad)
    assert refused.value.problem == "bad_base64"
    assert "get_record" not in oncor.calls


async def test_inline_file_that_is_not_a_pdf_is_refused() -> None:
    oncor = MemoryOncor()
    with pytest.raises(InvalidCommand) as refused:
        await deliver(oncor, "order.conclusion", pdf=inline(b"GIF89a..."))
    assert refused.value.problem == "not_pdf"
    assert oncor.writes() == []


async def test_signature_that_does_not_look_like_one_is_refused() -> None:
    oncor = MemoryOncor()
    with pytest.raises(InvalidCommand) as refused:
        await deliver(oncor, "order.conclusion", signature=inline(PDF, "sig.p7s"))
    assert refused.value.problem == "not_signature"
    assert oncor.writes() == []


async def test_empty_inline_file_is_refused() -> None:
    oncor = MemoryOncor()
    with pytest.raises(InvalidCommand) as refused:
        await deliver(oncor, "order.conclusion", pdf={**inline(PDF), "content_base64": "===="})
    assert refused.value.problem in ("empty_attachment", "bad_base64")
    assert oncor.writes() == []


async def test_pdf_by_url_outside_the_allow_list_is_refused_without_a_download() -> None:
    oncor = MemoryOncor()
    by_url = {"name": "c.pdf", "media_type": "application/pdf", "url": "https://evil.example/c.pdf"}
    with pytest.raises(InvalidCommand) as refused:
        await deliver(oncor, "order.conclusion", pdf=by_url)
    assert refused.value.problem == "url_not_allowed"
    assert oncor.writes() == []


async def test_url_file_is_not_downloaded_for_an_order_that_already_has_the_document() -> None:
    oncor = MemoryOncor()
    first = await deliver(oncor, "order.conclusion")
    by_url = {"name": "c.pdf", "media_type": "application/pdf", "url": "https://evil.example/c.pdf"}
    # the same command again, now naming its PDF by a URL that would be refused if fetched
    again = await deliver(oncor, "order.conclusion", order_id=first.order_id, pdf=by_url)
    assert again.record_id == first.record_id
