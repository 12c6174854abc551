"""A real emulator server, started once per test module, for tests that talk HTTP to it."""

from collections.abc import Iterator

import pytest

from adapter.emulator.process import EmulatorProcess, start_emulator_process
from adapter.emulator.server import EmulatorOptions


@pytest.fixture(scope="module")
def emulator_process() -> Iterator[EmulatorProcess]:
    with start_emulator_process(EmulatorOptions(port=0, orders=3)) as emulator:
        yield emulator
