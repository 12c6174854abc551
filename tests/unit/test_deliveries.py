"""How each delivery is settled: carried out and announced, deferred, dead-lettered or
retried, and acked only after every publish was confirmed."""

from __future__ import annotations

import aio_pika
import pytest
from aio_pika.exceptions import DeliveryError
from pamqp.commands import Basic

from adapter.bus.topology import (
    COMMANDS_QUEUE,
    DEAD_EXCHANGE,
    EVENTS_EXCHANGE,
    LEGACY_PARTITION_PREFIX,
)
from adapter.consumer import deliveries as deliveries_module
from adapter.consumer.deliveries import CommandDeliveries
from adapter.consumer.intake import read_command
from adapter.consumer.settlement import Settlement
from adapter.oncor.errors import OncorCircuitOpen, OncorUnavailable
from tests.support.commands import document_data
from tests.support.consumer_parts import RETRY_BUDGET, deliveries
from tests.support.memory_bus import FakeDelivery, MemoryBus, command_delivery, delivery
from tests.support.memory_oncor import MemoryOncor

ADD = "tm66/order/addRcTm66OrderConclusion"


async def wired() -> tuple[MemoryOncor, MemoryBus, CommandDeliveries, str]:
    oncor, bus = MemoryOncor(), MemoryBus()
    order_id = oncor.add_order().id or ""
    desk = await deliveries(oncor, bus)
    oncor.calls.clear()  # the dictionaries, loaded before any command is taken
    return oncor, bus, desk, order_id


def back_in_commands(fake: FakeDelivery, attempt: int = 0) -> FakeDelivery:
    """The adapter's copy of a command, back in `dezo.commands` through the default exchange
    (dead-lettered there by a retry or the hand-over queue)."""
    fake.headers = {"x-dezo-routing-key": fake.routing_key, "x-dezo-attempt": attempt}
    fake.exchange, fake.routing_key = "", COMMANDS_QUEUE
    return fake


def conclusion(order_id: str, **properties: object) -> FakeDelivery:
    return command_delivery(
        "order.conclusion",
        document_data("order.conclusion", order_id),
        **properties,  # type: ignore[arg-type]
    )


async def test_valid_command_from_the_exchange_is_carried_out_and_announced() -> None:
    oncor, bus, desk, order_id = await wired()
    fake = conclusion(order_id)
    await desk.on_command(delivery(fake))
    [document] = oncor.documents(order_id)
    [succeeded] = bus.published  # the outcome only: no copy of the command anywhere
    assert (succeeded.exchange, succeeded.routing_key) == (
        EVENTS_EXCHANGE,
        "command.succeeded.order.conclusion",
    )
    assert succeeded.data["record_id"] == document.id
    assert succeeded.data["order_id"] == order_id
    assert fake.settled == "ack"


async def test_adapter_headers_forged_on_the_exchange_are_ignored_and_dropped_from_the_retry() -> (
    None
):
    oncor, bus, desk, order_id = await wired()
    oncor.fail("add_conclusion", OncorUnavailable(ADD, "HTTP 503", maybe_applied=False))
    forged = {
        "x-dezo-attempt": RETRY_BUDGET + 2,  # believed, the budget would be spent: a failure
        "x-dezo-routing-key": "order.reject",
        "x-dezo-reason": "forged",
        "trace": "t",
    }
    fake = conclusion(order_id, headers=forged)
    await desk.on_command(delivery(fake))
    [retry] = bus.published
    assert (retry.exchange, retry.routing_key) == ("", bus.retry_queue(1))
    assert retry.headers["x-dezo-attempt"] == 1  # the first retry, not one past the budget
    assert retry.headers["x-dezo-routing-key"] == "order.conclusion"  # as it was published
    assert "x-dezo-reason" not in retry.headers
    assert retry.headers["trace"] == "t"  # headers not ours pass through
    assert fake.settled == "ack"


async def test_retry_copy_back_through_the_default_exchange_keeps_its_spent_budget() -> None:
    oncor, bus, desk, order_id = await wired()
    oncor.fail("add_conclusion", OncorUnavailable(ADD, "HTTP 503", maybe_applied=False))
    await desk.on_command(delivery(back_in_commands(conclusion(order_id), attempt=RETRY_BUDGET)))
    [dead] = bus.to(DEAD_EXCHANGE, "order.conclusion")  # its first routing key, trusted
    assert dead.headers["x-dezo-reason"] == "oncor_unavailable"
    [failed] = bus.to(EVENTS_EXCHANGE, "command.failed.order.conclusion")
    assert failed.data["problem"] == "oncor_unavailable"


