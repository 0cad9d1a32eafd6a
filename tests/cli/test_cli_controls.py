"""Control ids: every finding carries the rule's numbers; rules are found by any of them."""

from __future__ import annotations

import dataclasses
import json

import pytest
from cli_run import one_error_line, run

from scanner.catalog import Catalog, UnknownNameError, load_catalog
from scanner.evaluate import evaluate
from scanner.model import Account, Finding, Inventory

IAM_CONTROLS = {
    "cis-5.0": "4.4",
    "cis-4.0": "4.4",
    "cis-3.0": "4.4",
    "cis-2.0": "4.4",
    "cis-1.5": "4.4",
    "cis-1.4": "4.4",
    "cis-1.2": "3.4",
    "securityhub": "CloudWatch.4",
    "cloudguard": "D9.AWS.MON.04",
}


def test_every_finding_carries_the_rules_control_ids() -> None:
    inventory = Inventory(accounts=(Account("111111111111", "prod"),))
    findings = {f.rule: f for f in evaluate(inventory, "cis-1.2")}
    assert findings["iam-policy-changes"].controls == IAM_CONTROLS
    assert findings["iam-policy-changes"].to_json()["controls"]["cis-1.2"] == "3.4"
    assert all(f.controls == load_catalog().rule(f.rule).controls for f in findings.values())


def test_a_finding_saved_before_control_ids_still_decodes() -> None:
    inventory = Inventory(accounts=(Account("111111111111", "prod"),))
    saved = evaluate(inventory)[0].to_json()
    del saved["controls"]
    assert Finding.from_json(saved).controls == {}


@pytest.mark.parametrize(
    "name", ["iam-policy-changes", "4.4", "CloudWatch.4", "cloudwatch.4", "cis-1.2:3.4", "3.4"]
)
def test_rules_show_finds_a_rule_by_any_of_its_ids(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, out, err = run(capsys, "rules", "show", name)
    assert (code, err) == (0, "")
    assert out.startswith("iam-policy-changes: IAM policy changes")


def test_check_pattern_takes_a_control_id_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "check-pattern", "D9.AWS.MON.04", "{ $.a = 1 }")
    assert code == 0
    assert json.loads(out)["rule"] == "iam-policy-changes"


def _renumbered() -> Catalog:
    """The catalog with CIS v1.2's 3.4 renumbered 4.4: one number, two rules across versions."""
    catalog = load_catalog()
    rules = tuple(
        dataclasses.replace(rule, cis_sections={**rule.cis_sections, "cis-1.2": "4.4"})
        if rule.id == "unauthorized-api-calls"
        else rule
        for rule in catalog.rules
    )
    return Catalog(rules, catalog.profiles, catalog.default_profile)


def test_a_cis_number_is_read_in_the_profiles_cis_version() -> None:
    catalog = _renumbered()
    assert catalog.find_rule("4.4").id == "iam-policy-changes"  # recommended: CIS v5.0
    assert catalog.find_rule("4.4", "cis-5.0").id == "iam-policy-changes"
    assert catalog.find_rule("4.4", "cis-1.2").id == "unauthorized-api-calls"
    assert catalog.find_rule("cis-1.2:4.4", "cis-5.0").id == "unauthorized-api-calls"


def test_an_ambiguous_number_lists_the_qualified_candidates() -> None:
    with pytest.raises(UnknownNameError) as raised:
        _renumbered().find_rule("4.4", "securityhub")  # lists no CIS version
    message = str(raised.value)
    assert message.startswith("control id '4.4' names 2 rules; qualify it: ")
    assert "cis-1.2:4.4 (unauthorized-api-calls)" in message
    assert "cis-5.0:4.4 (iam-policy-changes)" in message


def test_an_unknown_id_is_one_line_listing_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rules", "show", "CloudWatch.99")
    assert code == 2
    assert "unknown rule or control id 'CloudWatch.99'; valid names: " in one_error_line(err)
