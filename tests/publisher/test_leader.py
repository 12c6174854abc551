"""Leader election on the `dezo.poller.leadership` queue, with two replicas in one process."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import unquote, urlsplit

import pytest

from adapter.bus.connection import Bus
from adapter.publisher.leader import Leadership
from tests.support.broker import Broker
from tests.support.waiting import eventually


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


class Candidate:
    """One replica's part in the election, as `OrderPublisher.run` plays it."""

    def __init__(self, bus: Bus, *, handover_wait: float = 0.0, **options: float) -> None:
        self.leadership = Leadership(bus, handover_wait=handover_wait, **options)
        self._electing: asyncio.Task[None] | None = None

    @property
    def held(self) -> bool:
        return self.leadership.held

    async def join(self) -> None:
        self._electing = asyncio.create_task(self.leadership.take_part())
        await self.leadership.ensure_token()

    async def leave(self) -> None:
        await self.leadership.close()
        if self._electing is not None:
            await self._electing


async def first_leads(replicas: tuple[Bus, Bus], **options: float) -> tuple[Candidate, Candidate]:
    """Two candidates joined in turn: the first leads, the second stands by."""
    first, second = Candidate(replicas[0], **options), Candidate(replicas[1], **options)
    await first.join()
    await eventually(_holds(first), within=5)
    await second.join()
    return first, second


def _holds(leadership: Candidate) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return leadership.held

    return check


async def test_one_replica_leads_and_the_token_passes_on_when_it_steps_down(
    replicas: tuple[Bus, Bus],
) -> None:
    first, second = await first_leads(replicas, handover_wait=30.0)
    await asyncio.sleep(0.3)
    assert not second.held
    assert first.leadership.quiet_until <= time.monotonic(), "a fresh token had no leader before"

    await first.leave()
    await eventually(_holds(second), within=5)
    assert not first.held
    assert second.leadership.quiet_until <= time.monotonic(), "the former leader stepped down"
    await second.leave()


async def test_a_leader_taking_over_from_a_lost_one_waits_out_its_status_updates(
    replicas: tuple[Bus, Bus], amqp_url: str, broker: Broker
) -> None:
    first, second = await first_leads(replicas, handover_wait=30.0)

    await asyncio.to_thread(_close_connection, broker, amqp_url, "replica-a")
    await eventually(_holds(second), within=5)
    # The token came back from a lost leader: its status updates may still land.
    assert second.leadership.quiet_until > time.monotonic() + 25
    await second.leave()
    await first.leave()


async def test_a_replica_restored_after_losing_its_connection_leads_only_on_a_fresh_delivery(
    replicas: tuple[Bus, Bus], amqp_url: str, broker: Broker
) -> None:
    first, second = await first_leads(replicas)

    await asyncio.to_thread(_close_connection, broker, amqp_url, "replica-a")
    await eventually(_holds(second), within=5)
    await eventually(lambda: _ready(replicas[0]), within=10)
    await eventually(lambda: _consuming(first), within=10)
    assert not first.held, "the re-registered consumer got no token: it must not think it leads"
    assert second.held

    await second.leave()  # the token comes back to the re-registered replica
    await eventually(_holds(first), within=5)
    await first.leave()


async def _consuming(candidate: Candidate) -> bool:
    return candidate.leadership.consuming


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
    first, second = await first_leads(replicas, renew_after=0.2)

    for _ in range(30):  # 1.5 s: several renewals
        assert first.held and not first.leadership.lost.is_set()
        assert not second.held
        await asyncio.sleep(0.05)

    renewals = [r for r in caplog.records if r.getMessage() == "poller leadership token renewed"]
    assert len(renewals) >= 3
    await first.leave()
    await second.leave()
