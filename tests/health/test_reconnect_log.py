"""While the broker cannot be reached, each attempt to reach it is one warning in the adapter's
words (attempt number, next delay, address without credentials); aiormq's and aio-pika's own
lines about the same attempt are folded into it, at the first connect and after a loss alike."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import pytest

from adapter.bus.address import broker_address
from adapter.bus.connection import Bus
from adapter.observability.logs import fold_connection_errors
from tests.support.gate import Gate
from tests.support.processes import free_port

RETRYING = "broker not reachable, retrying"


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    fold_connection_errors()  # as configure_logging does in `run` and `demo`
    caplog.set_level(logging.WARNING)
    return lambda: [record for record in caplog.records if record.levelno >= logging.WARNING]


async def attempts_logged(
    warnings: Callable[[], list[logging.LogRecord]], count: int, within: float, since: int = 0
) -> list[logging.LogRecord]:
    """The attempt lines logged after the first `since` warnings, once there are `count`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        retrying = [record for record in warnings()[since:] if record.getMessage() == RETRYING]
        if len(retrying) >= count:
            return retrying
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} attempts logged: {warnings()}")


@pytest.fixture
async def gate(amqp_url: str) -> AsyncIterator[Gate]:
    gate = Gate(amqp_url)
    await gate.open()
    yield gate
    await gate.shut()


async def test_each_failed_first_connect_is_one_line_with_attempt_delay_and_address(
    warnings: Callable[[], list[logging.LogRecord]],
) -> None:
    port = free_port()
    bus = Bus(f"amqp://guest:secret@127.0.0.1:{port}/", name="test-first-connect")
    connecting = asyncio.create_task(bus.connect())
    try:
        retrying = await attempts_logged(warnings, 3, within=15)
    finally:
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)

    assert [record.attempt for record in retrying[:3]] == [1, 2, 3]  # type: ignore[attr-defined]
    for record in retrying:
        assert record.broker == f"amqp://127.0.0.1:{port}/"  # type: ignore[attr-defined]
        assert record.retry_in >= 0  # type: ignore[attr-defined]
        assert "Connect call failed" in record.error  # type: ignore[attr-defined]
    assert {record.name for record in warnings()} == {"adapter.bus.connection"}
    assert all("secret" not in record.getMessage() for record in warnings())


async def test_each_failed_reconnect_after_a_loss_is_one_line_counted_from_one(
    gate: Gate, warnings: Callable[[], list[logging.LogRecord]]
) -> None:
    bus = Bus(gate.url, name="test-reconnect", reconnect_interval=0.2)
    await bus.connect()
    try:
        for _outage in range(2):
            before = len(warnings())
            await gate.shut()
            await attempts_logged(warnings, 3, within=15, since=before)
            await gate.open()
            await asyncio.wait_for(bus.wait_ready(), 15)

            during = warnings()[before:]
            retrying = [record for record in during if record.getMessage() == RETRYING]
            assert [record.attempt for record in retrying[:3]] == [1, 2, 3]  # type: ignore[attr-defined]
            assert {record.retry_in for record in retrying} == {0.2}  # type: ignore[attr-defined]
            assert {record.broker for record in retrying} == {  # type: ignore[attr-defined]
                f"amqp://127.0.0.1:{gate.port}{urlsplit(gate.url).path}"
            }
            others = [record for record in during if record.getMessage() != RETRYING]
            assert [record.getMessage() for record in others] == ["broker connection lost"]
    finally:
        await bus.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://guest:secret@127.0.0.1:5672/", "amqp://127.0.0.1:5672/"),
        ("amqps://svc:p%40ss@[::1]:5671/dezo?heartbeat=30", "amqps://[::1]:5671/dezo?heartbeat=30"),
        ("amqp://rabbitmq/", "amqp://rabbitmq/"),
    ],
)
def test_the_address_in_log_lines_carries_no_credentials(url: str, shown: str) -> None:
    assert broker_address(url) == shown
