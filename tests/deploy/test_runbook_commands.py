"""Every ``scanner ...`` command an alert tells on-call to run works, as written.

The alert rules' annotations (helm/files/alerts.yaml, the chart's PrometheusRule, and
deploy/prometheus/alerts.yaml, a symlink to it) and the README's alerts section may name
commands between backticks. Each is run against the demo organization in the emulator, its
placeholders (``{{ $labels.account_id }}``, ``<account_id>``) replaced by a demo member's values: a
command that exits 2 ("cannot run": an unknown option, a missing companion option) is a
runbook that fails the person paged at night.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from cli_run import run

from scanner.testing import emulation

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(emulation.MOTO_ERROR_SHAPE_WARNING)]

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "helm" / "files" / "alerts.yaml"
README = ROOT / "README.md"
COMMAND = re.compile(r"`(scanner\s[^`]+)`")
# Prometheus's ``{{ $labels.account_id }}`` in the rules, ``<account_id>`` in the README.
PLACEHOLDER = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}|<(\w+)>")
# What the labels of an alert on the demo organization hold: orders-prod fails vpc-changes.
ORDERS_PROD = "210000000003"
LABELS = {
    "account_id": ORDERS_PROD,
    "rule": "vpc-changes",
    "account_name": "orders-prod",
    "organizational_unit": "Workloads/Production",
}


def _alert_commands() -> list[tuple[str, str]]:
    """(where, command) for every backticked ``scanner ...`` of the rules' annotations."""
    found: list[tuple[str, str]] = []
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            for key, text in rule.get("annotations", {}).items():
                name = f"{rule['alert']}.{key}"
                found += [(name, " ".join(c.split())) for c in COMMAND.findall(text)]
    return found


def _readme_commands() -> list[tuple[str, str]]:
    """Commands of the README's section on alerts (what to run when one fires)."""
    text = README.read_text()
    start = text.index("### 3. Dashboard and alerts")
    section = text[start : text.index("\n## ", start)]
    return [("README alerts", " ".join(c.split())) for c in COMMAND.findall(section)]


def _filled(command: str) -> list[str]:
    def label(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in LABELS, f"no demo value for the placeholder $labels.{name}"
        return LABELS[name]

    return shlex.split(PLACEHOLDER.sub(label, command))


COMMANDS = _alert_commands() + _readme_commands()


def test_the_alerts_name_the_command_that_shows_a_failing_control() -> None:
    assert "ScannerControlMetricFailing.description" in {where for where, _ in COMMANDS}


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_each_runbook_command_runs_on_the_demo_organization(
    aws: str, capsys: pytest.CaptureFixture[str], where: str, command: str
) -> None:
    argv = _filled(command)
    assert argv[0] == "scanner", command
    code, out, err = run(capsys, *argv[1:])
    assert code != 2, f"{where}: `{command}` cannot run: {err}"
    # It answers about the alert's account and rule, not about something else.
    if "--accounts" in argv:
        assert "orders-prod" in out, out
    if "--rules" in argv:
        assert LABELS["rule"] in out, out
