"""The Helm chart, rendered by Helm's own engine (helm-python-sdk embeds it; no cluster, no
binary) and checked against the Kubernetes API schemas (kubernetes-validate, strict)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from adapter.bus.address import broker_urls
from adapter.config import Settings, load_settings
from tests.ops.layout import (
    ALERT_RULES,
    CHART_DIR,
    DASHBOARD,
    DOCKERFILE,
    INVALID_VALUES,
    PRODUCTION_VALUES,
    RABBITMQ_CLUSTER,
    RABBITMQ_CLUSTER_VALUES,
)

KUBERNETES_VERSION = "1.30"
RELEASE = "dezo-adapter"
NAMESPACE = "dezo"
# The only values without a default: the chart cannot invent credentials.
CREDENTIALS = {"secret": {"oncorToken": "test-token", "amqpUrl": "amqp://dezo:dezo@rabbitmq/"}}
# Custom resources of the Prometheus Operator: kubernetes-validate ships only the core API.
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}

Manifest = dict[str, Any]


def production_values() -> dict[str, Any]:
    return dict(yaml.safe_load(PRODUCTION_VALUES.read_text()))


def cluster_values() -> dict[str, Any]:
    return dict(yaml.safe_load(RABBITMQ_CLUSTER_VALUES.read_text()))


VALUE_SETS = {
    "defaults": CREDENTIALS,
    "production": production_values(),
    "rabbitmq-cluster": cluster_values(),
}


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict[str, Any]) -> list[Manifest]:
    """Every object the chart renders with these values, as Helm would install them."""
    rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    return [
        document
        for path, text in sorted(rendered.items())
        if path.endswith((".yaml", ".yml"))
        for document in yaml.safe_load_all(text)
        if document
    ]


def the(manifests: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and name in (None, m["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def kinds(manifests: list[Manifest]) -> set[str]:
    return {m["kind"] for m in manifests}


# --- Helm's own checks --------------------------------------------------------------------------


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_chart_lints_without_warnings(values: dict[str, Any]) -> None:
    report = helm.lint(CHART_DIR, values, strict=True, kube_version=f"v{KUBERNETES_VERSION}.0")
    # severity 1 is information (e.g. "icon is recommended"); 2 warning, 3 error
    findings = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and findings == []


def test_schema_refuses_invalid_values(chart: helm.Chart) -> None:
    invalid = yaml.safe_load(INVALID_VALUES.read_text())
    with pytest.raises(helm.HelmValuesError) as refused:
        chart.render(invalid, name=RELEASE, namespace=NAMESPACE)
    assert "/replicaCount" in str(refused.value)
    assert "DEZO_POLL_INTERVALL" in str(refused.value)


def test_chart_refuses_to_render_without_credentials(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match=r"secret\.oncorToken.*or existingSecret"):
        render(chart, {})


def test_chart_refuses_a_kill_before_the_shutdown_grace_ends(chart: helm.Chart) -> None:
    values = {**CREDENTIALS, "terminationGracePeriodSeconds": 30}
    with pytest.raises(helm.HelmRenderError, match=r"longer than config\.DEZO_SHUTDOWN_GRACE"):
        render(chart, values)


# --- Kubernetes' schemas ------------------------------------------------------------------------


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_rendered_objects_are_valid_kubernetes_objects(
    chart: helm.Chart, values: dict[str, Any]
) -> None:
    manifests = render(chart, values)
    assert {"Deployment", "ConfigMap", "Service", "PodDisruptionBudget", "NetworkPolicy"} <= (
        kinds(manifests)
    )
    for manifest in manifests:
        if manifest["kind"] in OPERATOR_KINDS:
            continue  # no schema shipped; their shape is checked in the monitoring tests below
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            pytest.fail(f"{manifest['kind']} {manifest['metadata']['name']}: {path}: {exc.message}")


# --- what the objects promise ------------------------------------------------------------------


def test_rollout_keeps_every_replica_until_its_successor_is_ready(chart: helm.Chart) -> None:
    default = the(render(chart, CREDENTIALS), "Deployment")
    assert default["spec"]["replicas"] == 2
    assert default["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    production = the(render(chart, production_values()), "Deployment")
    assert production["spec"]["replicas"] == 3


def test_pod_runs_as_the_images_user_with_nothing_writable_but_tmp(chart: helm.Chart) -> None:
    pod = the(render(chart, CREDENTIALS), "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    image_user = next(
        line.split()[1].split(":")[0]
        for line in DOCKERFILE.read_text().splitlines()
        if line.startswith("USER ")
    )
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(image_user)
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    (tmp,) = pod["volumes"]
    assert "emptyDir" in tmp
    assert container["volumeMounts"] == [{"name": tmp["name"], "mountPath": "/tmp"}]


def test_probes_ask_healthz_and_readyz_on_the_metrics_port(chart: helm.Chart) -> None:
    manifests = render(chart, CREDENTIALS)
    (container,) = the(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    (port,) = container["ports"]
    config = the(manifests, "ConfigMap", RELEASE)["data"]
    assert port == {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}
    assert config["DEZO_HTTP_PORT"] == "9100"
    (service_port,) = the(manifests, "Service")["spec"]["ports"]
    assert service_port["name"] == "metrics" and service_port["port"] == 9100


def test_termination_grace_outlasts_the_adapters_shutdown_grace(chart: helm.Chart) -> None:
    for values in VALUE_SETS.values():
        manifests = render(chart, values)
        pod = the(manifests, "Deployment")["spec"]["template"]["spec"]
        grace = float(the(manifests, "ConfigMap", RELEASE)["data"]["DEZO_SHUTDOWN_GRACE"])
        assert pod["terminationGracePeriodSeconds"] > grace


def test_configmap_values_are_read_by_the_adapter_as_written(
    chart: helm.Chart, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Helm turns YAML numbers into floats: 12582912 must not arrive as 1.2582912e+07."""
    config = the(render(chart, production_values()), "ConfigMap", RELEASE)["data"]
    assert config["DEZO_COMMAND_MAX_BYTES"] == "12582912"
    assert config["DEZO_COMMAND_RETRY_DELAYS"] == "[1,5,30,120,600]"
    for name, value in {**config, "DEZO_ONCOR_TOKEN": "test-token"}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.command_max_bytes == 12582912
    assert settings.command_retry_delays == (1.0, 5.0, 30.0, 120.0, 600.0)


