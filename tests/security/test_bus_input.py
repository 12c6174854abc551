"""Ids, routing keys and headers as an attacker may set them (issue 12): an id too long for
AMQP, a type published under another command's routing key, and forged `x-dezo-*` headers."""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika

from adapter.bus.topology import COMMANDS_EXCHANGE, COMMANDS_QUEUE, EVENTS_EXCHANGE
from adapter.emulator.process import EmulatorProcess
from tests.support.commands import command_body, document_data
from tests.support.running_consumer import BusObserver, running_consumer


async def publish(
    bus: BusObserver, routing_key: str, body: bytes, headers: dict[str, Any], message_id: str | None
) -> None:
    exchange = await bus.channel.get_exchange(COMMANDS_EXCHANGE)
    message = aio_pika.Message(body, headers=headers, message_id=message_id, delivery_mode=2)
    await exchange.publish(message, routing_key=routing_key)


async def test_a_200_cyrillic_letter_id_gets_exactly_one_failed_outcome_and_no_document(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    command_id = "я" * 200  # 400 bytes: over AMQP's 255-byte short strings
    async with running_consumer(emulator, amqp_url) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        data = document_data("order.conclusion", order_id)
        _, body = command_body("order.conclusion", data, command_id)
        await publish(consumer.bus, "order.conclusion", body, {}, message_id=None)

        async def outcomes() -> list[dict[str, Any]]:
            return [
                seen.event
                for seen in consumer.bus.events
                if seen.event["data"].get("command_id") == command_id
            ]

        for _ in range(300):
            if await outcomes():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # a second outcome, or a redelivery, would show by now
        [failed] = await outcomes()
        assert failed["data"]["problem"] == "id_too_long"
        assert "400 bytes" in failed["data"]["message"]
        [dead] = consumer.bus.dead
        assert dead.headers["x-dezo-reason"] == "id_too_long"
        assert await consumer.admin.documents() == []


async def test_a_reject_published_as_a_conclusion_is_refused_even_with_a_forged_header(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    async with running_consumer(emulator, amqp_url) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        await consumer.admin.clear_calls()
        command_id, body = command_body("order.reject", document_data("order.reject", order_id))
        forged = {"x-dezo-routing-key": "order.reject", "x-dezo-attempt": 1}
        await publish(consumer.bus, "order.conclusion", body, forged, message_id=command_id)

        failed = (await consumer.bus.outcome(command_id)).event["data"]
        assert (failed["reason"], failed["problem"]) == ("invalid", "routing_key_mismatch")
        assert "'order.conclusion'" in failed["message"] and "'order.reject'" in failed["message"]
        dead = await consumer.bus.dead_letter(command_id)
        assert dead.headers["x-dezo-routing-key"] == "order.conclusion"  # the real one
        assert await consumer.admin.calls() == []  # ONCOR never asked, let alone written to


async def test_a_forged_attempt_header_does_not_spend_the_retry_budget(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    async with running_consumer(emulator, amqp_url) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        await consumer.admin.faults(error_rate=1.0)
        command_id, body = command_body(
            "order.conclusion", document_data("order.conclusion", order_id)
        )
        forged = {"x-dezo-attempt": 99}  # believed, it would fail at once: budget spent
        await publish(consumer.bus, "order.conclusion", body, forged, message_id=command_id)
        await asyncio.sleep(1.5)  # past the in-process retries: on its first retry queue now
        assert not consumer.bus.outcomes_of(command_id)
        await consumer.admin.clear_faults()
        outcome = await consumer.bus.outcome(command_id)
        assert outcome.routing_key == "command.succeeded.order.conclusion", outcome.event


async def test_a_queue_bound_to_the_events_exchange_feeds_no_outcome_back(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    async with running_consumer(emulator, amqp_url) as consumer:
        # What write permission on `dezo.commands` (exchange and queue alike) allows.
        queue = await consumer.bus.channel.get_queue(COMMANDS_QUEUE, ensure=False)
        await queue.bind(EVENTS_EXCHANGE, routing_key="#")
        command_id = await consumer.bus.send(
            "order.reject", document_data("order.reject", "#1930:0", reason_code="НЕТ_ТАКОГО")
        )
        assert (await consumer.bus.outcome(command_id)).event["data"]["problem"] == "unknown_code"
        await asyncio.sleep(1.5)  # a feedback loop would have produced many more by now
        assert len(consumer.bus.events) == 1
        reasons = sorted(dead.headers["x-dezo-reason"] for dead in consumer.bus.dead)
        assert reasons == ["foreign_exchange", "unknown_code"]