async def test_unreadable_command_with_an_id_is_dead_lettered_and_announced_failed() -> None:
    _, bus, desk, _ = await wired()
    fake = FakeDelivery(b'{"id": "cmd-5"}', "order.conclusion", reply_to="integrator.replies")
    await desk.on_command(delivery(fake))
    [dead] = bus.to(DEAD_EXCHANGE)
    assert dead.headers["x-dezo-reason"] == "not_cloudevent"
    assert dead.headers["x-dezo-command-id"] == "cmd-5"
    [failed] = bus.to(EVENTS_EXCHANGE, "command.failed.order.conclusion")
    assert failed.data["problem"] == "not_cloudevent"
    [reply] = bus.to("", "integrator.replies")
    assert reply.event["id"] == failed.event["id"]
    assert fake.settled == "ack"


async def test_unreadable_command_without_an_id_is_only_dead_lettered() -> None:
    _, bus, desk, _ = await wired()
    fake = FakeDelivery(b"\xff", "order.conclusion")
    await desk.on_command(delivery(fake))
    assert [sent.exchange for sent in bus.published] == [DEAD_EXCHANGE]
    assert fake.settled == "ack"


async def test_command_from_a_foreign_exchange_gets_no_outcome() -> None:
    _, bus, desk, order_id = await wired()
    await desk.on_command(delivery(conclusion(order_id, exchange="dezo.events")))
    [dead] = bus.published
    assert dead.exchange == DEAD_EXCHANGE
    assert dead.headers["x-dezo-reason"] == "foreign_exchange"


async def test_carried_out_command_is_announced_with_an_id_derived_from_the_command() -> None:
    oncor, bus, desk, order_id = await wired()
    fake = back_in_commands(conclusion(order_id, reply_to="integrator.replies"))
    await desk.on_command(delivery(fake))
    [succeeded] = bus.to(EVENTS_EXCHANGE, "command.succeeded.order.conclusion")
    assert succeeded.data["record_id"] == oncor.documents(order_id)[0].id
    assert succeeded.message.correlation_id == "cmd-1"
    assert bus.to("", "integrator.replies")
    assert fake.settled == "ack"


async def test_resent_command_is_announced_again_with_the_same_event_id() -> None:
    oncor, bus, desk, order_id = await wired()
    await desk.on_command(delivery(back_in_commands(conclusion(order_id))))
    await desk.on_command(delivery(back_in_commands(conclusion(order_id))))
    first, second = bus.to(EVENTS_EXCHANGE)
    assert first.event["id"] == second.event["id"]
    assert len(oncor.documents(order_id)) == 1


async def test_redelivered_command_goes_to_the_handover_queue_untouched() -> None:
    oncor, bus, desk, order_id = await wired()
    fake = back_in_commands(conclusion(order_id, redelivered=True), attempt=2)
    await desk.on_command(delivery(fake))
    [deferred] = bus.published
    assert (deferred.exchange, deferred.routing_key) == ("", bus.handover_queue)
    assert deferred.headers["x-dezo-attempt"] == 2
    assert oncor.calls == [] and fake.settled == "ack"


async def test_failed_command_is_dead_lettered_and_announced() -> None:
    _, bus, desk, order_id = await wired()
    data = document_data("order.conclusion", order_id, conclusion_code="999")
    fake = back_in_commands(command_delivery("order.conclusion", data), attempt=1)
    await desk.on_command(delivery(fake))
    [dead] = bus.to(DEAD_EXCHANGE, "order.conclusion")
    assert dead.headers["x-dezo-reason"] == "unknown_code"
    assert "x-dezo-attempt" not in dead.headers  # a replay starts with a fresh budget
    [failed] = bus.to(EVENTS_EXCHANGE, "command.failed.order.conclusion")
    assert failed.data["reason"] == "invalid"
    assert fake.settled == "ack"


async def test_unavailable_oncor_sends_the_command_to_the_next_retry_queue() -> None:
    oncor, bus, desk, order_id = await wired()
    oncor.fail("add_conclusion", OncorUnavailable(ADD, "HTTP 503", maybe_applied=False))
    await desk.on_command(delivery(back_in_commands(conclusion(order_id), attempt=1)))
    [retry] = bus.published
    assert retry.routing_key == bus.retry_queue(2)
    assert retry.headers["x-dezo-attempt"] == 2


async def test_open_circuit_parks_the_command_in_the_first_retry_queue_keeping_its_budget() -> None:
    oncor, bus, desk, order_id = await wired()
    oncor.fail("add_conclusion", OncorCircuitOpen(ADD))
    await desk.on_command(delivery(back_in_commands(conclusion(order_id), attempt=RETRY_BUDGET)))
    [parked] = bus.published
    assert parked.routing_key == bus.retry_queue(1)
    assert parked.headers["x-dezo-attempt"] == RETRY_BUDGET


async def test_command_is_given_back_unacked_when_a_publish_is_not_confirmed() -> None:
    _, bus, desk, order_id = await wired()
    bus.refuse_publishes = ConnectionError("channel closed")
    fake = back_in_commands(conclusion(order_id))
    await desk.on_command(delivery(fake))
    assert fake.settled == "requeue"


