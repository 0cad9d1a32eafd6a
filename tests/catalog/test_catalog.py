"""The rule catalog: published facts, profiles, and the intended readings derived from them."""

from __future__ import annotations

import copy
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from scanner.catalog import (
    CatalogError,
    UnknownNameError,
    build_catalog,
    judge,
    load_catalog,
)
from scanner.patterns import covers, matches, pin

CONTROLS = Path(__file__).resolve().parents[1] / "catalog" / "reference" / "controls.json"
CIS = ["cis-1.2", "cis-1.4", "cis-1.5", "cis-2.0", "cis-3.0", "cis-4.0", "cis-5.0"]
# CIS v6.0.0 and v7.0.0 are not in the reference data: section 4 (Monitoring) became section 5,
# with v5.0.0's texts.
RENUMBERED = ["cis-6.0", "cis-7.0"]
SG_EVENTS = [
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
]


def controls() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(CONTROLS.read_text())["controls"]
    return data


def either(*names: str, source: str | None = None) -> str:
    """A JSON pattern matching any of the event names, optionally pinned to an eventSource."""
    names_expr = " || ".join(f'($.eventName = "{n}")' for n in names)
    if source is None:
        return "{ " + names_expr + " }"
    return f'{{ ($.eventSource = "{source}") && ({names_expr}) }}'


def raw_data() -> dict[str, Any]:
    text = resources.files("scanner.catalog").joinpath("rules.toml").read_text("utf-8")
    return tomllib.loads(text)


# ------------------------------------------------------------------------------ the facts


def test_the_catalog_has_the_eighteen_rules_of_the_reference_data_in_its_order() -> None:
    ids = [rule.id for rule in load_catalog().rules]
    assert ids == [control["id"] for control in controls()]
    assert len(ids) == 18


def test_every_published_text_is_in_the_catalog_verbatim_under_its_source_key() -> None:
    catalog = load_catalog()
    for control in controls():
        rule = catalog.rule(control["id"])
        for key, text in control["patterns"].items():
            reference = rule.reference(key)
            assert reference.kind == "published"
            assert reference.text == text, (rule.id, key)


def test_sections_controls_and_titles_are_those_of_the_reference_data() -> None:
    catalog = load_catalog()
    for control in controls():
        rule = catalog.rule(control["id"])
        assert rule.title == control["title"]
        sections = {k: v for k, v in rule.cis_sections.items() if k not in RENUMBERED}
        assert sections == control["cis_sections"]
        assert rule.securityhub_control == control["securityhub_control"]
        assert rule.cloudguard_rule == control["cloudguard_rule"]


def test_every_rule_has_remediation_names_in_the_cisbenchmark_namespace() -> None:
    rules = load_catalog().rules
    assert {rule.remediation.metric_namespace for rule in rules} == {"CISBenchmark"}
    assert load_catalog().rule("iam-policy-changes").remediation.metric_name == "IAMPolicyChanges"
    for attribute in ("metric_name", "filter_name", "alarm_name"):
        names = [getattr(rule.remediation, attribute) for rule in rules]
        assert len(set(names)) == len(names), attribute


def test_rules_about_one_service_name_its_event_source_and_the_others_none() -> None:
    catalog = load_catalog()
    assert catalog.rule("iam-policy-changes").event_source == "iam.amazonaws.com"
    assert catalog.rule("ssm-actions").event_source == "ssm.amazonaws.com"
    for rule_id in (
        "unauthorized-api-calls",
        "console-signin-without-mfa",
        "root-account-usage",
        "console-auth-failures",
    ):
        assert catalog.rule(rule_id).event_source is None


def test_cis_6_and_7_number_v5s_monitoring_controls_5_x_and_accept_v5s_texts() -> None:
    catalog = load_catalog()
    for version in RENUMBERED:
        rules = catalog.rules_in(version)
        assert [r.id for r in rules] == [r.id for r in catalog.rules_in("cis-5.0")]
        assert [r.cis_sections[version] for r in rules] == [f"5.{n}" for n in range(1, 16)]
        for rule in rules:
            assert rule.cis_sections[version] == "5." + rule.cis_sections["cis-5.0"][2:]
            assert rule.accepted_in(version) == rule.accepted_in("cis-5.0"), rule.id
            published = [r for r in rule.accepted_in(version) if r.kind == "published"]
            assert all("v7.0.0" in r.source for r in published), rule.id
        assert "5.16" not in catalog.controls_in(version)  # Security Hub enabled: no filter
    assert catalog.rule("iam-policy-changes").reference("cis_all").source == (
        "CIS AWS Foundations Benchmark v1.2.0-v7.0.0, 3.4/4.4/5.4"
    )


