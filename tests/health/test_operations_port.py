"""The operations port: served while its context is open, and a taken port named at start."""

from __future__ import annotations

import socket

import httpx
import pytest

from adapter.config import ConfigError
from adapter.observability.health import Health, health_server
from tests.support.processes import free_port


async def test_the_port_answers_the_checks_while_open_and_is_closed_after() -> None:
    health, port = Health(), free_port()
    health.add_readiness("broker_connected", lambda: False)
    async with health_server(health, port), httpx.AsyncClient() as client:
        alive = await client.get(f"http://127.0.0.1:{port}/healthz")
        ready = await client.get(f"http://127.0.0.1:{port}/readyz")
        scraped = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert (alive.status_code, alive.json()) == (200, {"alive": True, "checks": {}})
    assert ready.status_code == 503
    assert ready.json() == {"ready": False, "checks": {"broker_connected": False}}
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "dezo_ready" in scraped.text
    with socket.socket() as again:
        again.bind(("0.0.0.0", port))  # released


async def test_a_taken_port_fails_the_start_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"DEZO_HTTP_PORT: cannot listen on {port}"):
            async with health_server(Health(), port):
                pass
