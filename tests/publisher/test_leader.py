"""Leader election on the `dezo.poller.leader` queue, with two replicas in one process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import unquote, urlsplit

import pytest

from adapter.bus.connection import Bus
from adapter.publisher.leader import Leadership
from tests.conftest import Broker
from tests.publisher.conftest import eventually


@pytest.fixture
async def replicas(amqp_url: str) -> AsyncIterator[tuple[Bus, Bus]]:
    buses = (
        Bus(amqp_url, name="replica-a", reconnect_interval=0.3),
        Bus(amqp_url, name="replica-b", reconnect_interval=0.3),
    )
    for bus in buses:
        await bus.connect()
    yield buses
    for bus in buses:
        await bus.close()


def _holds(leadership: Leadership) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return leadership.held

    return check


async def test_one_replica_leads_and_the_token_passes_on_when_it_steps_down(
    replicas: tuple[Bus, Bus],
) -> None:
    first, second = Leadership(replicas[0]), Leadership(replicas[1])
    await first.start()
    await eventually(_holds(first), within=5)
    await second.start()
    await asyncio.sleep(0.3)
    assert not second.held

    await first.close()
    await eventually(_holds(second), within=5)
    assert not first.held
    await second.close()


async def test_a_replica_restored_after_losing_its_connection_leads_only_on_a_fresh_delivery(
    replicas: tuple[Bus, Bus], amqp_url: str, broker: Broker
) -> None:
    first, second = Leadership(replicas[0]), Leadership(replicas[1])
    await first.start()
    await eventually(_holds(first), within=5)
    await second.start()

    await asyncio.to_thread(_close_connection, broker, amqp_url, "replica-a")
    await eventually(_holds(second), within=5)
    await eventually(lambda: _ready(replicas[0]), within=10)
    await asyncio.sleep(0.5)  # aio-pika has restored the channel and its consumer by now
    assert not first.held, "the restored consumer got no token: it must not think it leads"
    assert second.held

    await second.close()  # the token comes back to the restored replica
    await eventually(_holds(first), within=5)
    await first.close()


async def _ready(bus: Bus) -> bool:
    return bus.ready


def _close_connection(broker: Broker, amqp_url: str, name: str) -> None:
    vhost = unquote(urlsplit(amqp_url).path[1:])
    listing = broker.ctl(
        "list_connections", "-q", "--no-table-headers", "pid", "vhost", "client_properties"
    )
    for line in listing.splitlines():
        pid, connection_vhost, properties = line.split("\t", 2)
        if connection_vhost == vhost and f'"{name}"' in properties:
            broker.ctl("close_connection", pid, "test")
            return
    raise AssertionError(f"no connection named {name} in {listing}")


async def test_leader_renews_its_token_before_the_consumer_timeout_and_keeps_leading(
    replicas: tuple[Bus, Bus], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="adapter.publisher.leader")
    first = Leadership(replicas[0], renew_after=0.2)
    second = Leadership(replicas[1], renew_after=0.2)
    await first.start()
    await eventually(_holds(first), within=5)
    await second.start()

    for _ in range(30):  # 1.5 s: several renewals
        assert first.held and not first.lost.is_set()
        assert not second.held
        await asyncio.sleep(0.05)

    renewals = [r for r in caplog.records if r.getMessage() == "poller leadership token renewed"]
    assert len(renewals) >= 3
    await first.close()
    await second.close()