# ------------------------------------------------------------------------------ profiles


def test_profiles_and_their_sizes() -> None:
    catalog = load_catalog()
    sizes = {profile.name: len(catalog.rules_in(profile)) for profile in catalog.profiles}
    assert sizes == {
        "recommended": 18,
        "cis-1.2": 14,
        **dict.fromkeys([*CIS[1:], *RENUMBERED], 15),
        "securityhub": 14,
        "cloudguard": 5,
    }
    assert catalog.profile().name == "recommended"
    assert all(profile.title and profile.description for profile in catalog.profiles)


def test_a_cis_profile_holds_the_rules_with_a_section_in_that_version() -> None:
    catalog = load_catalog()
    for version in [*CIS, *RENUMBERED]:
        expected = [rule.id for rule in catalog.rules if version in rule.cis_sections]
        assert [rule.id for rule in catalog.rules_in(version)] == expected
    assert "organizations-changes" not in {r.id for r in catalog.rules_in("cis-1.2")}
    assert "organizations-changes" in {r.id for r in catalog.rules_in("cis-1.4")}


def test_securityhub_is_cloudwatch_1_to_14_and_cloudguard_the_rules_with_a_cloudguard_id() -> None:
    catalog = load_catalog()
    controls_ = sorted(
        int(str(rule.securityhub_control).split(".")[1]) for rule in catalog.rules_in("securityhub")
    )
    assert controls_ == list(range(1, 15))
    assert [rule.id for rule in catalog.rules_in("cloudguard")] == [
        "unauthorized-api-calls",
        "iam-policy-changes",
        "iam-login-profile-changes",
        "ssm-actions",
        "ec2-instance-changes",
    ]


def test_securityhub_uses_its_own_texts_and_the_cis_1_2_text_where_it_has_none() -> None:
    catalog = load_catalog()
    assert [r.name for r in catalog.accepted("unauthorized-api-calls", "securityhub")] == [
        "securityhub_CloudWatch.2"
    ]
    assert catalog.accepted("root-account-usage", "securityhub")[0].name == (
        "securityhub_CloudWatch.1"
    )
    assert catalog.accepted("security-group-changes", "securityhub")[-1].name == "cis_v1.2.0-v4.0"


def test_cloudguard_mon_01_and_04_use_the_latest_cis_text_and_say_so() -> None:
    catalog = load_catalog()
    for rule_id, latest in (
        ("unauthorized-api-calls", "cis_v2.0.0-v5.0.0"),
        ("iam-policy-changes", "cis_all"),
    ):
        rule = catalog.rule(rule_id)
        assert rule.accepted_in("cloudguard") == rule.accepted_in("cis-5.0")
        assert latest in [r.name for r in rule.accepted_in("cloudguard")]
        assert any("CloudGuard" in note for note in rule.notes)


def test_console_sign_in_accepts_the_sso_variant_from_cis_1_4_on_only() -> None:
    catalog = load_catalog()
    rule = catalog.rule("console-signin-without-mfa")
    sso = rule.reference("cis_sso_variant_v1.4.0+").text
    assert [r.name for r in rule.accepted_in("cis-1.2")] == ["cis_base_all_versions"]
    for version in [*CIS[1:], "recommended"]:
        assert [r.name for r in rule.accepted_in(version)] == [
            "cis_base_all_versions",
            "cis_sso_variant_v1.4.0+",
        ]
    assert judge(rule, "cis-1.4", sso).covered
    assert not judge(rule, "cis-1.2", sso).covered


def test_security_groups_need_modify_security_group_rules_from_cis_5_0_on() -> None:
    rule = load_catalog().rule("security-group-changes")
    six = either(*SG_EVENTS, source="ec2.amazonaws.com")
    for profile in [*CIS[:-1], "securityhub"]:
        assert judge(rule, profile, six).covered, profile
    for profile in ("cis-5.0", "recommended"):
        verdict = judge(rule, profile, six)
        assert not verdict.covered
        assert [e["eventName"] for e in verdict.missed] == ["ModifySecurityGroupRules"]


# ------------------------------------------------------------------------------ intended readings


