"""ONCOR refusing (422), ONCOR down for a while, a call failing for too long, and ONCOR's answer
lost after it wrote: each ends in the right outcome, and never in a second document."""

from __future__ import annotations

import asyncio
from collections import Counter

import aio_pika

from adapter.bus.topology import COMMANDS_EXCHANGE
from adapter.emulator.process import EmulatorProcess
from tests.support.commands import document_data
from tests.support.metrics import metric
from tests.support.running_consumer import running_consumer


async def test_oncor_422_fails_as_rejected_by_oncor_with_oncors_uuid(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    async with running_consumer(emulator, amqp_url) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        unknown_expert = await consumer.bus.send(
            "order.conclusion",
            document_data("order.conclusion", order_id, expert_id="99999-661768-26(20190905)"),
        )
        unknown_order = await consumer.bus.send(
            "order.reject", document_data("order.reject", "#1930:999999")
        )
        for command_id, oncor_error in (
            (unknown_expert, "DirectoryEntryNotFoundException"),
            (unknown_order, "RecordNotFoundException"),
        ):
            failed = (await consumer.bus.outcome(command_id)).event["data"]
            assert failed["reason"] == "rejected_by_oncor"
            assert failed["oncor_error"]["name"] == oncor_error
            assert len(failed["oncor_error"]["uuid"]) == 36, failed
            assert failed["oncor_error"]["message"] in failed["message"]
            dead = await consumer.bus.dead_letter(command_id)
            assert dead.headers["x-dezo-reason"] == "rejected_by_oncor"
        assert await consumer.admin.documents() == []


async def test_oncor_outage_shorter_than_the_retry_budget_ends_in_success(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    retries_before = metric("dezo_command_retries_total", command="order.conclusion")
    async with running_consumer(emulator, amqp_url) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        await consumer.admin.faults(error_rate=1.0)
        command_id = await consumer.bus.send(
            "order.conclusion", document_data("order.conclusion", order_id)
        )
        await asyncio.sleep(1.5)  # longer than the in-process retries (1 s), shorter than 1.7 s
        assert not consumer.bus.outcomes_of(command_id)
        await consumer.admin.clear_faults()
        outcome = await consumer.bus.outcome(command_id)
        assert outcome.routing_key == "command.succeeded.order.conclusion", outcome.event
        assert len(await consumer.admin.documents(order_id)) == 1
    assert metric("dezo_command_retries_total", command="order.conclusion") > retries_before


async def test_oncor_call_failing_past_the_budget_dead_letters_and_a_replay_succeeds(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    async with running_consumer(emulator, amqp_url) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        # Only this command's write fails: ONCOR answers its other calls, so the circuit breaker
        # sees no outage (a whole outage only delays commands: tests/outage).
        await consumer.admin.faults(error_rate=1.0, paths=["tm66/order/addRcTm66OrderReject"])
        command_id = await consumer.bus.send(
            "order.reject", document_data("order.reject", order_id)
        )
        failed = (await consumer.bus.outcome(command_id, within=30)).event["data"]
        assert failed["reason"] == failed["problem"] == "oncor_unavailable"
        assert "3 delayed retries" in failed["message"]
        dead = await consumer.bus.dead_letter(command_id)
        assert dead.headers["x-dezo-reason"] == "oncor_unavailable"
        assert "x-dezo-attempt" not in dead.headers  # a replay gets the whole budget again
        assert dead.headers["x-dezo-routing-key"] == "order.reject"
        await consumer.admin.clear_faults()
        assert await consumer.admin.documents() == []

        # An operator replays the dead letter once ONCOR is back: it goes through.
        exchange = await consumer.bus.channel.get_exchange(COMMANDS_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(dead.body, headers=dead.headers, message_id=command_id),
            routing_key=dead.headers["x-dezo-routing-key"],
        )
        replayed = await consumer.bus.outcome(
            command_id, routing_key="command.succeeded.order.reject"
        )
        assert replayed.event["id"] != (await consumer.bus.outcome(command_id)).event["id"]
        assert len(await consumer.admin.documents(order_id)) == 1


WRITES = {
    "order.associate-dicom": "rc/updateInstanceStatus",
    "order.reject": "tm66/order/addRcTm66OrderReject",
    "order.conclusion": "tm66/order/addRcTm66OrderConclusion",
    "order.expertise-dicom": "tm66/order/addRcTm66OrderExpertiseDicom",
    "order.expertise-protocol": "tm66/order/addRcTm66OrderExpertiseProtocol",
}


async def test_writes_whose_answer_was_lost_are_found_again_and_not_repeated(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    retries_before = {
        command: metric("dezo_command_retries_total", command=command) for command in WRITES
    }
    async with running_consumer(emulator, amqp_url) as consumer:
        order_ids = dict(zip(WRITES, await consumer.admin.new_orders(len(WRITES)), strict=True))
        # ONCOR writes, then the connection breaks mid-answer: maybe applied, so reconcile.
        await consumer.admin.faults(drop_rate=1.0, paths=list(WRITES.values()))
        for command, order_id in order_ids.items():
            if command == "order.associate-dicom":
                data = {"order_id": order_id, "ris_dicom": "https://ris.example/study/7"}
            else:
                data = document_data(command, order_id)
            # One at a time: five writes failing at once would open the circuit breaker (five
            # failures in a row), and the command that opened it waits for ONCOR instead of
            # taking its one delayed retry (seen in CI: the retry count one short).
            outcome = await consumer.bus.outcome(await consumer.bus.send(command, data))
            assert outcome.routing_key == f"command.succeeded.{command}", outcome.event
            documents = await consumer.admin.documents(order_ids[command])
            if command == "order.associate-dicom":
                assert documents == []
                order = await consumer.admin.order(order_ids[command])
                assert len(order["status_history"]) == 1
            else:
                [document] = documents
                assert outcome.event["data"]["record_id"] == document["id"]
        calls = Counter(call["path"] for call in await consumer.admin.calls())
        assert all(calls[path] == 1 for path in WRITES.values()), calls
        assert calls["attachment/create"] == 1
    for command in WRITES:
        assert metric("dezo_command_retries_total", command=command) == retries_before[command] + 1
