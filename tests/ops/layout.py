"""Where the operations files live, and the external tools their tests need."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "helm" / "dezo-adapter"
ALERT_RULES = CHART_DIR / "files" / "alerts.yaml"
DASHBOARD = CHART_DIR / "files" / "dashboard.json"
PRODUCTION_VALUES = REPO_ROOT / "helm" / "values-production.yaml"
INVALID_VALUES = REPO_ROOT / "helm" / "values-invalid.yaml"
RABBITMQ_CLUSTER_VALUES = REPO_ROOT / "helm" / "values-rabbitmq-cluster.yaml"
RABBITMQ_CLUSTER = REPO_ROOT / "helm" / "rabbitmq-cluster.yaml"
ALERT_TESTS = Path(__file__).resolve().parent / "alerts_test.yaml"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

# shared/ sits beside the work tree; $COMPOSE_SPEC points elsewhere.
COMPOSE_SPEC = Path(
    os.environ.get("COMPOSE_SPEC", REPO_ROOT.parent / "shared" / "specs" / "compose-spec.json")
)


def promtool() -> str:
    """promtool's path; the test fails, saying how to get it, where it is missing."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not on PATH. It comes with Debian's prometheus package: "
            "apt-get install -y --no-install-recommends prometheus"
        )
    return path
