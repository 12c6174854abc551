"""Every metric the dashboard and the alert rules name is one the adapter exports: first against
the metrics module's registry, then against /metrics of a real `dezo-adapter run`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import aio_pika
import httpx
import pytest

from adapter.bus.topology import EVENTS_EXCHANGE, ORDER_RECEIVED
from adapter.emulator.process import EmulatorProcess
from tests.ops.layout import ALERT_RULES, DASHBOARD
from tests.support.processes import AdapterProcess, adapter_env, adapter_process, free_port
from tests.support.waiting import wait_until

# Every adapter metric is called dezo_*; nothing else in these files is.
METRIC_NAME = re.compile(r"\bdezo_[a-z0-9_]+\b")
# The series a family of each type adds to its name in the text exposition format.
SERIES_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def metrics_in_use() -> dict[str, set[str]]:
    """Metric names the dashboard and the alert rules use (anywhere: queries, descriptions)."""
    used: dict[str, set[str]] = {}
    for path in (DASHBOARD, ALERT_RULES):
        for name in METRIC_NAME.findall(path.read_text()):
            used.setdefault(name, set()).add(path.name)
    return used


def exported_names(exposition: str) -> set[str]:
    """Every series name a /metrics page offers, from its `# HELP` and `# TYPE` lines."""
    families: dict[str, str] = {}
    for line in exposition.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            _, keyword, name, *rest = line.split(maxsplit=3)
            if keyword == "TYPE":
                families[name] = rest[0].strip() if rest else "untyped"
            else:
                families.setdefault(name, "untyped")
    names = set(families)
    for name, kind in families.items():
        names.update(name + suffix for suffix in SERIES_SUFFIXES.get(kind, ()))
        # prometheus_client names a counter's family with _total already; OpenMetrics does not
        if kind == "counter" and not name.endswith("_total"):
            names.add(name + "_total")
    return names


def assert_all_exported(exposition: str) -> None:
    exported = exported_names(exposition)
    missing = {name: files for name, files in metrics_in_use().items() if name not in exported}
    assert missing == {}, f"used but not exported: {missing}"


def test_metric_name_search_finds_the_dashboards_and_alerts_metrics() -> None:
    used = metrics_in_use()
    assert used["dezo_oncor_request_duration_seconds_bucket"] == {"dashboard.json"}
    assert used["dezo_ready"] == {"dashboard.json", "alerts.yaml"}


def test_dashboard_and_alerts_use_only_metrics_the_adapter_defines() -> None:
    import prometheus_client

    import adapter.observability.metrics  # noqa: F401  (registers every metric)

    assert_all_exported(prometheus_client.generate_latest(prometheus_client.REGISTRY).decode())


# --- against a running adapter ------------------------------------------------------------------


def wait_for(failure: str, check: Callable[[], bool], process: AdapterProcess) -> None:
    """Until `check()` holds (refused connections count as not yet); fails if the adapter
    exits first, with the end of its log."""

    def holds() -> bool:
        if (code := process.popen.poll()) is not None:
            pytest.fail(f"the adapter exited with {code}:\n{process.log_text()[-4000:]}")
        try:
            return check()
        except httpx.TransportError:
            return False  # not listening yet

    try:
        wait_until(holds, within=30, every=0.2, what=failure)
    except AssertionError as failed:
        pytest.fail(f"{failed}; the adapter's log ends:\n{process.log_text()[-4000:]}")


LAST_POLL = "dezo_poll_last_success_timestamp_seconds"


async def subscribe_to_orders(amqp_url: str) -> None:
    """A downstream queue for order.received: the publisher marks no order nobody receives."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        events = await channel.get_exchange(EVENTS_EXCHANGE)  # declared by the adapter
        queue = await channel.declare_queue("ops-test.orders", durable=True)
        await queue.bind(events, routing_key=ORDER_RECEIVED)


def sample(exposition: str, name: str) -> float | None:
    match = re.search(rf"^{name} (\S+)$", exposition, re.MULTILINE)
    return float(match.group(1)) if match else None


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_running_adapter_exports_every_metric_the_dashboard_and_alerts_use(
    emulator: EmulatorProcess, amqp_url: str, tmp_path: Path
) -> None:
    port = free_port()
    ops = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
    admin = httpx.Client(base_url=emulator.base_url, timeout=5)
    env = adapter_env(emulator, amqp_url, http_port=port, poll_interval=1, shutdown_grace=5)
    with (
        adapter_process(env, tmp_path / "adapter.log", stop="terminate") as process,
        ops,
        admin,
    ):
        wait_for("/readyz answering 200", lambda: ops.get("/readyz").status_code == 200, process)
        asyncio.run(subscribe_to_orders(amqp_url))
        admin.post("/admin/orders", json={"count": 3}).raise_for_status()
        wait_for(
            "a polling cycle succeeding",
            lambda: (sample(ops.get("/metrics").text, LAST_POLL) or 0) > 0,
            process,
        )
        assert_all_exported(ops.get("/metrics").text)


def test_exported_names_follow_the_exposition_format() -> None:
    exposition = "\n".join(
        [
            "# HELP dezo_a_total A counter",
            "# TYPE dezo_a_total counter",
            "# HELP dezo_b_seconds A histogram",
            "# TYPE dezo_b_seconds histogram",
            "# TYPE dezo_c gauge",
            "# TYPE dezo_d counter",  # OpenMetrics style: the family without _total
        ]
    )
    assert exported_names(exposition) == {
        "dezo_a_total",
        "dezo_b_seconds",
        "dezo_b_seconds_bucket",
        "dezo_b_seconds_sum",
        "dezo_b_seconds_count",
        "dezo_c",
        "dezo_d",
        "dezo_d_total",
    }
