"""The command consumer through ONCOR outages: its ONCOR calls wait for the circuit to close,
its consumer pauses while it is open, and a command whose call gave up waiting goes round a
retry queue without spending budget; so an outage longer than the whole retry schedule, or a
flapping ONCOR, fails no command and writes no document twice."""

from __future__ import annotations

import asyncio

from adapter.emulator.process import EmulatorProcess
from tests.support.commands import document_data
from tests.support.metrics import metric
from tests.support.running_consumer import RunningConsumer, running_consumer

SUCCEEDED = "command.succeeded.order.conclusion"


async def send_conclusions(
    consumer: RunningConsumer, order_ids: list[str], every: float = 0.0
) -> list[str]:
    command_ids = []
    for order_id in order_ids:
        data = document_data("order.conclusion", order_id)
        command_ids.append(await consumer.bus.send("order.conclusion", data))
        await asyncio.sleep(every)
    return command_ids


async def each_succeeded_once(
    consumer: RunningConsumer, command_ids: list[str], order_ids: list[str], within: float
) -> None:
    """Every conclusion succeeded with one document for its order, and nothing was dead-lettered."""
    outcomes = [await consumer.bus.outcome(command, within=within) for command in command_ids]
    assert {outcome.routing_key for outcome in outcomes} == {SUCCEEDED}
    for order_id in order_ids:
        assert len(await consumer.admin.documents(order_id)) == 1
    assert consumer.bus.dead == []


async def test_an_outage_longer_than_the_whole_retry_schedule_fails_no_command(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    retries_before = metric("dezo_command_retries_total", command="order.conclusion")
    async with running_consumer(emulator, amqp_url) as consumer:
        order_ids = await consumer.admin.new_orders(10)
        # The schedule: four deliveries of 1 s of in-process retries each, with retry queues of
        # 0.2, 0.5 and 1 s in between: under 6 s in all.
        await consumer.admin.outage(down_for=8)
        command_ids = await send_conclusions(consumer, order_ids)
        await each_succeeded_once(consumer, command_ids, order_ids, within=30)
    # Only commands whose own calls ran into ONCOR before the circuit opened used a retry.
    assert metric("dezo_command_retries_total", command="order.conclusion") - retries_before <= 2


async def test_commands_sent_while_oncor_flaps_all_succeed_with_one_document_each(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    async with running_consumer(emulator, amqp_url) as consumer:
        order_ids = await consumer.admin.new_orders(12)
        await consumer.admin.outage(down_for=2, up_for=2)
        # arriving over 6 s: through two down phases and an up one
        command_ids = await send_conclusions(consumer, order_ids, every=0.5)
        await each_succeeded_once(consumer, command_ids, order_ids, within=30)


async def test_commands_whose_calls_outwait_the_outage_wait_are_parked_without_spending_budget(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    """A call gives up waiting for the circuit after DEZO_ONCOR_OUTAGE_WAIT; its command goes
    round a retry queue with its attempt count unchanged, and the consumer takes nothing while
    the circuit stays open: the outage delays the commands, it fails none."""
    retries_before = metric("dezo_command_retries_total", command="order.conclusion")
    async with running_consumer(
        emulator, amqp_url, oncor_outage_wait=0.5, command_retry_delays=(0.2,)
    ) as consumer:
        order_ids = await consumer.admin.new_orders(6)
        await consumer.admin.outage(down_for=6)
        command_ids = await send_conclusions(consumer, order_ids)
        await each_succeeded_once(consumer, command_ids, order_ids, within=40)
    # One delayed retry is the whole budget here: an outage that spent it would dead-letter.
    assert metric("dezo_command_retries_total", command="order.conclusion") - retries_before <= 1
