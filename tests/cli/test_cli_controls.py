"""Control ids: every finding carries the rule's numbers; rules are found by any of them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cli_run import nacl_gaps_inventory, one_error_line, run

from scanner.catalog import Catalog, UnknownNameError, load_catalog
from scanner.evaluate import evaluate
from scanner.model import Account, Finding, Inventory

IAM_CONTROLS = {
    "cis-7.0": "5.4",
    "cis-6.0": "5.4",
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
    assert code == 1  # { $.a = 1 } satisfies nothing
    assert out.startswith("iam-policy-changes: not covered, misses ")


def _renumbered(version: str = "cis-1.2", number: str = "4.4") -> Catalog:
    """The catalog with unauthorized-api-calls renumbered ``number`` in ``version``: one number,
    two rules across versions (the shipped data has no such number)."""
    catalog = load_catalog()
    rules = tuple(
        dataclasses.replace(rule, cis_sections={**rule.cis_sections, version: number})
        if rule.id == "unauthorized-api-calls"
        else rule
        for rule in catalog.rules
    )
    return Catalog(rules, catalog.profiles, catalog.default_profile)


def test_a_cis_number_is_read_in_the_profiles_cis_version() -> None:
    catalog = _renumbered()
    assert catalog.find_rule("4.4", "cis-5.0").id == "iam-policy-changes"
    assert catalog.find_rule("4.4", "cis-1.2").id == "unauthorized-api-calls"
    assert catalog.find_rule("cis-1.2:4.4", "cis-5.0").id == "unauthorized-api-calls"
    assert catalog.find_rule("cis-5.0:4.4", "cis-1.2").id == "iam-policy-changes"
    assert catalog.find_rule("iam-policy-changes", "cis-1.2").id == "iam-policy-changes"


def test_without_a_profile_an_ambiguous_number_lists_the_qualified_candidates() -> None:
    with pytest.raises(UnknownNameError) as raised:
        _renumbered().find_rule("4.4")
    message = str(raised.value)
    assert message.startswith("control id '4.4' names 2 rules; qualify it: ")
    assert "cis-1.2:4.4 (unauthorized-api-calls)" in message
    assert "cis-5.0:4.4 (iam-policy-changes)" in message


def test_recommended_reads_a_number_in_its_latest_cis_version_first() -> None:
    catalog = _renumbered("cis-1.2", "5.4")  # 5.4: unauthorized in v1.2, IAM in v6.0 and v7.0
    assert catalog.profile("recommended").identifiers[0] == "cis-7.0"
    assert catalog.find_rule("5.4", "recommended").id == "iam-policy-changes"
    with pytest.raises(UnknownNameError, match=r"cis-1\.2:5\.4 \(unauthorized-api-calls\)"):
        catalog.find_rule("5.4")
    # A number its own standards do not hold is read in every standard, like without a profile.
    assert load_catalog().find_rule("4.4", "recommended").id == "iam-policy-changes"
    assert load_catalog().find_rule("3.4", "recommended").id == "iam-policy-changes"


def test_a_number_of_one_rule_wherever_it_exists_needs_no_profile() -> None:
    catalog = load_catalog()
    for name in ("3.4", "4.4", "5.4", "CloudWatch.4", "d9.aws.mon.04"):
        assert catalog.find_rule(name).id == "iam-policy-changes", name
    assert catalog.find_rule("3.1").id == "unauthorized-api-calls"  # only v1.2 has a 3.1


def test_a_profile_of_one_standard_reads_only_that_standards_numbers() -> None:
    catalog = load_catalog()
    assert catalog.find_rule("5.4", "cis-6.0").id == "iam-policy-changes"
    assert catalog.find_rule("5.15", "cis-7.0").id == "organizations-changes"
    assert catalog.find_rule("CloudWatch.4", "securityhub").id == "iam-policy-changes"
    with pytest.raises(UnknownNameError) as raised:
        catalog.find_rule("3.1", "cis-5.0")
    assert str(raised.value) == (
        "'3.1' is not a control of cis-5.0 (in other standards it names "
        "unauthorized-api-calls); its controls: " + ", ".join(f"4.{n}" for n in range(1, 16))
    )
    with pytest.raises(UnknownNameError, match=r"'4\.4' is not a control of securityhub"):
        catalog.find_rule("4.4", "securityhub")


def test_a_qualified_id_names_its_standard_and_number() -> None:
    catalog = load_catalog()
    assert catalog.find_rule("CIS-7.0:5.4").id == "iam-policy-changes"
    assert catalog.find_rule("securityhub:cloudwatch.4", "cis-1.2").id == "iam-policy-changes"
    with pytest.raises(UnknownNameError, match=r"unknown standard 'cis-9\.9' .*known: cis-1\.2"):
        catalog.find_rule("cis-9.9:4.4")
    with pytest.raises(UnknownNameError, match=r"'4\.16' is not a control of cis-5\.0.*4\.15$"):
        catalog.find_rule("cis-5.0:4.16")


def test_several_names_are_refused_when_one_names_a_rule_outside_the_profile() -> None:
    catalog = load_catalog()
    assert [r.id for r in catalog.find_rules(["4.4", "iam-policy-changes", "5.1"])] == [
        "iam-policy-changes",
        "unauthorized-api-calls",
    ]
    with pytest.raises(UnknownNameError, match=r"not in profile cis-1\.2: organizations-changes"):
        catalog.find_rules(["cis-5.0:4.15"], "cis-1.2")


# ------------------------------------------------------------------------------ the command line


@pytest.mark.parametrize("version", ["cis-6.0", "cis-7.0"])
def test_rules_list_of_cis_6_and_7_numbers_the_monitoring_section_5(
    capsys: pytest.CaptureFixture[str], version: str
) -> None:
    code, out, _ = run(capsys, "rules", "list", "-r", version, "--format", "json")
    assert code == 0
    rules = json.loads(out)["rules"]
    assert [r["identifiers"] for r in rules] == [{version: f"5.{n}"} for n in range(1, 16)]
    code, out, _ = run(capsys, "rules", "list", "-r", version)
    assert code == 0
    assert f"CIS {version[4:]}" in out and out.rstrip().endswith("15 rules")
    code, out, _ = run(capsys, "rules", "profiles", "--format", "json")
    profiles = {p["name"]: p for p in json.loads(out)["profiles"]}
    assert profiles[version]["rules"] == 15
    assert profiles[version]["title"] == f"CIS AWS Foundations Benchmark v{version[4:]}.0"


@pytest.mark.parametrize(
    ("argv", "rule"),
    [
        (("5.4", "-r", "cis-6.0"), "iam-policy-changes"),
        (("5.4", "-r", "cis-7.0"), "iam-policy-changes"),
        (("4.4", "-r", "cis-5.0"), "iam-policy-changes"),
        (("3.4", "-r", "cis-1.2"), "iam-policy-changes"),
        (("cis-1.2:3.1", "-r", "cis-7.0"), "unauthorized-api-calls"),
        (("unauthorized-api-calls", "-r", "cis-7.0"), "unauthorized-api-calls"),
        (("5.4",), "iam-policy-changes"),
    ],
)
def test_rules_show_reads_a_control_id_in_the_chosen_profile(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], rule: str
) -> None:
    code, out, err = run(capsys, "rules", "show", *argv)
    assert (code, err) == (0, "")
    assert out.startswith(f"{rule}: ")


def test_a_number_the_profile_does_not_hold_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "rules", "show", "3.1", "-r", "cis-5.0")
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert "'3.1' is not a control of cis-5.0" in line
    assert line.endswith("its controls: " + ", ".join(f"4.{n}" for n in range(1, 16)))
    code, out, err = run(capsys, "rules", "check-pattern", "3.1", "{ $.a = 1 }", "-r", "cis-5.0")
    assert (code, out) == (2, "")
    assert "'3.1' is not a control of cis-5.0" in one_error_line(err)
    argv = ("rules", "check-pattern", "5.4", "{ $.a = 1 }", "-r", "cis-7.0", "--format", "json")
    code, out, _ = run(capsys, *argv)
    assert code == 1
    assert json.loads(out)["rule"] == "iam-policy-changes"


def test_an_ambiguous_number_without_a_profile_exits_2_with_the_candidates(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scanner.cli.rules.load_catalog", _renumbered)
    code, out, err = run(capsys, "rules", "show", "4.4")
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert (
        "control id '4.4' names 2 rules; qualify it: cis-1.2:4.4 (unauthorized-api-calls)" in line
    )
    assert "cis-5.0:4.4 (iam-policy-changes)" in line
    code, out, _ = run(capsys, "rules", "show", "4.4", "-r", "cis-1.2")
    assert code == 0 and out.startswith("unauthorized-api-calls: ")


def test_report_rules_read_control_ids_in_the_chosen_profile(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inventory = nacl_gaps_inventory(tmp_path)

    def rules_of(*argv: str) -> set[str]:
        code, out, err = run(
            capsys, "evaluate", "--inventory", inventory, *argv, "--format", "json"
        )
        assert code == 1, err
        return {f["rule"] for f in json.loads(out)["findings"]}

    assert rules_of("-r", "cis-7.0", "--rules", "5.11") == {"nacl-changes"}
    assert rules_of("-r", "cis-6.0", "--rules", "5.11,cis-1.2:3.1") == {
        "nacl-changes",
        "unauthorized-api-calls",
    }
    assert rules_of("-r", "cis-5.0", "--rules", "4.11") == {"nacl-changes"}
    assert rules_of("--rules", "5.11") == {"nacl-changes"}
    code, out, err = run(
        capsys, "evaluate", "--inventory", inventory, "-r", "cis-5.0", "--rules", "3.11"
    )
    assert (code, out) == (2, "")
    assert one_error_line(err).startswith(
        "scanner: error: --rules: '3.11' is not a control of cis-5.0"
    )


def test_an_unknown_id_is_one_line_listing_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rules", "show", "CloudWatch.99")
    assert code == 2
    assert "unknown rule or control id 'CloudWatch.99'; valid names: " in one_error_line(err)


def test_rules_show_describes_every_link_of_the_chain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "show", "iam-policy-changes")
    assert code == 0
    chain = out[out.index("The chain") :]
    for link in ("subscriber", "topic_key", "topic_policy", "delivery"):
        assert f"\n  {link} " in chain
    assert "alias/aws/sns" in chain and "filter policy" in chain