def test_a_filter_pinning_the_service_with_all_seven_events_passes_recommended() -> None:
    catalog = load_catalog()
    rule = catalog.rule("security-group-changes")
    pinned = either(*SG_EVENTS, "ModifySecurityGroupRules", source="ec2.amazonaws.com")
    preferred = catalog.accepted(rule.id, "recommended")[0]
    assert preferred.kind == "intended"
    assert covers(pinned, preferred.pattern).covered
    assert judge(rule, "recommended", pinned).covered
    # ... which the published text alone would not allow: it also counts other services' events.
    assert not covers(pinned, rule.reference("cis_v5.0.0+").pattern).covered


def test_the_computed_intended_reading_pins_the_rules_service_on_the_published_text() -> None:
    written = {
        (entry["id"], target)
        for entry in raw_data()["rule"]
        for ref in entry["reference"]
        for target in ref.get("reading_of", ())
    }
    computed = 0
    for rule in load_catalog().rules:
        for ref in rule.references:
            if ref.kind != "published" or (rule.id, ref.name) in written:
                continue
            readings = [r for r in rule.references if ref.name in r.reading_of]
            if rule.event_source is None or "eventSource" in ref.text:
                assert readings == [], (rule.id, ref.name)
            else:
                expected = pin(ref.pattern, "eventSource", rule.event_source)
                assert [r.pattern for r in readings] == [expected], rule.id
                assert readings[0].name == f"intended:{ref.name}"
                assert rule.event_source in (readings[0].explanation or "")
                computed += 1
    assert computed == 11


def test_texts_that_already_pin_the_source_are_their_own_intended_reading() -> None:
    catalog = load_catalog()
    for rule_id in ("cmk-disable-or-deletion", "s3-bucket-policy-changes", "aws-config-changes"):
        rule = catalog.rule(rule_id)
        assert [r.kind for r in rule.references] == ["published"]
        assert [r.name for r in rule.accepted_in("recommended")] == ["cis_all"]


def test_the_first_accepted_reference_is_the_intended_reading_of_the_main_text() -> None:
    catalog = load_catalog()
    assert catalog.accepted("iam-policy-changes", "cis-1.2")[0].name == "intended:cis_all"
    assert catalog.accepted("unauthorized-api-calls", "cis-2.0")[0].name == (
        "intended:cis_v1.3.0-v5.0.0"
    )
    assert catalog.accepted("unauthorized-api-calls", "cis-1.2")[0].name == "cis_v1.2.0"


def test_the_v1_3_unauthorized_text_is_flagged_broken_and_never_accepted_itself() -> None:
    rule = load_catalog().rule("unauthorized-api-calls")
    broken = rule.reference("cis_v1.3.0-v1.5.0")
    assert broken.broken and "nearly every event" in broken.broken
    assert matches(
        broken.pattern, {"eventName": "RunInstances", "eventSource": "ec2.amazonaws.com"}
    )
    assert [r.name for r in rule.accepted_in("cis-1.4")] == ["intended:cis_v1.3.0-v5.0.0"]
    assert all(not r.broken for p in rule.profiles for r in rule.accepted_in(p))


def test_unauthorized_intended_reading_is_covered_by_the_v1_2_text_and_not_the_reverse() -> None:
    rule = load_catalog().rule("unauthorized-api-calls")
    intended = rule.reference("intended:cis_v1.3.0-v5.0.0")
    v12 = rule.reference("cis_v1.2.0")
    assert intended.reading_of == ("cis_v1.3.0-v1.5.0", "cis_v2.0.0-v5.0.0")
    assert intended.explanation
    assert covers(v12.pattern, intended.pattern).covered
    assert not covers(intended.pattern, v12.pattern).covered


def test_the_unauthorized_v2_text_literally_exempts_only_access_denied() -> None:
    rule = load_catalog().rule("unauthorized-api-calls")
    literal = rule.reference("cis_v2.0.0-v5.0.0").pattern
    intended = rule.reference("intended:cis_v1.3.0-v5.0.0").pattern
    head_bucket = {"errorCode": "Client.UnauthorizedOperation", "eventName": "HeadBucket"}
    assert matches(literal, head_bucket)
    assert not matches(intended, head_bucket)
    assert literal.notes  # mixed && and || without parentheses


