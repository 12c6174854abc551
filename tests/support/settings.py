"""Settings for a service run in the test's own process, against the emulator and a vhost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapter.config import Settings, load_settings
from adapter.emulator.process import EmulatorProcess


def settings_for(
    emulator: EmulatorProcess, amqp_url: str, defaults: Mapping[str, Any], **overrides: Any
) -> Settings:
    """`defaults` then `overrides` on top of what reaches this emulator and broker."""
    reach = {"oncor_url": emulator.api_url, "oncor_token": emulator.token, "amqp_url": amqp_url}
    return load_settings(**{**reach, **defaults, **overrides})
