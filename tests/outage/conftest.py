"""The emulator's admin API, for switching ONCOR down and reading what the adapter called."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapter.emulator.process import EmulatorProcess
from tests.emulator_admin import EmulatorAdmin


@pytest.fixture
async def admin(emulator: EmulatorProcess) -> AsyncIterator[EmulatorAdmin]:
    client = EmulatorAdmin(emulator)
    yield client
    await client.close()


async def refused_calls(admin: EmulatorAdmin) -> list[dict[str, Any]]:
    """The calls the emulator answered 503, in arrival order."""
    return [call for call in await admin.calls() if call["status"] == 503]
