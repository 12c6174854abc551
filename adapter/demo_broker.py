"""The RabbitMQ the demo runs on, started by the demo itself when there is none.

    DEZO_AMQP_URL set             -> that broker; not answering within a few seconds -> NoBroker
    the local default answers     -> it
    rabbitmq-server on PATH       -> a private node of its own (adapter/local_broker.py)
    a Docker engine answers       -> a RabbitMQ container (adapter/broker_container.py)
    otherwise                     -> NoBroker: one line naming the three ways out

`DEZO_DEMO_DEFAULT_AMQP_URL` replaces the local default (`amqp://guest:guest@127.0.0.1:5672/`)
in this choice, and only here. Tests point it at a free port to stand for a machine with no
broker at the default address, since the shared machine they run on keeps its broker running.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Literal

import aio_pika
from aio_pika.exceptions import ProbableAuthenticationError

from adapter.broker_container import docker_reachable, rabbitmq_container
from adapter.bus.address import broker_address
from adapter.config import DEFAULT_AMQP_URL
from adapter.local_broker import LocalNode, NodeStartError, find_rabbitmq

DEFAULT_URL_VARIABLE = "DEZO_DEMO_DEFAULT_AMQP_URL"
#: How long a broker named by DEZO_AMQP_URL may take to answer (one just started, say).
GIVEN_GRACE = 6.0
ATTEMPT_TIMEOUT = 3.0
WAYS_OUT = (
    "install and start RabbitMQ (Debian/Ubuntu: sudo apt-get install -y rabbitmq-server), "
    "or run the official image with Docker (docker run -d -p 5672:5672 rabbitmq:3.13), "
    "or set DEZO_AMQP_URL to a broker you can reach"
)

Source = Literal["given", "default", "node", "container"]


class NoBroker(Exception):
    """The demo has no broker to run on; the message is the one line that says what to do."""


@dataclass(frozen=True)
class DemoBroker:
    amqp_url: str
    #: The one line saying which broker this is and whether the demo started it.
    announcement: str


def choose_source(
    *,
    given: bool,
    default_answers: Callable[[], bool],
    rabbitmq_installed: Callable[[], bool],
    docker_answers: Callable[[], bool],
) -> Source | None:
    """Where the demo's broker comes from; asks only what the answer depends on. A private
    node comes before a container: it starts in seconds and pulls no image."""
    if given:
        return "given"
    if default_answers():
        return "default"
    if rabbitmq_installed():
        return "node"
    if docker_answers():
        return "container"
    return None


@contextmanager
def demo_broker(environ: Mapping[str, str] = os.environ) -> Iterator[DemoBroker]:
    """The broker for the demo; one the demo started is stopped and removed when the block ends."""
    given = environ.get("DEZO_AMQP_URL")
    default = environ.get(DEFAULT_URL_VARIABLE, DEFAULT_AMQP_URL)
    source = choose_source(
        given=bool(given),
        default_answers=lambda: why_not_answering(default, grace=0) is None,
        rabbitmq_installed=lambda: find_rabbitmq(environ.get("PATH")) is not None,
        docker_answers=docker_reachable,
    )
    if source == "given":
        assert given is not None
        reason = why_not_answering(given, grace=GIVEN_GRACE)
        if reason is not None:
            raise NoBroker(
                f"cannot connect to RabbitMQ at {broker_address(given)}, set by DEZO_AMQP_URL"
                f" ({reason}); " + WAYS_OUT
            )
        yield DemoBroker(given, f"RabbitMQ: {broker_address(given)} (DEZO_AMQP_URL)")
    elif source == "default":
        yield DemoBroker(default, f"RabbitMQ: {broker_address(default)} (already running)")
    elif source == "node":
        with _private_node(environ) as broker:
            yield broker
    elif source == "container":
        with _container() as broker:
            yield broker
    else:
        raise NoBroker(
            f"cannot connect to RabbitMQ at {broker_address(default)}, and neither rabbitmq-server"
            " nor a Docker engine is here to start one; " + WAYS_OUT
        )


@contextmanager
def _private_node(environ: Mapping[str, str]) -> Iterator[DemoBroker]:
    install = find_rabbitmq(environ.get("PATH"))
    assert install is not None
    node = LocalNode(install)
    try:
        node.start()
    except NodeStartError as exc:
        raise NoBroker(f"could not start a private RabbitMQ node: {exc}") from None
    try:
        yield DemoBroker(
            node.amqp_url,
            f"RabbitMQ: started a private node {node.name} (pid {node.pid}) at"
            f" {broker_address(node.amqp_url)}, files in {node.directory};"
            " removed when the demo stops",
        )
    finally:
        with _signals_held():
            node.stop()


@contextmanager
def _container() -> Iterator[DemoBroker]:
    with ExitStack() as running:
        container = running.enter_context(rabbitmq_container())
        try:
            yield DemoBroker(
                container.amqp_url,
                f"RabbitMQ: started a Docker container {container.image} ({container.id}) at"
                f" {broker_address(container.amqp_url)}; removed when the demo stops",
            )
        finally:
            with _signals_held():
                running.close()


@contextmanager
def _signals_held() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM must not cut the broker's removal short and leave it behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def why_not_answering(amqp_url: str, grace: float) -> str | None:
    """None when a broker at `amqp_url` accepts a connection within `grace` seconds (one try
    when 0), else the last error."""
    return asyncio.run(_why_not_answering(amqp_url, grace))


async def _why_not_answering(amqp_url: str, grace: float) -> str | None:
    deadline = time.monotonic() + grace
    while True:
        remaining = deadline - time.monotonic()
        try:
            connection = await aio_pika.connect(
                amqp_url, timeout=max(min(ATTEMPT_TIMEOUT, remaining), 1.0)
            )
        except ProbableAuthenticationError as exc:  # it answered: waiting will not help
            return str(exc)
        except (TimeoutError, aio_pika.exceptions.AMQPError, OSError) as exc:
            if time.monotonic() + 1.0 >= deadline:
                return str(exc) or type(exc).__name__
            await asyncio.sleep(1.0)
        else:
            await connection.close()
            return None