class RefusingBus(MemoryBus):
    """The broker nacks the first `refusals` publishes, as a queue without quorum makes it."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def publish(
        self, exchange: str, routing_key: str, message: aio_pika.Message, *, mandatory: bool = True
    ) -> None:
        if self.refusals:
            self.refusals -= 1
            raise DeliveryError(None, Basic.Nack(delivery_tag=1))
        await super().publish(exchange, routing_key, message, mandatory=mandatory)


async def test_a_publish_the_broker_refuses_is_tried_again_with_the_delivery_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Giving the command back would spend one of its delivery attempts per refusal."""
    monkeypatch.setattr(deliveries_module, "REFUSED_PUBLISH_RETRY", 0.0)
    oncor, bus = MemoryOncor(), RefusingBus(refusals=7)
    order_id = oncor.add_order().id or ""
    desk = await deliveries(oncor, bus)
    fake = back_in_commands(conclusion(order_id), attempt=0)
    fake.redelivered = True  # a hand-over: only the publish to the hand-over queue is at stake

    await desk.on_command(delivery(fake))

    assert fake.settled == "ack"
    assert bus.refusals == 0
    assert [p.routing_key for p in bus.published] == [bus.handover_queue]


async def test_outcome_event_id_differs_between_success_and_failure_of_one_command() -> None:
    _, bus, desk, order_id = await wired()
    bad = document_data("order.conclusion", order_id, conclusion_code="999")
    await desk.on_command(delivery(back_in_commands(command_delivery("order.conclusion", bad))))
    await desk.on_command(delivery(back_in_commands(conclusion(order_id))))
    failed, succeeded = bus.to(EVENTS_EXCHANGE)
    assert failed.event["id"] != succeeded.event["id"]


def left_in_a_partition_queue(order_id: str, attempt: int) -> FakeDelivery:
    """A command an earlier release forwarded to its partition queue, as `basic.get` returns it
    there: published through the default exchange, with the adapter's own headers."""
    fake = conclusion(order_id, reply_to="integrator.replies")
    fake.headers = {
        "x-dezo-routing-key": fake.routing_key,
        "x-dezo-attempt": attempt,
        "x-delivery-count": 1,  # the broker's, not carried over to the copy
        "trace": "t",
    }
    fake.exchange, fake.routing_key = "", f"{LEGACY_PARTITION_PREFIX}3"
    return fake


async def test_move_back_copies_the_command_into_dezo_commands_through_the_default_exchange() -> (
    None
):
    bus = MemoryBus()
    fake = left_in_a_partition_queue("#30:1", attempt=2)
    await Settlement(bus).move_back(delivery(fake))
    [moved] = bus.published
    assert (moved.exchange, moved.routing_key) == ("", COMMANDS_QUEUE)
    assert moved.message.body == fake.body
    assert moved.message.message_id == "cmd-1"
    assert moved.message.reply_to == "integrator.replies"
    assert moved.message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert "x-delivery-count" not in moved.headers
    assert moved.headers["trace"] == "t"
    assert fake.settled is None  # the caller acks, once the copy is confirmed


async def test_move_back_keeps_the_adapters_own_headers_so_the_command_reads_as_sent() -> None:
    bus = MemoryBus()
    fake = left_in_a_partition_queue("#30:1", attempt=2)
    await Settlement(bus).move_back(delivery(fake))
    [moved] = bus.published
    assert moved.headers["x-dezo-routing-key"] == "order.conclusion"
    assert moved.headers["x-dezo-attempt"] == 2
    # as `dezo.commands` delivers it: its first routing key and its spent budget still hold
    back = FakeDelivery(
        moved.message.body,
        routing_key=COMMANDS_QUEUE,
        exchange="",
        headers=moved.headers,
        message_id=moved.message.message_id,
    )
    received = read_command(delivery(back), 256 * 1024)
    assert (received.name, received.attempt) == ("order.conclusion", 2)


async def test_every_settle_waits_for_its_subscription_first() -> None:
    # A lane being cancelled holds its settles back (bus.subscription): the ack, and a
    # command given back after a failure, both ask first.
    oncor, bus, desk, order_id = await wired()
    asked: list[str | None] = []

    async def before_settle(message: object) -> None:
        asked.append(fake.settled)  # still unsettled when asked

    desk.before_settle = before_settle
    fake = conclusion(order_id)
    await desk.on_command(delivery(fake))
    assert (asked, fake.settled) == ([None], "ack")

    asked.clear()
    bus.refuse_publishes = RuntimeError("channel gone")
    fake = conclusion(oncor.add_order().id or "")
    await desk.on_command(delivery(fake))
    assert (asked, fake.settled) == ([None], "requeue")
