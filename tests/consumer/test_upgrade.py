"""Upgrading from the release with partition queues: what they still hold is carried out."""

from __future__ import annotations

import aio_pika
import pytest
from aiormq.exceptions import ChannelNotFoundEntity

from adapter.bus.headers import ROUTING_KEY_HEADER
from adapter.bus.topology import LEGACY_PARTITION_PREFIX
from adapter.emulator.process import EmulatorProcess
from tests.support.commands import command_body, document_data
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.running_consumer import running_consumer
from tests.support.waiting import eventually


async def left_in_partitions(amqp_url: str, order_ids: list[str]) -> list[str]:
    """Two partition queues as the earlier release declared them, one command forwarded into
    each as its intake did (through the default exchange, with the routing key in a header)."""
    command_ids = []
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        for index, order_id in enumerate(order_ids):
            queue = f"{LEGACY_PARTITION_PREFIX}{index}"
            await channel.declare_queue(
                queue,
                durable=True,
                arguments={"x-queue-type": "quorum", "x-single-active-consumer": True},
            )
            command_id, body = command_body(
                "order.conclusion", document_data("order.conclusion", order_id)
            )
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body,
                    message_id=command_id,
                    headers={ROUTING_KEY_HEADER: "order.conclusion"},
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=queue,
            )
            command_ids.append(command_id)
    return command_ids


async def partition_exists(amqp_url: str, index: int) -> bool:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        try:
            await channel.declare_queue(f"{LEGACY_PARTITION_PREFIX}{index}", passive=True)
        except ChannelNotFoundEntity:
            return False
        return True


@pytest.mark.timeout(60)
async def test_commands_left_in_old_partition_queues_are_carried_out_and_the_queues_go(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    admin = EmulatorAdmin(emulator)
    order_ids = await admin.new_orders(2)
    command_ids = await left_in_partitions(amqp_url, order_ids)
    async with running_consumer(emulator, amqp_url) as consumer:
        for command_id in command_ids:
            outcome = await consumer.bus.outcome(command_id)
            assert outcome.routing_key == "command.succeeded.order.conclusion", outcome.event

        async def partitions_gone() -> bool:
            return not any([await partition_exists(amqp_url, index) for index in (0, 1)])

        await eventually(partitions_gone, within=10, what="old partition queues deleted")
    for order_id in order_ids:
        assert len(await admin.documents(order_id)) == 1
    await admin.close()
