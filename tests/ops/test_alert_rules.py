"""The alert rules file, checked by Prometheus' own promtool: syntax, and unit tests in
alerts_test.yaml that make each alert fire, and stay quiet, on made-up series."""

from __future__ import annotations

import subprocess

import yaml

from tests.ops.layout import ALERT_RULES, ALERT_TESTS, promtool

SEVERITIES = {"critical", "warning"}


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_alert_rules_pass_promtool_check() -> None:
    result = run_promtool("check", "rules", str(ALERT_RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_fires_and_stays_quiet_as_its_unit_tests_say() -> None:
    result = run_promtool("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested() -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(ALERT_RULES.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = {
        case["alertname"]
        for test in yaml.safe_load(ALERT_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert alerts == tested


def test_every_alert_says_how_bad_what_and_where_to_look() -> None:
    for group in yaml.safe_load(ALERT_RULES.read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
            assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["alert"]
