"""A command id carried out twice must leave one ONCOR effect and announce one outcome id:
whether it was published twice, or the consumer died between ONCOR's write and its ack."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from adapter.emulator.process import EmulatorProcess
from tests.consumer.support import HoldingProxy
from tests.support.commands import KIB, document_data, inline, pdf_bytes
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.metrics import metric
from tests.support.processes import adapter_process
from tests.support.running_consumer import consumer_settings, observing, running_consumer

COMMANDS = (
    "order.associate-dicom",
    "order.reject",
    "order.conclusion",
    "order.expertise-dicom",
    "order.expertise-protocol",
)


def data_for(command: str, order_id: str) -> dict[str, Any]:
    if command == "order.associate-dicom":
        return {"order_id": order_id, "ris_dicom": "https://ris.example/study/1"}
    return document_data(command, order_id)


async def test_command_published_twice_has_one_effect_and_the_same_outcome_twice(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    duplicates_before = sum(metric("dezo_command_duplicates_total", command=c) for c in COMMANDS)
    async with running_consumer(emulator, amqp_url) as consumer:
        order_ids = await consumer.admin.new_orders(len(COMMANDS))
        sent = []
        for command, order_id in zip(COMMANDS, order_ids, strict=True):
            data = data_for(command, order_id)
            command_id = await consumer.bus.send(command, data)
            await consumer.bus.send(command, data, command_id=command_id)
            sent.append(command_id)
        for command_id in sent:
            await consumer.bus.outcome(command_id)
        await asyncio.sleep(0.5)
        for command_id in sent:
            outcomes = consumer.bus.outcomes_of(command_id)
            assert len(outcomes) == 2
            assert outcomes[0].event["id"] == outcomes[1].event["id"]
            assert outcomes[0].event["data"] == outcomes[1].event["data"]
        assert len(await consumer.admin.documents()) == len(COMMANDS) - 1
        calls = Counter(call["path"] for call in await consumer.admin.calls())
        assert calls["rc/updateInstanceStatus"] == 1
        assert calls["attachment/create"] == 1
    duplicates = sum(metric("dezo_command_duplicates_total", command=c) for c in COMMANDS)
    assert duplicates - duplicates_before == len(COMMANDS)


@pytest.mark.parametrize(
    "document_statuses",
    [{}, {"RcTm66OrderReject": "Отклонена", "RcTm66OrderConclusion": "Готово"}],
    ids=["no-status", "other-status-names"],
)
async def test_conclusion_or_reject_sent_again_after_a_restart_is_found_in_oncor(
    emulator: EmulatorProcess, amqp_url: str, document_statuses: dict[str, str]
) -> None:
    """Nothing in process memory: ONCOR's own records (the EHR's documents, the names of their
    PDFs) lead a fresh consumer to the document."""
    finals = ("order.reject", "order.conclusion")
    sent: list[tuple[str, dict[str, Any], str]] = []
    async with running_consumer(emulator, amqp_url) as consumer:
        await consumer.admin.configure(document_statuses=document_statuses)
        for command, order_id in zip(finals, await consumer.admin.new_orders(2), strict=True):
            data = data_for(command, order_id)
            command_id = await consumer.bus.send(command, data)
            sent.append((command, data, command_id))
        first = {command_id: await consumer.bus.outcome(command_id) for *_, command_id in sent}
    async with running_consumer(emulator, amqp_url) as consumer:
        for command, data, command_id in sent:
            await consumer.bus.send(command, data, command_id=command_id)
            again = await consumer.bus.outcome(command_id)
            assert again.routing_key == f"command.succeeded.{command}"
            assert again.event["id"] == first[command_id].event["id"]
        assert len(await consumer.admin.documents()) == len(finals)


async def test_two_commands_alike_but_for_their_id_write_two_documents(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    """Only the command's own upload marks a document as its own, not equal content."""
    async with running_consumer(emulator, amqp_url) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        pdf = inline(pdf_bytes(4 * KIB))
        data = document_data("order.expertise-dicom", order_id, pdf=pdf)
        first = await consumer.bus.send("order.expertise-dicom", data)
        await consumer.bus.outcome(first)
        second = await consumer.bus.send("order.expertise-dicom", data)
        outcome = await consumer.bus.outcome(second)
        documents = await consumer.admin.documents(order_id)
        assert len(documents) == 2
        assert outcome.event["data"]["record_id"] == documents[1]["id"]


async def test_consumer_killed_between_oncor_write_and_ack_creates_no_second_document(
    emulator: EmulatorProcess, amqp_url: str, tmp_path: Path
) -> None:
    settings = consumer_settings(emulator, amqp_url)
    admin = EmulatorAdmin(emulator)
    log_path = tmp_path / "consumer.log"
    with HoldingProxy(emulator.base_url) as proxy:
        env = {
            "DEZO_ONCOR_URL": f"{proxy.base_url}/api/1.0/json/",
            "DEZO_ONCOR_TOKEN": emulator.token,
            "DEZO_AMQP_URL": amqp_url,
            "DEZO_COMMAND_RETRY_DELAYS": "[0.2, 0.5, 1.0]",
            "DEZO_HTTP_PORT": "0",
            "DEZO_SHUTDOWN_GRACE": "1",
            # The redelivered command waits connect + read timeout for earlier writes to land.
            "DEZO_ONCOR_CONNECT_TIMEOUT": "1",
            "DEZO_ONCOR_READ_TIMEOUT": "2",
        }
        async with observing(amqp_url, settings.topology) as bus:
            [order_id] = await admin.new_orders(1)
            proxy.holding.set()
            with adapter_process(env, log_path, "run", "--role", "consumer") as first:
                command_id = await bus.send(
                    "order.conclusion", document_data("order.conclusion", order_id)
                )
                while not await admin.documents(order_id):
                    assert first.popen.poll() is None, first.log_text()
                    await asyncio.sleep(0.02)
                await asyncio.to_thread(proxy.held.wait, 10)
                first.stop("kill")  # ONCOR wrote; no outcome, no ack yet
            assert not bus.outcomes_of(command_id)
            proxy.holding.clear()
            with adapter_process(env, log_path, "run", "--role", "consumer") as second:
                outcome = await bus.outcome(command_id, within=30)
                await asyncio.sleep(1.0)
                assert second.stop("terminate", within=15) == 0, second.log_text()
            [document] = await admin.documents(order_id)
            assert outcome.routing_key == "command.succeeded.order.conclusion", outcome.event
            assert outcome.event["data"]["record_id"] == document["id"]
            assert len(bus.outcomes_of(command_id)) == 1
            calls = Counter(call["path"] for call in await admin.calls())
            assert calls["tm66/order/addRcTm66OrderConclusion"] == 1
    await admin.close()
