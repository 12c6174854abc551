"""`dezo-adapter demo` where RabbitMQ is installed but nothing answers at the default address:
it starts a node of its own, announces the sample orders on it, and removes it when stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import pytest

from adapter.bus.topology import COMMANDS_QUEUE
from adapter.local_broker import find_rabbitmq
from tests.support.processes import dezo_adapter, free_port, process_env

pytestmark = pytest.mark.skipif(
    find_rabbitmq() is None, reason="rabbitmq-server and rabbitmqctl are not on PATH"
)

ORDERS = 3
ANNOUNCED = re.compile(
    r"started a private node (?P<node>\S+) \(pid (?P<pid>\d+)\) at amqp://127\.0\.0\.1:(?P<port>\d+)/"
    r", files in (?P<directory>\S+);"
)


@dataclass
class Demo:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace")

    def wait_for(self, pattern: re.Pattern[str], count: int, within: float) -> list[re.Match[str]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = list(pattern.finditer(self.output()))
            if len(found) >= count:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(
            f"not {count} x {pattern.pattern!r} within {within} s:\n{self.output()}\n"
            + self.stderr.read_text(errors="replace")[-3000:]
        )


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    # DEZO_DEMO_DEFAULT_AMQP_URL stands in for 127.0.0.1:5672, where this machine's shared
    # broker must keep running; DEZO_AMQP_URL is unset (process_env drops the shell's DEZO_*).
    env = process_env(
        {
            "DEZO_DEMO_DEFAULT_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}/",
            "DEZO_POLL_INTERVAL": "0.5",
            "DEZO_HTTP_PORT": "0",
        }
    )
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            dezo_adapter("demo", "--port", "0", "--orders", str(ORDERS)),
            env=env,
            stdout=out,
            stderr=err,
        )
    running = Demo(process, stdout, stderr)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)
        _remove_leftovers(running.output())


def _remove_leftovers(output: str) -> None:
    """After a failed test, what the demo should have removed, so no node outlives the test."""
    announced = ANNOUNCED.search(output)
    if announced is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(int(announced["pid"]), signal.SIGKILL)
    shutil.rmtree(announced["directory"], ignore_errors=True)


async def has_the_adapters_topology(amqp_url: str) -> bool:
    """The node is the demo's broker: the adapter declared its command queue there."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(COMMANDS_QUEUE, passive=True)  # raises when missing
    return True


def port_refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def group_gone(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_announces_orders_on_a_node_it_started_and_removes_it_when_stopped(
    demo: Demo, stop: signal.Signals
) -> None:
    (announced,) = demo.wait_for(ANNOUNCED, 1, within=30)
    node_pid, port, directory = (
        int(announced["pid"]),
        int(announced["port"]),
        announced["directory"],
    )
    assert port != 5672
    assert Path(directory).is_dir()
    assert not group_gone(node_pid)

    orders = demo.wait_for(re.compile(r"^order\.received\s+(#\S+)", re.M), ORDERS, within=30)
    assert {order[1] for order in orders} == {f"#1930:{number}" for number in range(ORDERS)}

    assert asyncio.run(has_the_adapters_topology(f"amqp://guest:guest@127.0.0.1:{port}/"))

    demo.process.send_signal(stop)
    assert demo.process.wait(30) == 0, demo.stderr.read_text(errors="replace")[-3000:]
    assert group_gone(node_pid), "the node's processes outlived the demo"
    assert not Path(directory).exists(), "the node's files outlived the demo"
    assert port_refuses(port)
