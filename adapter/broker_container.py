"""A RabbitMQ container, through testcontainers, where a Docker engine answers.

testcontainers (the `demo` extra) also starts its reaper beside it, which removes the container
when this process goes, even by SIGKILL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

IMAGE = "rabbitmq:3.13"
AMQP_PORT = 5672
#: What the official image logs once it accepts connections (its guest may log in from outside).
STARTED = "Server startup complete"


@dataclass(frozen=True)
class RunningContainer:
    image: str
    id: str
    amqp_url: str


def docker_reachable() -> bool:
    """A Docker engine answers here, and testcontainers is installed to drive it."""
    try:
        import docker  # type: ignore[import-untyped]
        import testcontainers  # noqa: F401
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
    except docker.errors.DockerException:  # no socket, no DOCKER_HOST
        return False
    try:
        return bool(client.ping())
    except Exception:  # refused, timed out, an HTTP error: whichever, not an engine to use
        return False
    finally:
        client.close()


@contextmanager
def rabbitmq_container(image: str = IMAGE, timeout: int = 120) -> Iterator[RunningContainer]:
    """Run `image` until the block ends; yields once the broker accepts connections."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    container = (
        DockerContainer(image)
        .with_exposed_ports(AMQP_PORT)
        .waiting_for(LogMessageWaitStrategy(STARTED).with_startup_timeout(timeout))
    )
    with container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(AMQP_PORT)
        yield RunningContainer(
            image=image,
            id=container.get_wrapped_container().short_id,
            amqp_url=f"amqp://guest:guest@{host}:{port}/",
        )
