"""`dezo-adapter demo` with no broker to be had fails within seconds, in one line that names
the address it tried and the ways out, never looping on connection errors."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from adapter.local_broker import find_rabbitmq
from tests.support.processes import dezo_adapter, free_port, process_env

DEADLINE = 15.0


def path_without_rabbitmq() -> str:
    """$PATH less every directory holding a RabbitMQ script: a machine without RabbitMQ."""
    kept = [
        directory
        for directory in os.environ.get("PATH", "").split(os.pathsep)
        if not any((Path(directory) / name).exists() for name in ("rabbitmq-server", "rabbitmqctl"))
    ]
    path = os.pathsep.join(kept)
    assert find_rabbitmq(path) is None
    return path


def demo_without_broker(settings: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    env = process_env(
        {
            "PATH": path_without_rabbitmq(),
            "DOCKER_HOST": "unix:///nonexistent/docker.sock",  # no Docker engine either
            **settings,
        }
    )
    started = time.monotonic()
    finished = subprocess.run(
        dezo_adapter("demo", "--port", "0"),
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE + 15,
    )
    return finished, time.monotonic() - started


def assert_fails_fast_in_one_line(
    finished: subprocess.CompletedProcess[str], seconds: float, address: str
) -> None:
    output = finished.stdout + finished.stderr
    assert finished.returncode == 2, output
    assert seconds < DEADLINE, output
    assert len(output.splitlines()) == 1, output
    assert address in output
    assert "RabbitMQ" in output
    assert "apt-get install" in output
    assert "docker run" in output
    assert "DEZO_AMQP_URL" in output
    assert "error when creating transport" not in output
    assert "secret" not in output


def test_an_unreachable_dezo_amqp_url_fails_fast_with_the_ways_out() -> None:
    port = free_port()
    finished, seconds = demo_without_broker(
        {"DEZO_AMQP_URL": f"amqp://guest:secret@127.0.0.1:{port}/"}
    )
    assert_fails_fast_in_one_line(finished, seconds, f"amqp://127.0.0.1:{port}/")


def test_no_broker_at_the_default_address_and_none_to_start_fails_fast() -> None:
    # DEZO_DEMO_DEFAULT_AMQP_URL stands in for 127.0.0.1:5672, where this machine's shared
    # broker must keep running.
    port = free_port()
    finished, seconds = demo_without_broker(
        {"DEZO_DEMO_DEFAULT_AMQP_URL": f"amqp://guest:secret@127.0.0.1:{port}/"}
    )
    assert_fails_fast_in_one_line(finished, seconds, f"amqp://127.0.0.1:{port}/")
