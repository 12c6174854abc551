"""The chart's memory limit and /tmp size follow the adapter's budgets (README, Resource limits):
for the default values and the production example alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from adapter.config import load_settings

HELM = Path(__file__).resolve().parents[2] / "helm"
#: The process itself, idle, with its libraries (measured about 100 MiB), and some headroom.
PROCESS_BYTES = 128 * 2**20
_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(text: str) -> int:
    return int(text[:-2]) * _UNITS[text[-2:]]


def values(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


@pytest.mark.parametrize(
    "overrides", [None, HELM / "values-production.yaml"], ids=["defaults", "production"]
)
def test_memory_limit_and_tmp_hold_the_budgets(overrides: Path | None) -> None:
    chart = values(HELM / "dezo-adapter" / "values.yaml")
    release = {**chart, **(values(overrides) if overrides else {})}
    config = {
        name.removeprefix("DEZO_").lower(): value for name, value in release["config"].items()
    }
    settings = load_settings(oncor_token="t", **config)
    memory = quantity(release["resources"]["limits"]["memory"])
    tmp = quantity(release["tmp"]["sizeLimit"])
    assert memory >= PROCESS_BYTES + settings.command_memory_budget_bytes
    assert tmp >= settings.attachment_spool_max_bytes
