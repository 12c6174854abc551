"""Reconciliation: a command that arrives again finds the document its earlier copy wrote."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from adapter.consumer.dependencies import Dependencies
from adapter.consumer.documents import DOCUMENTS, deliver_document
from adapter.consumer.idempotency import attachment_name, find_own_document, uploaded_by
from adapter.messages.commands import DocumentCommand
from adapter.messages.outcomes import CommandSucceeded
from adapter.oncor.errors import OncorProtocolError
from tests.support.commands import document_data
from tests.support.consumer_parts import alone, dependencies, received
from tests.support.memory_oncor import MemoryOncor, lost_answer


@dataclass
class Order:
    """An order in the in-memory ONCOR, and a way to send it document commands."""

    oncor: MemoryOncor
    deps: Dependencies
    id: str

    @classmethod
    async def new(cls) -> Order:
        oncor = MemoryOncor()
        return cls(oncor, await dependencies(oncor), oncor.add_order().id or "")

    async def send(
        self, command: str = "order.conclusion", command_id: str = "cmd-1", **changes: Any
    ) -> CommandSucceeded:
        data = document_data(command, self.id, **changes)
        sent = received(command, data, command_id=command_id)
        return await deliver_document(DOCUMENTS[command], sent, self.deps, alone())


async def test_resent_conclusion_finds_its_own_document_and_writes_nothing() -> None:
    order = await Order.new()
    first = await order.send()
    writes = len(order.oncor.writes())
    again = await order.send()
    assert again == first
    assert len(order.oncor.writes()) == writes
    assert "list_records" in order.oncor.calls


async def test_a_different_command_id_with_the_same_content_writes_a_second_document() -> None:
    order = await Order.new()
    first = await order.send(command_id="cmd-1")
    second = await order.send(command_id="cmd-2")
    assert second.record_id != first.record_id
    assert len(order.oncor.documents(order.id, "RcTm66OrderConclusion")) == 2


async def test_write_whose_answer_was_lost_is_found_when_the_command_comes_back() -> None:
    order = await Order.new()
    method = "tm66/order/addRcTm66OrderConclusion"
    order.oncor.fail("add_conclusion", lost_answer(method), after_applying=True)
    with pytest.raises(Exception, match="read timeout"):
        await order.send()
    outcome = await order.send()
    [record] = order.oncor.documents(order.id)
    assert outcome.record_id == record.id


async def test_unreadable_record_of_the_commands_class_stops_the_write() -> None:
    order = await Order.new()
    ehr_id = order.oncor.records[order.id].ehr_id
    # a conclusion of the order's EHR that no documented type allows: it may be ours
    order.oncor.add_unreadable_record("RcTm66OrderConclusion", ehr_id)
    with pytest.raises(OncorProtocolError, match="cannot read"):
        await order.send()
    assert order.oncor.writes() == []


async def test_unreadable_record_of_another_class_does_not_stop_the_write() -> None:
    order = await Order.new()
    order.oncor.add_unreadable_record("RcTm66OrderReject", order.oncor.records[order.id].ehr_id)
    outcome = await order.send()
    assert order.oncor.documents(order.id)[0].id == outcome.record_id


async def test_document_whose_pdf_id_is_stale_is_not_taken_for_the_commands_own() -> None:
    order = await Order.new()
    first = await order.send()
    del order.oncor.attachments[first.attachment_ids[0]]  # ONCOR no longer knows the PDF
    again = await order.send()
    assert again.record_id != first.record_id


async def test_stale_attachment_of_another_document_does_not_hide_the_commands_own() -> None:
    order = await Order.new()
    other = await order.send(command_id="cmd-other")
    mine = await order.send(command_id="cmd-mine")
    del order.oncor.attachments[other.attachment_ids[0]]  # one id of the batch is refused (422)
    again = await order.send(command_id="cmd-mine")
    assert again.record_id == mine.record_id


async def test_reject_without_pdf_is_recognised_by_its_code_and_description() -> None:
    order = await Order.new()
    first = await order.send("order.reject")
    again = await order.send("order.reject", command_id="cmd-2")
    assert again.record_id == first.record_id
    other = await order.send("order.reject", command_id="cmd-3", description="Other")
    assert other.record_id != first.record_id


async def test_document_of_another_order_in_the_same_ehr_is_not_the_commands() -> None:
    order = await Order.new()
    first = order.oncor.records[order.id]
    sibling = order.oncor.add_order(patient_id=first.patient_id)
    order.oncor.records[sibling.id or ""] = sibling.model_copy(update={"ehr_id": first.ehr_id})
    await order.send()
    await Order(order.oncor, order.deps, sibling.id or "").send()
    assert len(order.oncor.documents(sibling.id or "")) == 1


async def test_order_without_an_ehr_cannot_be_reconciled() -> None:
    order = await Order.new()
    record = order.oncor.records[order.id].model_copy(update={"ehr_id": None})
    command = received("order.conclusion", document_data("order.conclusion", order.id)).command
    assert isinstance(command, DocumentCommand)
    with pytest.raises(OncorProtocolError, match="ehr_id"):
        await find_own_document(
            order.oncor, record, "RcTm66OrderConclusion", command, "cmd-1", "conclusion"
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
