"""The fast layer reaches nothing outside the process: a test that tries fails at once."""

from __future__ import annotations

import socket
from typing import Any

import pytest


def _refused(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a unit test tried to reach the network")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _refused)
    monkeypatch.setattr(socket.socket, "connect_ex", _refused)
    monkeypatch.setattr(socket, "getaddrinfo", _refused)
