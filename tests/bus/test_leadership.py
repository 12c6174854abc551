"""Leader election on a token queue (the poller's and the commands'), with two replicas in one
process."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import unquote, urlsplit

import pytest

from adapter.bus.connection import Bus
from adapter.bus.leadership import COMMANDS, POLLER, Leadership, NotHeld, Role
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
    """One replica's part in the election, as `OrderPublisher.run` and `CommandConsumer.run`
    play it."""

    def __init__(
        self, bus: Bus, *, role: Role = POLLER, handover_wait: float = 0.0, **options: float
    ) -> None:
        self.leadership = Leadership(
            bus, role, handover_wait=handover_wait, token_check=0.5, **options
        )
        self._electing: asyncio.Task[None] | None = None

    @property
    def held(self) -> bool:
        return self.leadership.held

    async def join(self) -> None:
        self._electing = asyncio.create_task(self.leadership.take_part())

    async def leave(self) -> None:
        await self.leadership.close()
        if self._electing is not None:
            await self._electing


async def first_leads(
    replicas: tuple[Bus, Bus], role: Role = POLLER, **options: float
) -> tuple[Candidate, Candidate]:
    """Two candidates joined in turn: the first leads, the second stands by."""
    first = Candidate(replicas[0], role=role, **options)
    second = Candidate(replicas[1], role=role, **options)
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
    caplog.set_level(logging.DEBUG, logger="adapter.bus.leadership")
    first, second = await first_leads(replicas, renew_after=0.2)

    for _ in range(30):  # 1.5 s: several renewals
        assert first.held and not first.leadership.lost.is_set()
        assert not second.held
        await asyncio.sleep(0.05)

    renewals = [r for r in caplog.records if r.getMessage() == "token renewed"]
    assert len(renewals) >= 3
    await first.leave()
    await second.leave()


async def test_the_commands_gate_opens_on_a_lost_owner_and_closes_after_the_hand_over(
    replicas: tuple[Bus, Bus], amqp_url: str, broker: Broker
) -> None:
    """The commands' token works as the poller's: the standby's gate stays open while the other
    owns the commands, and after a loss until the former owner's writes may have landed."""
    first, second = await first_leads(replicas, COMMANDS, handover_wait=1.0)
    gates = NotHeld(first.leadership), NotHeld(second.leadership)
    assert not gates[0].is_open and gates[1].is_open

    await asyncio.to_thread(_close_connection, broker, amqp_url, "replica-a")
    await eventually(_holds(second), within=5)
    assert gates[1].is_open, "a former owner's writes may still land"
    started = time.monotonic()
    await asyncio.wait_for(gates[1].wait_closed(), 5)
    assert time.monotonic() - started > 0.5
    assert not gates[1].is_open
    await second.leave()
    await first.leave()


async def test_a_lost_token_is_published_again_by_a_standby(replicas: tuple[Bus, Bus]) -> None:
    first, second = await first_leads(replicas, COMMANDS)
    await first.leave()  # steps down cleanly: the token goes on to the second
    await eventually(_holds(second), within=5)
    channel = await replicas[0].channel(publisher_confirms=False)
    await second.leave()
    queue = await channel.declare_queue(COMMANDS.queue, passive=True)
    await queue.purge()  # the token handed on is lost
    third = Candidate(replicas[0], role=COMMANDS)
    await third.join()
    await eventually(_holds(third), within=5)
    await channel.close()
    await third.leave()
