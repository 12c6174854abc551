"""The Grafana dashboard (helm/dezo-adapter/files/dashboard.json): what it shows, and that
Prometheus can run every query in it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.layout import DASHBOARD, promtool

DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# What Grafana puts in place of its variables before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$namespace": ".*", "$job": ".*"}

# What an operator of the adapter looks for, by the metric that shows it.
WATCHED = {
    "orders found": "dezo_orders_found_total",
    "orders published": "dezo_orders_published_total",
    "orders marked": "dezo_orders_marked_total",
    "poll lag": "dezo_poll_last_success_timestamp_seconds",
    "commands by type and outcome": "dezo_commands_total",
    "retries": "dezo_command_retries_total",
    "dead letters by reason": "dezo_dead_letters_total",
    "ONCOR latency percentiles": "dezo_oncor_request_duration_seconds_bucket",
    "ONCOR errors by status": "dezo_oncor_requests_total",
    "ONCOR circuit breaker state": "dezo_oncor_circuit_state",
    "time the ONCOR circuit was open": "dezo_oncor_circuit_open_seconds_total",
    "broker connection": "dezo_broker_connected",
    "readiness": "dezo_ready",
    "poller leader": "dezo_poller_leader",
    "order turnaround percentiles": "dezo_order_turnaround_seconds_bucket",
}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # inside collapsed rows


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [
        target["expr"]
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def test_dashboard_shows_what_operators_watch(dashboard: dict[str, Any]) -> None:
    shown = "\n".join(queries(dashboard))
    missing = {what: metric for what, metric in WATCHED.items() if metric not in shown}
    assert missing == {}


def test_dashboard_reads_from_the_chosen_prometheus_data_source(dashboard: dict[str, Any]) -> None:
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]


def test_dashboard_identity_is_stable(dashboard: dict[str, Any]) -> None:
    """A fixed uid keeps links and the provisioned copy the same dashboard across releases."""
    assert dashboard["uid"] == "dezo-adapter"
    assert dashboard["schemaVersion"] >= 39
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))


def test_every_dashboard_query_is_valid_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    """promtool parses each query (Grafana's variables filled in) as a recording rule."""
    rules = []
    for number, query in enumerate(queries(dashboard), start=1):
        for variable, value in GRAFANA_VARIABLES.items():
            query = query.replace(variable, value)
        assert "$" not in query, f"unknown Grafana variable in {query}"
        rules.append({"record": f"dashboard:query_{number}", "expr": query})
    rules_file = tmp_path / "dashboard-queries.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [promtool(), "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
