"""Reconciliation: a command that arrives again finds the document its earlier copy wrote."""

from __future__ import annotations

import pytest

from adapter.consumer.documents import CONCLUSION, REJECT, deliver_document
from adapter.consumer.idempotency import attachment_name, find_own_document, uploaded_by
from adapter.oncor.errors import OncorProtocolError
from tests.support.commands import document_data
from tests.support.consumer_parts import dependencies, received
from tests.support.memory_oncor import MemoryOncor, lost_answer


def conclusion(order_id: str, command_id: str = "cmd-1", **changes: object):  # type: ignore[no-untyped-def]
    return received(
        "order.conclusion",
        document_data("order.conclusion", order_id, **changes),
        command_id=command_id,
    )


def reject(order_id: str, command_id: str = "cmd-1", **changes: object):  # type: ignore[no-untyped-def]
    data = document_data("order.reject", order_id, **changes)
    return received("order.reject", data, command_id=command_id)


async def test_resent_conclusion_finds_its_own_document_and_writes_nothing() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    deps = await dependencies(oncor)
    first = await deliver_document(CONCLUSION, conclusion(order_id), deps)
    writes = len(oncor.writes())
    again = await deliver_document(CONCLUSION, conclusion(order_id), deps)
    assert again == first
    assert len(oncor.writes()) == writes
    assert "list_records" in oncor.calls


async def test_a_different_command_id_with_the_same_content_writes_a_second_document() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    deps = await dependencies(oncor)
    first = await deliver_document(CONCLUSION, conclusion(order_id, "cmd-1"), deps)
    second = await deliver_document(CONCLUSION, conclusion(order_id, "cmd-2"), deps)
    assert second.record_id != first.record_id
    assert len(oncor.documents(order_id, "RcTm66OrderConclusion")) == 2


async def test_write_whose_answer_was_lost_is_found_when_the_command_comes_back() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    deps = await dependencies(oncor)
    oncor.fail(
        "add_conclusion", lost_answer("tm66/order/addRcTm66OrderConclusion"), after_applying=True
    )
    with pytest.raises(Exception, match="read timeout"):
        await deliver_document(CONCLUSION, conclusion(order_id), deps)
    outcome = await deliver_document(CONCLUSION, conclusion(order_id), deps)
    [record] = oncor.documents(order_id)
    assert outcome.record_id == record.id


async def test_unreadable_record_of_the_commands_class_stops_the_write() -> None:
    oncor = MemoryOncor()
    order = oncor.add_order()
    # a conclusion of the order's EHR that no documented type allows: it may be ours
    oncor.odd_entries.append(
        {
            "id": "#70:500",
            "class_name": "RcTm66OrderConclusion",
            "ehr_id": order.ehr_id,
            "deleted_status": 7,
        }
    )
    with pytest.raises(OncorProtocolError, match="cannot read"):
        await deliver_document(CONCLUSION, conclusion(order.id or ""), await dependencies(oncor))
    assert oncor.writes() == []


async def test_unreadable_record_of_another_class_does_not_stop_the_write() -> None:
    oncor = MemoryOncor()
    order = oncor.add_order()
    oncor.odd_entries.append(
        {
            "id": "#70:501",
            "class_name": "RcTm66OrderReject",
            "ehr_id": order.ehr_id,
            "deleted_status": 7,
        }
    )
    outcome = await deliver_document(
        CONCLUSION, conclusion(order.id or ""), await dependencies(oncor)
    )
    assert oncor.documents(order.id or "")[0].id == outcome.record_id


async def test_document_whose_pdf_id_is_stale_is_not_taken_for_the_commands_own() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    deps = await dependencies(oncor)
    first = await deliver_document(CONCLUSION, conclusion(order_id), deps)
    del oncor.attachments[first.attachment_ids[0]]  # ONCOR no longer knows the PDF
    again = await deliver_document(CONCLUSION, conclusion(order_id), deps)
    assert again.record_id != first.record_id


async def test_stale_attachment_of_another_document_does_not_hide_the_commands_own() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    deps = await dependencies(oncor)
    other = await deliver_document(CONCLUSION, conclusion(order_id, "cmd-other"), deps)
    mine = await deliver_document(CONCLUSION, conclusion(order_id, "cmd-mine"), deps)
    del oncor.attachments[other.attachment_ids[0]]  # one id of the batch is refused (422)
    again = await deliver_document(CONCLUSION, conclusion(order_id, "cmd-mine"), deps)
    assert again.record_id == mine.record_id


async def test_reject_without_pdf_is_recognised_by_its_code_and_description() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    deps = await dependencies(oncor)
    first = await deliver_document(REJECT, reject(order_id), deps)
    again = await deliver_document(REJECT, reject(order_id, "cmd-2"), deps)
    assert again.record_id == first.record_id
    other = await deliver_document(REJECT, reject(order_id, "cmd-3", description="Other"), deps)
    assert other.record_id != first.record_id


async def test_document_of_another_order_in_the_same_ehr_is_not_the_commands() -> None:
    oncor = MemoryOncor()
    first_order = oncor.add_order()
    second_order = oncor.add_order(patient_id=first_order.patient_id)
    oncor.records[second_order.id or ""] = second_order.model_copy(
        update={"ehr_id": first_order.ehr_id}
    )
    deps = await dependencies(oncor)
    await deliver_document(CONCLUSION, conclusion(first_order.id or ""), deps)
    await deliver_document(CONCLUSION, conclusion(second_order.id or ""), deps)
    assert len(oncor.documents(second_order.id or "")) == 1


async def test_order_without_an_ehr_cannot_be_reconciled() -> None:
    oncor = MemoryOncor()
    order = oncor.add_order()
    oncor.records[order.id or ""] = order.model_copy(update={"ehr_id": None})
    with pytest.raises(OncorProtocolError, match="ehr_id"):
        await find_own_document(
            oncor,
            oncor.records[order.id or ""],
            "RcTm66OrderConclusion",
            conclusion(order.id or "").command,
            "cmd-1",
            "conclusion",  # type: ignore[arg-type]
        )


def test_upload_name_says_which_command_uploaded_it() -> None:
    name = attachment_name("cmd-1", "conclusion.pdf")
    assert uploaded_by("cmd-1", name)
    assert not uploaded_by("cmd-2", name)
    assert not uploaded_by("cmd-1", "conclusion.pdf")
    assert not uploaded_by("cmd-1", None)


def test_upload_name_stays_within_oncors_limit_for_a_long_file_name() -> None:
    name = attachment_name("cmd-1", "x" * 400 + ".pdf")
    assert len(name) == 255
    assert uploaded_by("cmd-1", name)
