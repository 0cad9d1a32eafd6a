"""The alert rules, the Alertmanager example and the dashboard, checked by their real tools.

One source of truth: the chart ships helm/files/alerts.yaml and helm/files/dashboard.json, and
deploy/prometheus/alerts.yaml and deploy/grafana/dashboard.json are symlinks to them. The rules
are checked by ``promtool check rules`` and unit-tested by ``promtool test rules``
(deploy/prometheus/alerts_test.yaml); the Alertmanager example by ``amtool check-config`` and
its routing by ``amtool config routes test``. Every metric and label the rules and the
dashboard name is one the daemon exports (scanner/daemon/metrics.py). The queries themselves
run against a real Prometheus in test_observability_e2e.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tools import PROMETHEUS_SCRIPT, require_tool

from scanner.daemon.metrics import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
CHART_FILES = ROOT / "helm" / "files"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
RULES_TEST = ROOT / "deploy" / "prometheus" / "alerts_test.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yaml"


def tool(name: str) -> str:
    """promtool's or amtool's path (the Debian Prometheus packages ship them)."""
    return require_tool(name, PROMETHEUS_SCRIPT)


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


# Family name -> label names, with a histogram's series names.
EXPORTED: dict[str, set[str]] = {}
for _family in FAMILIES:
    _suffixes = ("_bucket", "_sum", "_count") if _family.kind == "histogram" else ("",)
    for _suffix in _suffixes:
        _extra = {"le"} if _suffix == "_bucket" else set()
        EXPORTED[_family.name + _suffix] = set(_family.labels) | _extra
TARGET_LABELS = {"job", "instance"}  # added by Prometheus to every scraped series


def rule_expressions() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_expressions() -> list[str]:
    return [
        target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", [])
    ]


def test_the_deploy_files_are_symlinks_to_the_charts_copies() -> None:
    for link, canonical in ((RULES, "alerts.yaml"), (DASHBOARD, "dashboard.json")):
        assert link.is_symlink(), link
        assert link.resolve() == (CHART_FILES / canonical).resolve()
        assert not (CHART_FILES / canonical).is_symlink()  # helm package reads a real file


def test_promtool_check_rules() -> None:
    result = run([tool("promtool"), "check", "rules", str(RULES)], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rule_expressions())} rules found" in result.stdout


def test_promtool_unit_tests_of_every_alert() -> None:
    result = run([tool("promtool"), "test", "rules", RULES_TEST.name], RULES_TEST.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname: (\w+)", RULES_TEST.read_text()))
    assert tested == set(rule_expressions())


def test_the_rules_need_no_helm_escaping() -> None:
    # The chart inserts the groups with .Files.Get | fromYaml; only Prometheus templates them.
    rules = yaml.safe_load(RULES.read_text())
    assert set(rules) == {"groups"}
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert "{{" not in rule["expr"]
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
            assert "summary" in rule["annotations"] and "description" in rule["annotations"]


SELECTOR = re.compile(r"\b(scanner_\w+)\s*(?:\{([^}]*)\})?")
GROUPING = re.compile(r"\b(?:by|on)\s*\(([^)]*)\)")


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_metric_and_label_named_is_exported_by_the_daemon(source: str) -> None:
    expressions = (
        list(rule_expressions().values()) if source == "rules" else dashboard_expressions()
    )
    assert expressions
    for expr in expressions:
        names = SELECTOR.findall(expr)
        known: set[str] = set(TARGET_LABELS)
        for name, matchers in names:
            assert name in EXPORTED, f"{name} in {expr!r}"
            labels = {m.split("=")[0].strip(" !~") for m in matchers.split(",") if m.strip()}
            assert labels <= EXPORTED[name] | TARGET_LABELS, (name, labels)
            known |= EXPORTED[name]
        for grouping in GROUPING.findall(expr):
            assert {g.strip() for g in grouping.split(",")} <= known, (grouping, expr)


def test_dashboard_structure() -> None:
    board = dashboard()
    panels = board["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert {"datasource", "ou", "account", "rule"} <= set(variables)
    for name in ("ou", "account", "rule"):
        assert variables[name]["allValue"] == ".*" and variables[name]["multi"]
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            used = set(re.findall(r"\$(\w+)", target["expr"])) - {"__range"}
            assert used <= set(variables), (panel["title"], used)
    titles = {p["title"] for p in panels}
    # What the issue asks the dashboard to show.
    assert {
        "Organization compliance",
        "Failing controls by rule",
        "Failing controls by OU",
        "Failing controls (account, rule)",
        "Unknown controls",
        "Last successful scan",
        "Scan duration",
        "AWS API throttles",
        "AWS API errors",
    } <= titles
    # Compliance and failure panels follow all three variables.
    for panel in panels:
        if panel["title"] in {"Organization compliance", "Failing controls by rule"}:
            expr = panel["targets"][0]["expr"]
            assert all(f"${v}" in expr for v in ("ou", "account", "rule"))


def test_alertmanager_example_is_valid() -> None:
    result = run([tool("amtool"), "check-config", str(ALERTMANAGER)], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        # The daemon's own alert (labels alertname, account_id, rule, severity).
        (
            ["alertname=ScannerControlFailing", "severity=critical", "rule=root-usage"],
            "security-oncall",
        ),
        (
            ["alertname=ScannerControlFailing", "severity=low", "rule=ec2-instance-changes"],
            "security-tickets",
        ),
        # The metric-derived one carries the OU: production also reaches its owners.
        (
            [
                "alertname=ScannerControlMetricFailing",
                "severity=high",
                "organizational_unit=Workloads/Production",
            ],
            "security-oncall,production-owners",
        ),
        (
            ["alertname=ScannerControlsUnknown", "severity=medium", "organizational_unit=Sandbox"],
            "security-tickets",
        ),
        (["alertname=ScannerDown", "severity=critical"], "security-oncall"),
        (["alertname=ScannerAPIErrorsRising", "severity=medium"], "security-tickets"),
        # Alerts that do not reach their target page on-call (through Alertmanager, which
        # does not depend on the daemon's own targets).
        (
            ["alertname=ScannerAlertsUndelivered", "severity=high", "target=ticketing"],
            "security-oncall",
        ),
        (["alertname=ScannerAlertDeliveriesFailing", "severity=high"], "security-oncall"),
        (["alertname=KubePodCrashLooping", "severity=critical"], "default"),
    ],
)
def test_alertmanager_routes(labels: list[str], receivers: str) -> None:
    result = run(
        [
            tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER}",
            f"--verify.receivers={receivers}",
            *labels,
        ],
        ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
