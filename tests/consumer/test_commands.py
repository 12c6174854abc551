"""Each command end to end: the command in, ONCOR's records and the outcome event out."""

from __future__ import annotations

import asyncio
import hashlib

import jsonschema
import pytest

from adapter.consumer.idempotency import attachment_name
from adapter.emulator.process import EmulatorProcess
from adapter.messages.outcomes import CommandSucceeded, outcome_event_id
from tests.support.commands import DEPARTMENT, EXPERT, KIB, by_url, document_data, inline, pdf_bytes
from tests.support.files import FileServer
from tests.support.metrics import metric
from tests.support.running_consumer import running_consumer

DOCUMENT_CLASSES = {
    "order.reject": ("RcTm66OrderReject", "rc_tm66_order_reject", "reason"),
    "order.conclusion": ("RcTm66OrderConclusion", "rc_tm66_order_conclusion", "conclusion"),
    "order.expertise-dicom": (
        "RcTm66OrderExpertiseDicom",
        "rc_tm66_order_expertise_dicom",
        "result",
    ),
    "order.expertise-protocol": (
        "RcTm66OrderExpertiseProtocol",
        "rc_tm66_order_expertise_protocol",
        "result",
    ),
}


def check_succeeded_event(event: dict[str, object], command_id: str) -> CommandSucceeded:
    """The outcome validates against its model's JSON Schema and carries the derived id."""
    assert event["type"] == "ru.oncor.dezo.command.succeeded.v1"
    jsonschema.validate(event["data"], CommandSucceeded.model_json_schema())
    outcome = CommandSucceeded.model_validate(event["data"])
    assert outcome.command_id == command_id
    assert event["id"] == outcome_event_id(outcome)
    return outcome


async def test_associate_dicom_sets_the_status_with_the_study_link(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    async with running_consumer(emulator, amqp_url) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        link = "https://ris.example/viewer?study=1.2.840.113619"
        command_id = await consumer.bus.send(
            "order.associate-dicom",
            {"order_id": order_id, "ris_dicom": link},
            reply_to=consumer.bus.reply_queue,
        )
        seen = await consumer.bus.outcome(command_id)
        assert seen.routing_key == "command.succeeded.order.associate-dicom"
        outcome = check_succeeded_event(seen.event, command_id)
        assert outcome.record_id == order_id
        assert outcome.ui_link.endswith("/ui-orid/" + order_id.lstrip("#"))
        order = await consumer.admin.order(order_id)
        assert order["status"] == {"status": "Ассоциация DICOM", "ris_dicom": link}
        # reply_to got the very same event
        await asyncio.sleep(0.2)
        assert [reply.event["id"] for reply in consumer.bus.replies] == [seen.event["id"]]


@pytest.mark.parametrize("command", list(DOCUMENT_CLASSES))
async def test_document_command_creates_exactly_its_document_with_intact_files(
    command: str, emulator: EmulatorProcess, amqp_url: str, file_server: FileServer
) -> None:
    class_name, body_key, code_field = DOCUMENT_CLASSES[command]
    pdf = pdf_bytes(300 * KIB)  # by URL: over the inline limit of these tests
    signature = b"0\x82\x05\x00 detached CMS signature " + bytes(range(256))
    allowed = [file_server.authority]
    async with running_consumer(
        emulator, amqp_url, attachment_url_allowed_hosts=allowed
    ) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        data = document_data(
            command,
            order_id,
            expert_department_id=DEPARTMENT,
            pdf=by_url(file_server.url(f"{command}.pdf", pdf)),
            signature=inline(signature, "conclusion.pdf.sig", "application/pkcs7-signature"),
        )
        uploaded_before = metric("dezo_attachment_bytes_uploaded_total")
        command_id = await consumer.bus.send(command, data)
        seen = await consumer.bus.outcome(command_id)
        assert seen.routing_key == f"command.succeeded.{command}", seen.event
        outcome = check_succeeded_event(seen.event, command_id)

        [document] = await consumer.admin.documents(order_id)
        assert document["id"] == outcome.record_id
        assert document["class_name"] == class_name
        body = document[body_key]
        assert body[code_field]["code"] == data[next(k for k in data if k.endswith("_code"))]
        assert body["description"] == data["description"]
        assert body["expert"]["id"] == EXPERT
        assert body["expert_d"]["id"] == DEPARTMENT
        assert outcome.attachment_ids == [body["pdf_id"], body["pdf_ds_id"]]
        files = ((pdf, "conclusion.pdf"), (signature, "conclusion.pdf.sig"))
        for attachment_id, (content, name) in zip(outcome.attachment_ids, files, strict=True):
            meta = await consumer.admin.attachment(attachment_id)
            assert meta["sha1"] == hashlib.sha1(content).hexdigest()
            assert meta["size"] == len(content)
            # The name tells which command uploaded it: how a resent command finds its document.
            assert meta["name"] == attachment_name(command_id, name)
        assert metric("dezo_attachment_bytes_uploaded_total") - uploaded_before == len(pdf) + len(
            signature
        )
        assert metric("dezo_commands_total", command=command, outcome="succeeded") >= 1


async def test_reject_without_files_records_the_order_turnaround(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    before = metric("dezo_order_turnaround_seconds_count", outcome="reject")
    async with running_consumer(emulator, amqp_url) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        command_id = await consumer.bus.send(
            "order.reject", document_data("order.reject", order_id)
        )
        outcome = check_succeeded_event((await consumer.bus.outcome(command_id)).event, command_id)
        assert outcome.attachment_ids == []
    assert metric("dezo_order_turnaround_seconds_count", outcome="reject") == before + 1


async def test_commands_for_one_order_apply_in_arrival_order(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    async with running_consumer(emulator, amqp_url) as consumer:
        # ONCOR's docs name no status for a conclusion: one chosen here makes the order visible.
        await consumer.admin.configure(document_statuses={"RcTm66OrderConclusion": "Заключение"})
        order_ids = await consumer.admin.new_orders(3)
        # A conclusion takes four ONCOR calls, an association two: unserialised, the later
        # association would overtake the earlier conclusion.
        await consumer.admin.faults(latency_ms=30)
        sent = []
        for order_id in order_ids:
            sent.append(
                await consumer.bus.send(
                    "order.conclusion", document_data("order.conclusion", order_id)
                )
            )
            sent.append(
                await consumer.bus.send(
                    "order.associate-dicom",
                    {"order_id": order_id, "ris_dicom": "https://ris.example/study/9"},
                )
            )
        for command_id in sent:
            await consumer.bus.outcome(command_id)
        for order_id in order_ids:
            order = await consumer.admin.order(order_id)
            statuses = [status["status"] for status in order["status_history"]]
            assert statuses == ["Заключение", "Ассоциация DICOM"]


async def test_stop_lets_in_flight_commands_finish_before_returning(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    async with running_consumer(emulator, amqp_url) as consumer:
        order_ids = await consumer.admin.new_orders(4)
        await consumer.admin.faults(latency_ms=300)
        ids = [
            await consumer.bus.send("order.reject", document_data("order.reject", order_id))
            for order_id in order_ids
        ]
        await asyncio.sleep(0.3)  # taken, and waiting for ONCOR
        consumer.stop.set()
        await asyncio.wait_for(consumer.task, 10)
        for command_id in ids:
            assert consumer.bus.outcomes_of(command_id), "in-flight command not finished"
        await consumer.admin.clear_faults()
