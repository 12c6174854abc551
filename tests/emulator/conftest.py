"""A real emulator server over HTTP, started once for the tests in this directory."""

from collections.abc import Iterator

import httpx
import pytest

from adapter.emulator.options import EmulatorOptions
from adapter.emulator.process import EmulatorProcess, start_emulator_process
from tests.emulator.api_calls import TOKEN_HEADER


@pytest.fixture(scope="package")
def emulator_process() -> Iterator[EmulatorProcess]:
    with start_emulator_process(EmulatorOptions(port=0, orders=3)) as emulator:
        yield emulator


@pytest.fixture(scope="package")
def http() -> Iterator[httpx.Client]:
    """A plain client, made once: building one costs tens of milliseconds."""
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture(scope="package")
def admin_client(emulator_process: EmulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_process.base_url + "/admin/", timeout=10) as client:
        yield client


@pytest.fixture(scope="package")
def api_client(emulator_process: EmulatorProcess) -> Iterator[httpx.Client]:
    headers = {TOKEN_HEADER: emulator_process.token}
    with httpx.Client(base_url=emulator_process.api_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def admin_http(admin_client: httpx.Client) -> Iterator[httpx.Client]:
    """The admin API (raw HTTP) of an emulator emptied for this test."""
    admin_client.post("reset").raise_for_status()
    yield admin_client
    admin_client.post("reset").raise_for_status()


@pytest.fixture
def api(api_client: httpx.Client, admin_http: httpx.Client) -> httpx.Client:
    """The ONCOR API, with the token, of an emulator emptied for this test."""
    return api_client
