"""The demo's event display on a broker the adapter has not declared anything on yet: it must
not depend on the adapter declaring `dezo.events` first (a race the demo once lost, showing no
order at all)."""

from __future__ import annotations

import asyncio

import aio_pika
import pytest
from aio_pika.exceptions import AMQPError

from adapter.bus.topology import EVENTS_EXCHANGE, TopologySettings
from adapter.demo import _watch
from tests.support.waiting import eventually


async def test_the_demo_shows_events_on_a_broker_nothing_was_declared_on(
    amqp_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    watcher = asyncio.create_task(_watch(amqp_url, TopologySettings()))
    connection = await aio_pika.connect(amqp_url)
    try:
        await eventually(
            lambda: _routed(connection), within=10, what="an event routed to the demo's queue"
        )
        await eventually(lambda: _shown(capsys), within=5, what="the event shown", every=0.05)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await connection.close()


async def _routed(connection: aio_pika.abc.AbstractConnection) -> bool:
    """Published to `dezo.events` and routed to a queue (mandatory, confirmed)."""
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    try:
        exchange = await channel.get_exchange(EVENTS_EXCHANGE, ensure=True)
        await exchange.publish(
            aio_pika.Message(b'{"subject": "#1:0"}'), "order.received", mandatory=True
        )
    except AMQPError:
        return False  # no exchange yet, or nothing bound to it (NO_ROUTE)
    finally:
        if not channel.is_closed:
            await channel.close()
    return True


def _shown(capsys: pytest.CaptureFixture[str]) -> bool:
    return "order.received" in capsys.readouterr().out
