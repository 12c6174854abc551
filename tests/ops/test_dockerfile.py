"""The Dockerfile's promises, read without Docker (there is no engine to build with here)."""

from __future__ import annotations

import json
import re

from tests.ops.layout import DOCKERFILE, DOCKERIGNORE

# Backslash-continued lines joined into one instruction each.
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n", " ", DOCKERFILE.read_text()).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def stages() -> list[list[str]]:
    found: list[list[str]] = []
    for instruction in INSTRUCTIONS:
        if instruction.startswith("FROM "):
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def final_stage() -> list[str]:
    return stages()[-1]


def arguments(keyword: str) -> list[str]:
    """The JSON (exec) form of the final stage's last `keyword` instruction."""
    instruction = [i for i in final_stage() if i.startswith(keyword + " ")][-1]
    return list(json.loads(instruction.removeprefix(keyword + " ")))


def test_image_is_built_in_two_stages_from_slim_python_311() -> None:
    assert len(stages()) == 2
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in INSTRUCTIONS
    assert stages()[0][0] == "FROM ${PYTHON_IMAGE} AS builder"
    assert final_stage()[0] == "FROM ${PYTHON_IMAGE}"


def test_final_stage_only_copies_the_built_venv_and_installs_nothing() -> None:
    copies = [i for i in final_stage() if i.startswith(("COPY ", "ADD "))]
    assert copies == ["COPY --from=builder /opt/venv /opt/venv"]
    runs = " ".join(i for i in final_stage() if i.startswith("RUN "))
    assert not re.search(r"\b(pip|apt-get|apt|gcc|build-essential)\b", runs)


def test_image_runs_as_an_unprivileged_numeric_user() -> None:
    users = [i for i in final_stage() if i.startswith("USER ")]
    assert users == ["USER 10001:10001"]  # numeric, so runAsNonRoot can verify it


def test_image_runs_the_adapter_and_checks_healthz_without_curl() -> None:
    assert arguments("ENTRYPOINT") == ["dezo-adapter"]
    assert arguments("CMD") == ["run"]
    healthcheck = next(i for i in final_stage() if i.startswith("HEALTHCHECK "))
    probe = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert probe[:2] == ["python", "-c"]
    assert "urllib.request" in probe[2] and "/healthz" in probe[2] and "9100" in probe[2]


def test_build_context_holds_everything_the_dockerfile_copies() -> None:
    """.dockerignore admits only what the wheel is built from; each COPY source must be in it."""
    admitted = {
        line.removeprefix("!").rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.startswith("!")
    }
    assert "*" in DOCKERIGNORE.read_text().splitlines()  # everything else stays out
    sources = {
        source
        for instruction in INSTRUCTIONS
        if instruction.startswith("COPY ") and "--from=" not in instruction
        for source in instruction.split()[1:-1]
    }
    assert sources and sources <= admitted
