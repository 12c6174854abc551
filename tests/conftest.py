"""Shared fixtures: a real RabbitMQ (own vhost per test), the ONCOR emulator over real HTTP, its
admin API, and a file server. Session fixtures start only when a test asks for them: the fast
tests (tests/unit) ask for none, and run with no broker and no emulator.

Helpers live in the tests.support package, imported as such.

The broker is the one at $AMQP_URL (default: the local one); where a Docker engine exists and
$AMQP_URL is unset, a RabbitMQ container is started with testcontainers instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from adapter.emulator.options import EmulatorOptions
from adapter.emulator.process import EmulatorProcess, start_emulator_process
from tests.support.broker import Broker
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.files import FileServer

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
EMULATOR_TOKEN = "test-token"


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    url = os.environ.get("AMQP_URL")
    if url is None and _docker_available():
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management") as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(5672)
            yield Broker(
                f"amqp://guest:guest@{host}:{port}/",
                ["docker", "exec", container.get_wrapped_container().id, "rabbitmqctl"],
            )
        return
    yield Broker(url or DEFAULT_AMQP_URL, ["rabbitmqctl"])


@pytest.fixture
def amqp_url(broker: Broker) -> Iterator[str]:
    """A fresh virtual host for one test, deleted afterwards with everything in it."""
    vhost = f"test-{uuid.uuid4().hex[:12]}"
    broker.ctl("add_vhost", vhost)
    user = urlsplit(broker.url).username or "guest"
    broker.ctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    try:
        yield broker.vhost_url(vhost)
    finally:
        broker.ctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorProcess]:
    options = EmulatorOptions(port=0, orders=0, token=EMULATOR_TOKEN, job_ready_after=0.05)
    with start_emulator_process(options) as process:
        yield process


@pytest.fixture
def emulator(emulator_server: EmulatorProcess) -> Iterator[EmulatorProcess]:
    """The emulator, emptied and with no faults, for one test."""
    # No kept-alive connection: the test may idle past uvicorn's 5 s keep-alive, and a reset
    # after it would reuse a connection the server is closing (ECONNRESET, seen in a run).
    admin = httpx.Client(
        base_url=emulator_server.base_url, limits=httpx.Limits(max_keepalive_connections=0)
    )
    admin.post("/admin/reset").raise_for_status()
    admin.post("/admin/config", json={"job_ready_after": 0.05, "page_offset_mode": "page"})
    yield emulator_server
    admin.post("/admin/reset").raise_for_status()
    admin.close()


@pytest.fixture
async def admin(emulator: EmulatorProcess) -> AsyncIterator[EmulatorAdmin]:
    """The emptied emulator's admin API."""
    client = EmulatorAdmin(emulator)
    yield client
    await client.close()


@pytest.fixture(scope="session")
def file_server() -> Iterator[FileServer]:
    with FileServer() as server:
        yield server
