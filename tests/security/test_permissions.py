"""The three broker users of the chart's `brokerUsers`, created in a test vhost with exactly
those regexes: the adapter does its whole job, an integrator sends commands and reads events
but cannot publish events (no forged orders or outcomes) nor bypass the commands exchange,
an operator reads the dead letters. Every event carries app_id and the broker-checked user_id."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aio_pika
import pytest
import yaml
from aio_pika.exceptions import AMQPChannelError

from adapter.bus.topology import COMMANDS_EXCHANGE, EVENTS_EXCHANGE
from adapter.emulator.process import EmulatorProcess
from tests.support.broker import Broker
from tests.support.commands import command_body
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.processes import adapter_env, adapter_process, dezo_adapter, wait_until_ready

VALUES = Path(__file__).resolve().parents[2] / "helm" / "dezo-adapter" / "values.yaml"


@dataclass
class BrokerUser:
    role: str
    user: str
    url: str


def broker_users() -> dict[str, dict[str, str]]:
    users: dict[str, dict[str, str]] = yaml.safe_load(VALUES.read_text())["brokerUsers"]
    return users


@pytest.fixture
def users(broker: Broker, amqp_url: str) -> Iterator[dict[str, BrokerUser]]:
    """The chart's three users in this test's vhost, under unique names, deleted afterwards."""
    vhost = unquote(urlsplit(amqp_url).path[1:])
    suffix = uuid.uuid4().hex[:8]
    made: dict[str, BrokerUser] = {}
    try:
        for role, spec in broker_users().items():
            name, password = f"{spec['user']}-{suffix}", secrets.token_hex(8)
            broker.ctl("add_user", name, password)
            made[role] = BrokerUser(role, name, _with_login(amqp_url, name, password))
            broker.ctl(
                "set_permissions", "-p", vhost, name, spec["configure"], spec["write"], spec["read"]
            )
        yield made
    finally:
        for user in made.values():
            broker.ctl("delete_user", user.user)


def _with_login(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port}"))


@pytest.fixture
async def integrator_channel(users: dict[str, BrokerUser]) -> AsyncIterator[Any]:
    connection = await aio_pika.connect(users["integrators"].url)
    try:
        yield connection
    finally:
        await connection.close()


async def first_message(queue: Any, within: float = 30) -> Any:
    async with asyncio.timeout(within), queue.iterator() as messages:
        async for message in messages:
            return message
    raise AssertionError("the queue closed")


async def refused(connection: Any, exchange: str, routing_key: str) -> bool:
    """Publishing there as this user is refused by the broker (403 ACCESS_REFUSED)."""
    channel = await connection.channel(publisher_confirms=True)
    message = aio_pika.Message(b'{"forged": true}', delivery_mode=2)
    try:
        target = (
            channel.default_exchange
            if exchange == ""
            else await channel.get_exchange(exchange, ensure=False)
        )
        await target.publish(message, routing_key=routing_key)
        await asyncio.sleep(0.2)  # a refusal closes the channel asynchronously
        return channel.is_closed
    except AMQPChannelError:  # ChannelClosed, or aiormq's ChannelAccessRefused
        return True


async def test_each_broker_user_may_do_its_job_and_an_integrator_cannot_forge_events(
    emulator: EmulatorProcess,
    users: dict[str, BrokerUser],
    integrator_channel: Any,
    tmp_path: Path,
) -> None:
    adapter, operator = users["adapter"], users["operators"]
    admin = EmulatorAdmin(emulator)
    [order_id] = await admin.new_orders(1)
    env = adapter_env(emulator, adapter.url)
    with (
        adapter_process(env, tmp_path / "adapter.log", "run", "--role", "consumer"),
    ):
        await asyncio.to_thread(wait_until_ready, env)

        # The integrator: its own queue for events, a server-named one for replies.
        channel = await integrator_channel.channel(publisher_confirms=True)
        events = await channel.declare_queue("ris.events", exclusive=True)
        await events.bind(EVENTS_EXCHANGE, routing_key="command.#")
        replies = await channel.declare_queue("", exclusive=True)
        data = {"order_id": order_id, "ris_dicom": "https://ris.example.org/study/7"}
        command_id, body = command_body("order.associate-dicom", data)
        commands = await channel.get_exchange(COMMANDS_EXCHANGE, ensure=False)
        await commands.publish(
            aio_pika.Message(body, message_id=command_id, reply_to=replies.name),
            routing_key="order.associate-dicom",
        )
        for queue in (events, replies):
            outcome = await first_message(queue)
            assert outcome.correlation_id == command_id
            assert outcome.app_id == "dezo-adapter"
            assert outcome.user_id == adapter.user  # checked by the broker: not forgeable

        assert await refused(integrator_channel, EVENTS_EXCHANGE, "order.received")
        assert await refused(integrator_channel, EVENTS_EXCHANGE, "command.succeeded.x")
        assert await refused(integrator_channel, "", "dezo.commands")  # around the exchange
        listed = await asyncio.to_thread(
            subprocess.run,
            dezo_adapter("dead", "list"),
            env={"DEZO_AMQP_URL": operator.url, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0 and "0 dead letter(s)" in listed.stdout, listed.stderr
        operator_connection = await aio_pika.connect(operator.url)
        try:
            assert await refused(operator_connection, EVENTS_EXCHANGE, "order.received")
        finally:
            await operator_connection.close()
    await admin.close()
