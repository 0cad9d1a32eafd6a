"""The README stays true: its rules table is the catalog, its test command is CI's."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from scanner.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _cell(value: str | None) -> str:
    return value or "\u2013"  # the en dash the table uses for "none"


def test_rules_table_lists_every_rule_as_the_catalog_has_it() -> None:
    section = README.split("## Rules", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|(.*)\|$", section, flags=re.MULTILINE)
    table = {rule: [c.strip() for c in rest.split("|")] for rule, rest in rows}
    catalog = load_catalog()
    assert list(table) == [rule.id for rule in catalog.rules]
    for rule in catalog.rules:
        assert table[rule.id] == [
            rule.severity,
            _cell(rule.cis_sections.get("cis-1.2")),
            _cell(rule.cis_sections.get("cis-5.0")),
            _cell(rule.cis_sections.get("cis-7.0")),
            _cell(rule.securityhub_control),
            _cell(rule.cloudguard_rule),
            rule.title,
        ], rule.id
        assert rule.cis_sections.get("cis-6.0") == rule.cis_sections.get("cis-7.0"), rule.id


def test_the_quick_start_test_command_is_what_ci_runs() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "python -m pytest" in quick_start
    assert "\npython -m pytest\n" in (ROOT / ".ci" / "run").read_text()


def test_every_profile_is_documented() -> None:
    for profile in load_catalog().profiles:
        assert f"`{profile.name}`" in README, profile.name


def test_event_driven_re_evaluation_names_what_it_deploys_and_configures() -> None:
    section = README.split("### 4. Event-driven re-evaluation", 1)[1].split("\n## ", 1)[0]
    events = ROOT / "deploy" / "events"
    for template in sorted(events.glob("*.yaml")):
        assert f"{template.name}`" in section, template.name
    for module in sorted(p for p in (events / "terraform").iterdir() if p.is_dir()):
        assert f"`deploy/events/terraform/{module.name}`" in section, module.name
    changes = load_catalog().changes
    assert f"`{changes.forwarding_rule}`" in section
    for event in changes.events:
        if event.scope == "forwarding":
            assert f"`{event.name}`" in section, event.name
    values = yaml.safe_load((ROOT / "helm" / "values.yaml").read_text())
    for key in values["events"]:
        assert f"events.{key}" in section, key
    assert "us-east-1" in section
