"""How each delivery is settled: forwarded, deferred, announced, dead-lettered or retried, and
acked only after every publish was confirmed."""

from __future__ import annotations

import aio_pika
import pytest
from aio_pika.exceptions import DeliveryError
from pamqp.commands import Basic

from adapter.bus.topology import DEAD_EXCHANGE, EVENTS_EXCHANGE, partition_of, partition_queue_name
from adapter.consumer import deliveries as deliveries_module
from adapter.consumer.deliveries import CommandDeliveries
from adapter.oncor.errors import OncorCircuitOpen, OncorUnavailable
from tests.support.commands import document_data
from tests.support.consumer_parts import RETRY_BUDGET, deliveries
from tests.support.memory_bus import FakeDelivery, MemoryBus, command_delivery, delivery
from tests.support.memory_oncor import MemoryOncor

ADD = "tm66/order/addRcTm66OrderConclusion"
PARTITIONS = 4


async def wired() -> tuple[MemoryOncor, MemoryBus, CommandDeliveries, str]:
    oncor, bus = MemoryOncor(), MemoryBus()
    order_id = oncor.add_order().id or ""
    desk = await deliveries(oncor, bus, PARTITIONS)
    oncor.calls.clear()  # the dictionaries, loaded before any command is taken
    return oncor, bus, desk, order_id


def on_partition(fake: FakeDelivery, attempt: int = 0) -> FakeDelivery:
    """The adapter's copy of a command, as its partition queue delivers it."""
    fake.headers = {"x-dezo-routing-key": fake.routing_key, "x-dezo-attempt": attempt}
    fake.exchange, fake.routing_key = "", partition_queue_name(0)
    return fake


def conclusion(order_id: str, **properties: object) -> FakeDelivery:
    return command_delivery(
        "order.conclusion",
        document_data("order.conclusion", order_id),
        **properties,  # type: ignore[arg-type]
    )


async def test_valid_command_on_the_intake_is_forwarded_to_its_orders_partition() -> None:
    oncor, bus, desk, order_id = await wired()
    fake = conclusion(order_id)
    await desk.on_intake(delivery(fake))
    [forwarded] = bus.published
    assert (forwarded.exchange, forwarded.routing_key) == (
        "",
        partition_queue_name(partition_of(order_id, PARTITIONS)),
    )
    assert forwarded.message.body == fake.body
    assert forwarded.headers["x-dezo-routing-key"] == "order.conclusion"
    assert fake.settled == "ack"
    assert oncor.calls == []  # the intake never calls ONCOR


async def test_forwarded_copy_drops_headers_an_integrator_forged() -> None:
    _, bus, desk, order_id = await wired()
    await desk.on_intake(
        delivery(conclusion(order_id, headers={"x-dezo-attempt": 5, "trace": "t"}))
    )
    [forwarded] = bus.published
    assert "x-dezo-attempt" not in forwarded.headers
    assert forwarded.headers["trace"] == "t"


async def test_unreadable_command_with_an_id_is_dead_lettered_and_announced_failed() -> None:
    _, bus, desk, _ = await wired()
    fake = FakeDelivery(b'{"id": "cmd-5"}', "order.conclusion", reply_to="integrator.replies")
    await desk.on_intake(delivery(fake))
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
    await desk.on_intake(delivery(fake))
    assert [sent.exchange for sent in bus.published] == [DEAD_EXCHANGE]
    assert fake.settled == "ack"


async def test_command_from_a_foreign_exchange_gets_no_outcome() -> None:
    _, bus, desk, order_id = await wired()
    await desk.on_intake(delivery(conclusion(order_id, exchange="dezo.events")))
    [dead] = bus.published
    assert dead.exchange == DEAD_EXCHANGE
    assert dead.headers["x-dezo-reason"] == "foreign_exchange"


async def test_carried_out_command_is_announced_with_an_id_derived_from_the_command() -> None:
    oncor, bus, desk, order_id = await wired()
    fake = on_partition(conclusion(order_id, reply_to="integrator.replies"))
    await desk.on_command(delivery(fake))
    [succeeded] = bus.to(EVENTS_EXCHANGE, "command.succeeded.order.conclusion")
    assert succeeded.data["record_id"] == oncor.documents(order_id)[0].id
    assert succeeded.message.correlation_id == "cmd-1"
    assert bus.to("", "integrator.replies")
    assert fake.settled == "ack"


async def test_resent_command_is_announced_again_with_the_same_event_id() -> None:
    oncor, bus, desk, order_id = await wired()
    await desk.on_command(delivery(on_partition(conclusion(order_id))))
    await desk.on_command(delivery(on_partition(conclusion(order_id))))
    first, second = bus.to(EVENTS_EXCHANGE)
    assert first.event["id"] == second.event["id"]
    assert len(oncor.documents(order_id)) == 1


async def test_redelivered_command_goes_to_the_handover_queue_untouched() -> None:
    oncor, bus, desk, order_id = await wired()
    fake = on_partition(conclusion(order_id, redelivered=True), attempt=2)
    await desk.on_command(delivery(fake))
    [deferred] = bus.published
    assert (deferred.exchange, deferred.routing_key) == ("", bus.handover_queue)
    assert deferred.headers["x-dezo-attempt"] == 2
    assert oncor.calls == [] and fake.settled == "ack"


async def test_failed_command_is_dead_lettered_and_announced() -> None:
    _, bus, desk, order_id = await wired()
    data = document_data("order.conclusion", order_id, conclusion_code="999")
    fake = on_partition(command_delivery("order.conclusion", data), attempt=1)
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
    await desk.on_command(delivery(on_partition(conclusion(order_id), attempt=1)))
    [retry] = bus.published
    assert retry.routing_key == bus.retry_queue(2)
    assert retry.headers["x-dezo-attempt"] == 2


async def test_open_circuit_parks_the_command_in_the_first_retry_queue_keeping_its_budget() -> None:
    oncor, bus, desk, order_id = await wired()
    oncor.fail("add_conclusion", OncorCircuitOpen(ADD))
    await desk.on_command(delivery(on_partition(conclusion(order_id), attempt=RETRY_BUDGET)))
    [parked] = bus.published
    assert parked.routing_key == bus.retry_queue(1)
    assert parked.headers["x-dezo-attempt"] == RETRY_BUDGET


async def test_command_is_given_back_unacked_when_a_publish_is_not_confirmed() -> None:
    _, bus, desk, order_id = await wired()
    bus.refuse_publishes = ConnectionError("channel closed")
    fake = on_partition(conclusion(order_id))
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
    desk = await deliveries(oncor, bus, PARTITIONS)
    fake = on_partition(conclusion(order_id), attempt=0)
    fake.redelivered = True  # a hand-over: only the publish to the hand-over queue is at stake

    await desk.on_command(delivery(fake))

    assert fake.settled == "ack"
    assert bus.refusals == 0
    assert [p.routing_key for p in bus.published] == [bus.handover_queue]


async def test_outcome_event_id_differs_between_success_and_failure_of_one_command() -> None:
    _, bus, desk, order_id = await wired()
    bad = document_data("order.conclusion", order_id, conclusion_code="999")
    await desk.on_command(delivery(on_partition(command_delivery("order.conclusion", bad))))
    await desk.on_command(delivery(on_partition(conclusion(order_id))))
    failed, succeeded = bus.to(EVENTS_EXCHANGE)
    assert failed.event["id"] != succeeded.event["id"]
