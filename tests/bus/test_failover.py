"""Several broker addresses: the bus connects to whichever answers, and when the node it is on
goes away it reconnects to the next one instead of waiting for that node to come back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aio_pika
import pytest

from adapter.bus.connection import Bus
from tests.support.gate import Gate
from tests.support.processes import free_port


@pytest.fixture
async def gates(amqp_url: str) -> AsyncIterator[list[Gate]]:
    """Two relays to the test broker, standing in for two nodes of a cluster."""
    opened = [Gate(amqp_url), Gate(amqp_url)]
    for gate in opened:
        await gate.open()
    yield opened
    for gate in opened:
        await gate.shut()


def port_of(bus: Bus) -> int | None:
    return bus.connection.url.port


async def ready_within(bus: Bus, seconds: float) -> float:
    started = time.monotonic()
    await asyncio.wait_for(bus.wait_ready(), seconds)
    return time.monotonic() - started


async def test_connects_to_a_node_that_answers(gates: list[Gate]) -> None:
    dead = f"127.0.0.1:{free_port()}"
    # whatever the shuffle puts first, the bus ends up on the one address that answers
    for _ in range(3):
        bus = Bus(f"{gates[0].url},{dead}", reconnect_interval=0.1)
        await asyncio.wait_for(bus.connect(), 10)
        assert port_of(bus) == gates[0].port
        await bus.close()


async def test_moves_to_the_next_node_when_its_node_goes_away(gates: list[Gate]) -> None:
    bus = Bus(f"{gates[0].url},127.0.0.1:{gates[1].port}", reconnect_interval=0.2)
    await bus.connect()
    try:
        first = next(gate for gate in gates if gate.port == port_of(bus))
        other = next(gate for gate in gates if gate is not first)
        await first.shut()  # and it stays shut: only the other node can take the bus back
        await asyncio.sleep(0.3)
        assert await ready_within(bus, 10) < 10
        assert port_of(bus) == other.port
        await bus.publish("dezo.events", "test", aio_pika.Message(b"confirmed"), mandatory=False)
    finally:
        await bus.close()


async def test_replicas_start_on_different_nodes(gates: list[Gate]) -> None:
    """The order is shuffled per process, so replicas do not all pile onto the first node."""
    urls = f"{gates[0].url},127.0.0.1:{gates[1].port}"
    seen = set()
    for _ in range(20):
        bus = Bus(urls)
        await bus.connect()
        seen.add(port_of(bus))
        await bus.close()
    assert seen == {gates[0].port, gates[1].port}


async def test_a_name_resolving_to_several_nodes_is_tried_address_by_address(
    gates: list[Gate], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One DNS name for the cluster (a headless Service, round-robin records): the connect
    goes on to the next address when the first refuses, as asyncio's create_connection does."""
    loop = asyncio.get_running_loop()
    resolve = loop.getaddrinfo
    dead = ("127.0.0.2", gates[0].port)  # loopback too, but nothing listens there

    async def nodes(host: object, port: object, *args: object, **kwargs: object) -> object:
        if host != "rabbitmq-nodes.test":
            return await resolve(host, port, *args, **kwargs)  # type: ignore[arg-type]
        found = await resolve("127.0.0.1", port, *args, **kwargs)  # type: ignore[arg-type]
        family, kind, protocol, name, _ = found[0]
        return [(family, kind, protocol, name, dead), *found]

    monkeypatch.setattr(loop, "getaddrinfo", nodes)
    path = gates[0].url.partition("@")[2].partition("/")[2]
    bus = Bus(f"amqp://guest:guest@rabbitmq-nodes.test:{gates[0].port}/{path}")
    await asyncio.wait_for(bus.connect(), 10)
    try:
        assert bus.ready
    finally:
        await bus.close()
