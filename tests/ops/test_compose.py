"""docker-compose.yml, checked without Docker: against the Compose specification's JSON Schema,
and for the few things that tie it to the adapter and the chart."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from adapter.bus.address import broker_urls
from adapter.config import Settings
from tests.ops.layout import ALERT_RULES, COMPOSE_FILE, COMPOSE_SPEC, DASHBOARD, REPO_ROOT


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE_FILE.read_text()))


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    if not COMPOSE_SPEC.is_file():
        pytest.skip(f"no Compose specification at {COMPOSE_SPEC} (set $COMPOSE_SPEC)")
    spec = json.loads(COMPOSE_SPEC.read_text())
    validator = jsonschema.Draft7Validator(spec)
    errors = [
        f"{'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(compose)
    ]
    assert errors == []


def test_compose_uses_the_charts_alert_rules_and_dashboard(compose: dict[str, Any]) -> None:
    """One copy of each: Prometheus and Grafana get the chart's files, not copies of them."""
    files = {
        (REPO_ROOT / config["file"]).resolve()
        for config in compose["configs"].values()
        if "file" in config
    }
    assert files == {ALERT_RULES, DASHBOARD}
    mounted = {
        config["source"]
        for service in compose["services"].values()
        for config in service.get("configs", [])
    }
    assert set(compose["configs"]) == mounted


def test_compose_adapter_is_configured_with_real_settings(compose: dict[str, Any]) -> None:
    environment = compose["services"]["adapter"]["environment"]
    known = {f"DEZO_{field.upper()}" for field in Settings.model_fields}
    # and OpenTelemetry's own variables, which the SDK reads
    assert {name for name in environment if not name.startswith("OTEL_")} - known == set()
    # the emulator accepts the very token the adapter sends
    emulator_command = compose["services"]["oncor-emulator"]["command"]
    token = emulator_command[emulator_command.index("--token") + 1]
    assert environment["DEZO_ONCOR_TOKEN"] == token


def test_compose_sends_the_adapters_traces_through_the_collector_to_jaeger(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    endpoint = services["adapter"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint == "http://otel-collector:4318"
    collector = yaml.safe_load(compose["configs"]["otel-collector-config"]["content"])
    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    [exporter] = collector["service"]["pipelines"]["traces"]["exporters"]
    assert collector["exporters"][exporter]["endpoint"] == "jaeger:4317"
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"


def test_compose_prometheus_scrapes_the_adapters_metrics_port(compose: dict[str, Any]) -> None:
    prometheus = yaml.safe_load(compose["configs"]["prometheus-config"]["content"])
    (job,) = prometheus["scrape_configs"]
    (targets,) = job["static_configs"]
    port = compose["services"]["adapter"]["environment"]["DEZO_HTTP_PORT"]
    assert targets["targets"] == [f"adapter:{port}"]
    rule_mount = next(
        config["target"]
        for config in compose["services"]["prometheus"]["configs"]
        if config["source"] == "dezo-alert-rules"
    )
    assert rule_mount.startswith("/etc/prometheus/rules/")
    assert prometheus["rule_files"] == ["/etc/prometheus/rules/*.yaml"]


def test_compose_adapter_starts_after_a_healthy_broker_and_emulator(
    compose: dict[str, Any],
) -> None:
    assert compose["services"]["adapter"]["depends_on"] == {
        "rabbitmq": {"condition": "service_healthy"},
        "oncor-emulator": {"condition": "service_healthy"},
        "rabbitmq-1": {"condition": "service_healthy", "required": False},
    }
    assert "rabbitmq-diagnostics" in compose["services"]["rabbitmq"]["healthcheck"]["test"]


CLUSTER_URL = "amqp://dezo:dezo@rabbitmq-1:5672/,rabbitmq-2:5672,rabbitmq-3:5672"


def test_compose_cluster_profile_makes_three_nodes_of_one_cluster(compose: dict[str, Any]) -> None:
    nodes = {
        name: service
        for name, service in compose["services"].items()
        if "cluster" in service.get("profiles", [])
    }
    assert set(nodes) == {"rabbitmq-1", "rabbitmq-2", "rabbitmq-3"}
    assert {node["hostname"] for node in nodes.values()} == set(nodes)
    # one cookie, for server and CLI alike
    cookies = set()
    for node in nodes.values():
        for variable in ("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "RABBITMQ_CTL_ERL_ARGS"):
            args = node["environment"][variable].split()
            cookies.add(args[args.index("-setcookie") + 1])
    assert len(cookies) == 1
    # each node its own data, so a restarted node is the node it was
    volumes = [node["volumes"][0].split(":")[0] for node in nodes.values()]
    assert len(set(volumes)) == 3 and set(volumes) <= set(compose["volumes"])
    config = compose["configs"]["rabbitmq-cluster"]["content"]
    listed = {
        line.split("=")[1].strip() for line in config.splitlines() if "classic_config.nodes" in line
    }
    assert listed == {f"rabbit@{name}" for name in nodes}
    assert all("rabbitmq-diagnostics" in node["healthcheck"]["test"] for node in nodes.values())


def test_compose_cluster_url_names_every_node(compose: dict[str, Any]) -> None:
    """The URL the README and the file's header give the adapter reaches all three nodes, as
    the user the nodes create."""
    assert CLUSTER_URL in COMPOSE_FILE.read_text().replace("\\\n", "")
    assert CLUSTER_URL in (REPO_ROOT / "README.md").read_text()
    nodes = [name for name, s in compose["services"].items() if "cluster" in s.get("profiles", [])]
    assert [url.split("@")[1].split(":")[0] for url in broker_urls(CLUSTER_URL)] == nodes
    user = compose["services"]["rabbitmq-1"]["environment"]["RABBITMQ_DEFAULT_USER"]
    password = compose["services"]["rabbitmq-1"]["environment"]["RABBITMQ_DEFAULT_PASS"]
    assert all(url.startswith(f"amqp://{user}:{password}@") for url in broker_urls(CLUSTER_URL))
    assert (
        "${DEZO_COMPOSE_AMQP_URL:-"
        in compose["services"]["adapter"]["environment"]["DEZO_AMQP_URL"]
    )
