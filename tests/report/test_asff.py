"""``--format asff``: Security Hub findings, valid for botocore's model of BatchImportFindings."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from report.report_demo import Demo
from report.report_schemas import asff_validator, botocore_errors

from scanner.catalog import load_catalog
from scanner.model import Link, Status
from scanner.report import render


def findings_of(demo_report: Demo) -> list[dict[str, Any]]:
    data = json.loads(render("asff", demo_report.findings, demo_report.context))
    assert isinstance(data, list)
    return data


def schema_errors(item: dict[str, Any]) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in asff_validator().iter_errors(item)]


def test_every_finding_imports_in_batches_of_one_hundred(demo_report: Demo) -> None:
    items = findings_of(demo_report)
    assert len(items) == len(demo_report.findings)
    for start in range(0, len(items), 100):
        assert botocore_errors(items[start : start + 100]) == ""
    for item in items:
        assert schema_errors(item) == [], item["Id"]
    assert len({item["Id"] for item in items}) == len(items)


def test_the_checks_catch_what_security_hub_would_refuse(demo_report: Demo) -> None:
    item = findings_of(demo_report)[0]
    assert "Title" in botocore_errors([{k: v for k, v in item.items() if k != "Title"}])
    batch = asff_validator("BatchImportFindingsRequest")
    assert batch.is_valid({"Findings": [item] * 100})
    assert not batch.is_valid({"Findings": [item] * 101})  # over BatchImportFindings' 100
    assert schema_errors({**item, "Severity": {"Label": "SEVERE"}}) != []
    assert schema_errors({**item, "Compliance": {"Status": "ERROR"}}) != []
    assert schema_errors({**item, "BrokenLink": "filter"}) != []


@pytest.mark.parametrize(
    ("status", "compliance", "label"),
    [
        (Status.PASS, "PASSED", "INFORMATIONAL"),
        (Status.FAIL, "FAILED", None),
        (Status.ERROR, "NOT_AVAILABLE", None),
    ],
)
def test_status_maps_to_compliance_status_and_severity(
    demo_report: Demo, status: Status, compliance: str, label: str | None
) -> None:
    finding = demo_report.first(status)
    [item] = json.loads(render("asff", [finding], demo_report.context))
    assert item["Compliance"]["Status"] == compliance
    assert item["Severity"]["Label"] == (label or finding.severity.upper())
    assert item["Severity"]["Original"] == finding.severity.upper()


def test_a_failing_finding_names_its_product_control_resources_and_fix(
    demo_report: Demo,
) -> None:
    finding = demo_report.first(Status.FAIL, broken_link=Link.LOGGING)
    [item] = json.loads(render("asff", [finding], demo_report.context))
    account = finding.account_id
    assert item["ProductArn"] == (
        f"arn:aws:securityhub:eu-west-1:{account}:product/{account}/default"
    )
    assert item["AwsAccountId"] == account
    assert item["GeneratorId"] == f"scanner/{finding.rule}"
    assert item["Id"] == f"scanner/recommended/{account}/{finding.rule}"
    assert item["CreatedAt"] == item["UpdatedAt"] == "2026-12-01T04:30:15.250Z"
    assert item["Types"] == ["Software and Configuration Checks/Industry and Regulatory Standards"]
    assert item["Compliance"]["SecurityControlId"] == finding.controls["securityhub"]
    assert item["Compliance"]["RelatedRequirements"] == [
        f"CIS AWS Foundations Benchmark v7.0.0/{finding.controls['cis-7.0']}"
    ]
    assert item["Compliance"]["StatusReasons"] == [
        {"ReasonCode": "BROKEN_LINK_LOGGING", "Description": finding.reason}
    ]
    assert [(r["Type"], r["Id"]) for r in item["Resources"]] == [
        ("AwsAccount", f"AWS::::Account:{account}"),
        ("AwsCloudTrailTrail", next(r.resource for r in finding.chain if r.link is Link.LOGGING)),
    ]
    assert item["Remediation"]["Recommendation"]["Text"] == finding.remediation["console"]


def test_the_security_hub_control_is_named_whatever_the_profile(demo_report: Demo) -> None:
    catalog = load_catalog()
    cis_12 = dataclasses.replace(demo_report.context, profile=catalog.profile("cis-1.2"))
    finding = demo_report.first(Status.FAIL, rule="security-group-changes")
    [item] = json.loads(render("asff", [finding], cis_12))
    assert item["Compliance"]["SecurityControlId"] == "CloudWatch.10"
    assert item["Compliance"]["RelatedRequirements"] == [
        "CIS AWS Foundations Benchmark v1.2.0/3.10"
    ]


def test_an_error_quotes_the_failed_call_and_offers_no_fix(demo_report: Demo) -> None:
    finding = demo_report.first(Status.ERROR)
    [item] = json.loads(render("asff", [finding], demo_report.context))
    assert item["Compliance"]["StatusReasons"][0]["ReasonCode"] == "CALL_FAILED"
    assert "AccessDenied" in item["Description"]
    assert "Remediation" not in item


def test_long_texts_are_cut_to_the_asff_limits(demo_report: Demo) -> None:
    finding = demo_report.first(Status.FAIL, broken_link=Link.LOGGING)
    long = dataclasses.replace(
        finding,
        title="T" * 400,
        reason="R" * 3000,
        remediation={"console": "C" * 2000},
    )
    [item] = json.loads(render("asff", [long], demo_report.context))
    assert len(item["Title"]) == 256 and item["Title"].endswith("…")
    assert len(item["Description"]) == 1024
    assert len(item["Remediation"]["Recommendation"]["Text"]) == 512
    assert botocore_errors([item]) == ""
