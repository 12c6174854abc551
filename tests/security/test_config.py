"""Configuration an attacker or a slip could leave behind (issue 12): an empty token, credentials
in the ONCOR URL, and a broker address that accepts connections but speaks no AMQP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapter.config import ConfigError, load_settings
from tests.support.processes import adapter_process, free_port

GRACE = 2.0


@pytest.mark.parametrize("token", ["", "   ", "\t\n"])
def test_an_empty_or_blank_token_is_refused(token: str) -> None:
    with pytest.raises(ConfigError, match="DEZO_ONCOR_TOKEN"):
        load_settings(oncor_token=token)


@pytest.mark.parametrize("field", ["oncor_url", "oncor_ui_url"])
def test_credentials_in_the_oncor_url_are_refused_and_never_echoed(field: str) -> None:
    url = "https://robot:hunter2-secret@oncor.example.org/api/1.0/json/"
    with pytest.raises(ConfigError, match=f"DEZO_{field.upper()}") as refused:
        load_settings(oncor_token="t", **{field: url})
    assert "hunter2" not in str(refused.value) and "robot" not in str(refused.value)
    assert "credentials" in str(refused.value)


def test_the_adapter_stops_at_start_on_an_empty_token(tmp_path: Path) -> None:
    env = {"DEZO_ONCOR_TOKEN": "", "DEZO_HTTP_PORT": str(free_port())}
    with adapter_process(env, tmp_path / "adapter.log") as process:
        assert process.popen.wait(30) != 0
        assert "DEZO_ONCOR_TOKEN" in process.log_text()


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    closing = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not closing.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    closing.set()
    thread.join(5)
    for connection in held:
        connection.close()
    server.close()


@pytest.mark.parametrize("after", [0.5, 5.0])
def test_sigterm_ends_the_process_in_time_while_the_broker_speaks_no_amqp(
    silent_broker: int, tmp_path: Path, after: float
) -> None:
    env = {
        "DEZO_ONCOR_TOKEN": "t",
        "DEZO_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{silent_broker}/",
        "DEZO_HTTP_PORT": str(free_port()),
        "DEZO_SHUTDOWN_GRACE": str(GRACE),
    }
    with adapter_process(env, tmp_path / "adapter.log") as process:
        time.sleep(after)  # starting, or stuck in the AMQP handshake
        assert process.popen.poll() is None, process.log_text()
        sent = time.monotonic()
        process.stop("terminate", within=GRACE + 5)
        assert time.monotonic() - sent <= GRACE + 5