def test_route_table_audit_text_is_read_as_ec2_for_all_seven_events() -> None:
    rule = load_catalog().rule("route-table-changes")
    literal = rule.reference("cis_audit_v3.0.0+").pattern
    intended = rule.reference("intended:cis_audit_v3.0.0+").pattern
    elsewhere = {"eventSource": "example.amazonaws.com", "eventName": "CreateRouteTable"}
    assert matches(literal, elsewhere)
    assert not matches(intended, elsewhere)
    assert matches(intended, {"eventSource": "ec2.amazonaws.com", "eventName": "DeleteRoute"})
    # The same meaning as the pinned remediation text: accepted once, not twice.
    assert intended == rule.reference("intended:cis_remediation_all").pattern
    names = [r.name for r in rule.accepted_in("cis-3.0")]
    assert names == ["intended:cis_remediation_all", "cis_remediation_all", "cis_audit_v3.0.0+"]
    assert "cis_audit_v3.0.0+" not in [r.name for r in rule.accepted_in("cis-2.0")]


# ------------------------------------------------------------------------------ lookups


def test_unknown_names_raise_a_key_error_listing_the_valid_ones() -> None:
    catalog = load_catalog()
    with pytest.raises(UnknownNameError) as rule_error:
        catalog.rule("iam-changes")
    assert isinstance(rule_error.value, KeyError)
    assert "iam-changes" in str(rule_error.value)
    assert "iam-policy-changes" in str(rule_error.value)
    with pytest.raises(KeyError, match=r"cis-1\.3.*valid names: recommended, cis-1\.2"):
        catalog.profile("cis-1.3")
    with pytest.raises(UnknownNameError, match=r"not part of profile 'cis-1\.2'.*cis-1\.4"):
        catalog.accepted("organizations-changes", "cis-1.2")


def test_the_catalog_is_loaded_once() -> None:
    assert load_catalog() is load_catalog()


# ------------------------------------------------------------------------------ validation


def rule_entry(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(rule for rule in data["rule"] if rule["id"] == rule_id)


def test_the_shipped_data_builds_the_same_catalog() -> None:
    rebuilt = build_catalog(raw_data())
    assert [r.id for r in rebuilt.rules] == [r.id for r in load_catalog().rules]


def _broken(edit: Any) -> str:
    data = copy.deepcopy(raw_data())
    edit(data)
    with pytest.raises(CatalogError) as error:
        build_catalog(data)
    return str(error.value)


def test_an_unparsable_pattern_names_the_rule_the_reference_and_the_position() -> None:
    def edit(data: dict[str, Any]) -> None:
        rule_entry(data, "nacl-changes")["reference"][0]["text"] = "{ ($.eventName = ) }"

    message = _broken(edit)
    assert "rule 'nacl-changes'" in message
    assert "reference 'cis_all'" in message
    assert "field 'text'" in message
    assert "position" in message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: rule_entry(d, "vpc-changes").update(severity="urgent"),
            "rule 'vpc-changes', field 'severity'",
        ),
        (
            lambda d: rule_entry(d, "vpc-changes").update(sevrity="high"),
            "rule 'vpc-changes', field 'sevrity': unknown field",
        ),
        (
            lambda d: rule_entry(d, "vpc-changes")["reference"][0]["profiles"].append("cis-9.9"),
            "unknown profile 'cis-9.9'",
        ),
        (
            lambda d: rule_entry(d, "nacl-changes").update(id="vpc-changes"),
            "rule 'vpc-changes', field 'id': used twice",
        ),
        (
            lambda d: rule_entry(d, "vpc-changes")["reference"][0]["profiles"].remove("cis-1.2"),
            "rule 'vpc-changes': it has a cis-1.2 identifier but no reference for profile",
        ),
        (
            lambda d: rule_entry(d, "ssm-actions")["reference"][0]["profiles"].append("cis-1.2"),
            "rule 'ssm-actions': it has references for profile 'cis-1.2' but no cis-1.2 identifier",
        ),
        (
            lambda d: rule_entry(d, "unauthorized-api-calls")["reference"].pop(),
            "rule 'unauthorized-api-calls', profile 'cis-1.4': every applicable reference",
        ),
        (
            lambda d: rule_entry(d, "route-table-changes")["reference"][2].update(
                reading_of=["cis_audit_v9"]
            ),
            "reference 'intended:cis_audit_v3.0.0+', field 'reading_of'",
        ),
        (
            lambda d: d.update(default_profile="strict"),
            "field 'default_profile': unknown profile 'strict'",
        ),
    ],
    ids=[
        "severity",
        "typo",
        "unknown-profile",
        "duplicate-id",
        "section-without-reference",
        "reference-without-section",
        "only-broken",
        "reading-of-unknown",
        "default-profile",
    ],
)
def test_a_broken_data_file_says_which_rule_and_field(edit: Any, expected: str) -> None:
    assert expected in _broken(edit)