def test_values_config_offers_exactly_the_adapters_non_secret_settings(
    chart: helm.Chart,
) -> None:
    schema = chart.schema
    assert schema is not None
    offered = set(schema["properties"]["config"]["properties"])
    non_secret = {
        f"DEZO_{field.upper()}"
        for field in Settings.model_fields
        if field not in {"oncor_token", "amqp_url", "http_port"}
    }
    assert offered == non_secret


def test_a_changed_setting_or_secret_rolls_the_pods(chart: helm.Chart) -> None:
    def annotations(values: dict[str, Any]) -> dict[str, str]:
        pod = the(render(chart, values), "Deployment")["spec"]["template"]
        return dict(pod["metadata"]["annotations"])

    base = annotations(CREDENTIALS)
    changed_config = annotations({**CREDENTIALS, "config": {"DEZO_LOG_LEVEL": "DEBUG"}})
    changed_token = annotations({"secret": {**CREDENTIALS["secret"], "oncorToken": "rotated"}})
    assert changed_config["checksum/config"] != base["checksum/config"]
    assert changed_token["checksum/secret"] != base["checksum/secret"]
    assert changed_token["checksum/config"] == base["checksum/config"]


def test_existing_secret_replaces_the_charts_secret(chart: helm.Chart) -> None:
    manifests = render(chart, production_values())
    assert "Secret" not in kinds(manifests)
    (container,) = the(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    secret_refs = {
        env["name"]: env["valueFrom"]["secretKeyRef"]
        for env in container["env"]
        if "valueFrom" in env
    }
    assert secret_refs == {
        "DEZO_ONCOR_TOKEN": {"name": "dezo-adapter-credentials", "key": "DEZO_ONCOR_TOKEN"},
        "DEZO_AMQP_URL": {"name": "dezo-adapter-credentials", "key": "DEZO_AMQP_URL"},
    }
    config = the(manifests, "ConfigMap", RELEASE)["data"]
    assert not {"DEZO_ONCOR_TOKEN", "DEZO_AMQP_URL"} & set(config)


def test_a_rabbitmq_cluster_is_reached_through_each_node_with_the_operators_secret(
    chart: helm.Chart, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = {
        "secret": {"oncorToken": "t"},
        "rabbitmqCluster": {"name": "rmq", "tls": {"enabled": True, "caSecret": "rmq-ca"}},
    }
    manifests = render(chart, values)
    assert "DEZO_AMQP_URL" not in the(manifests, "Secret")["stringData"]
    pod = the(manifests, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {entry["name"]: entry for entry in container["env"]}
    for variable, key in (("RABBITMQ_USERNAME", "username"), ("RABBITMQ_PASSWORD", "password")):
        assert env[variable]["valueFrom"]["secretKeyRef"] == {
            "name": "rmq-default-user",
            "key": key,
        }
    # Kubernetes puts the two variables, defined before it, into the URL
    url = env["DEZO_AMQP_URL"]["value"]
    url = url.replace("$(RABBITMQ_USERNAME)", "default_user_x").replace(
        "$(RABBITMQ_PASSWORD)", "pw"
    )
    mount = next(m for m in container["volumeMounts"] if m["name"] == "rabbitmq-ca")
    cafile = f"{mount['mountPath']}/ca.crt"
    assert broker_urls(url) == tuple(
        f"amqps://default_user_x:pw@rmq-server-{node}.rmq-nodes.{NAMESPACE}.svc:5671/?cafile={cafile}"
        for node in range(3)
    )
    volume = next(v for v in pod["volumes"] if v["name"] == "rabbitmq-ca")
    assert volume["secret"]["secretName"] == "rmq-ca"
    monkeypatch.setenv("DEZO_ONCOR_TOKEN", "t")
    monkeypatch.setenv("DEZO_AMQP_URL", url)
    assert load_settings().plaintext_endpoints == []


@pytest.mark.parametrize("source", ["configMap", "secret"])
def test_a_ca_bundle_is_mounted_and_trusted_through_ssl_cert_file(
    chart: helm.Chart, source: str
) -> None:
    values = {**CREDENTIALS, "caBundle": {source: "hospital-ca", "key": "bundle.pem"}}
    pod = the(render(chart, values), "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {entry["name"]: entry.get("value") for entry in container["env"]}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "ca-bundle")
    assert env["SSL_CERT_FILE"] == f"{mount['mountPath']}/bundle.pem" and mount["readOnly"]
    volume = next(v for v in pod["volumes"] if v["name"] == "ca-bundle")
    reference = (
        volume["configMap"]["name"] if source == "configMap" else volume["secret"]["secretName"]
    )
    assert reference == "hospital-ca"
    assert volume[source]["items"] == [{"key": "bundle.pem", "path": "bundle.pem"}]


def test_without_a_ca_bundle_the_images_public_cas_are_trusted(chart: helm.Chart) -> None:
    pod = the(render(chart, CREDENTIALS), "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "SSL_CERT_FILE" not in {entry["name"] for entry in container["env"]}
    assert "ca-bundle" not in {volume["name"] for volume in pod["volumes"]}


def test_the_production_example_trusts_its_ca_for_https_oncor_and_amqps(
    chart: helm.Chart,
) -> None:
    values = production_values()
    assert values["config"]["DEZO_ONCOR_URL"].startswith("https://")
    pod = the(render(chart, values), "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert any(entry["name"] == "SSL_CERT_FILE" for entry in container["env"])


def test_a_ca_bundle_is_named_once(chart: helm.Chart) -> None:
    with pytest.raises(
        helm.HelmRenderError, match=r"either caBundle\.configMap or caBundle\.secret"
    ):
        render(chart, {**CREDENTIALS, "caBundle": {"configMap": "a", "secret": "b"}})


def test_a_broker_is_named_once(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match=r"either secret\.amqpUrl or rabbitmqCluster"):
        render(chart, {**CREDENTIALS, "rabbitmqCluster": {"name": "rmq"}})


def test_the_example_cluster_is_the_one_the_example_values_point_at() -> None:
    cluster = yaml.safe_load(RABBITMQ_CLUSTER.read_text())
    pointed = cluster_values()["rabbitmqCluster"]
    assert cluster["kind"] == "RabbitmqCluster"
    assert cluster["metadata"]["name"] == pointed["name"]
    assert cluster["spec"]["replicas"] == pointed["replicas"]
    # TLS on, and the CA that signed its certificate handed to the adapter
    assert pointed["tls"]["enabled"] and cluster["spec"]["tls"]["disableNonTLSListeners"]
    assert cluster["spec"]["tls"]["secretName"] == pointed["tls"]["caSecret"]


def test_network_policy_admits_only_monitoring_and_lets_out_dns_broker_and_oncor(
    chart: helm.Chart,
) -> None:
    policy = the(render(chart, production_values()), "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = policy["ingress"]
    assert ingress["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    (source,) = ingress["from"]
    assert source["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    egress_ports = [
        {(port["port"], port["protocol"]) for port in rule["ports"]} for rule in policy["egress"]
    ]
    assert {(53, "UDP"), (53, "TCP")} in egress_ports
    assert {(5671, "TCP")} in egress_ports
    assert all("to" in rule for rule in policy["egress"])  # production narrows every peer


# --- monitoring ---------------------------------------------------------------------------------


def test_service_monitor_and_prometheus_rule_are_opt_in(chart: helm.Chart) -> None:
    assert not OPERATOR_KINDS & kinds(render(chart, CREDENTIALS))
    assert kinds(render(chart, production_values())) >= OPERATOR_KINDS


def test_service_monitor_scrapes_the_services_metrics_port(chart: helm.Chart) -> None:
    manifests = render(chart, production_values())
    monitor, service = the(manifests, "ServiceMonitor"), the(manifests, "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"


def test_prometheus_rule_carries_the_alert_rules_file(chart: helm.Chart) -> None:
    rule = the(render(chart, production_values()), "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"] == yaml.safe_load(ALERT_RULES.read_text())


def test_dashboard_configmap_carries_the_dashboard_file_for_grafanas_sidecar(
    chart: helm.Chart,
) -> None:
    default = the(render(chart, CREDENTIALS), "ConfigMap", f"{RELEASE}-dashboard")
    assert default["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert default["metadata"]["namespace"] == NAMESPACE
    (dashboard,) = default["data"].values()
    assert json.loads(dashboard) == json.loads(DASHBOARD.read_text())
    production = the(render(chart, production_values()), "ConfigMap", f"{RELEASE}-dashboard")
    assert production["metadata"]["namespace"] == "monitoring"


# --- tracing ------------------------------------------------------------------------------------


def test_spans_are_exported_to_the_otlp_endpoint_given_in_values_and_only_then(
    chart: helm.Chart,
) -> None:
    def environment(values: dict[str, Any]) -> dict[str, str]:
        (container,) = the(render(chart, values), "Deployment")["spec"]["template"]["spec"][
            "containers"
        ]
        return {item["name"]: item.get("value") for item in container["env"]}

    def egress_ports(values: dict[str, Any]) -> set[int]:
        policy = the(render(chart, values), "NetworkPolicy")["spec"]
        return {port["port"] for rule in policy["egress"] for port in rule["ports"]}

    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in environment(CREDENTIALS)
    assert 4318 not in egress_ports(CREDENTIALS)
    endpoint = "http://otel-collector.observability:4318"
    traced = {**CREDENTIALS, "tracing": {"otlpEndpoint": endpoint}}
    assert environment(traced)["OTEL_EXPORTER_OTLP_ENDPOINT"] == endpoint
    assert environment(traced)["OTEL_SERVICE_NAME"] == "dezo-adapter"
    assert 4318 in egress_ports(traced)
