"""The README tells the truth about configuration and starts with the two commands."""

from __future__ import annotations

import re

from adapter.config import ENV_PREFIX, Settings
from tests.support.processes import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table() -> None:
    documented = set(re.findall(r"^\| `(DEZO_[A-Z_]+)` \|", README, re.M))
    assert documented == {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}


def test_readme_opens_with_exactly_two_commands() -> None:
    opening = README.split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", opening, re.S)
    assert len(commands) == 2
    assert "dezo-adapter demo" in commands[0]
    assert commands[1].strip() == "bash .ci/test"
    assert "bash .ci/test" in (ROOT / ".ci" / "run").read_text()
