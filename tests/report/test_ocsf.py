"""``--format ocsf``: Compliance Findings (class 2003) valid against the published OCSF 1.5.0."""

from __future__ import annotations

import json
from typing import Any

import pytest
from report.report_demo import Demo
from report.report_schemas import ocsf_validator

from scanner.model import Link, Status
from scanner.report import render
from scanner.report.ocsf import OCSF_VERSION


def events(demo_report: Demo) -> list[dict[str, Any]]:
    data = json.loads(render("ocsf", demo_report.findings, demo_report.context))
    assert isinstance(data, list)
    return data


def validate(event: dict[str, Any]) -> list[str]:
    profiles = tuple(event["metadata"]["profiles"])
    validator = ocsf_validator("compliance_finding", profiles)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(event)]


def test_every_event_is_a_valid_ocsf_compliance_finding(demo_report: Demo) -> None:
    found = events(demo_report)
    assert len(found) == len(demo_report.findings)
    assert {(e["class_uid"], e["metadata"]["version"]) for e in found} == {(2003, OCSF_VERSION)}
    for event in found:
        assert validate(event) == [], event["finding_info"]["uid"]


def test_the_schema_check_catches_what_ocsf_forbids(demo_report: Demo) -> None:
    event = events(demo_report)[0]
    assert validate({**event, "class_uid": 2004}) != []  # Detection Finding is another class
    assert validate({**event, "compliance": {"status_id": 7}}) != []  # no such status
    assert validate({**event, "broken_link": "filter"}) != []  # not an OCSF attribute
    assert validate({k: v for k, v in event.items() if k != "cloud"}) != []  # cloud profile


@pytest.mark.parametrize(
    ("status", "status_id", "caption"),
    [(Status.PASS, 1, "Pass"), (Status.FAIL, 3, "Fail"), (Status.ERROR, 2, "Warning")],
)
def test_compliance_status_maps_pass_fail_and_error_to_pass_fail_and_warning(
    demo_report: Demo, status: Status, status_id: int, caption: str
) -> None:
    finding = demo_report.first(status)
    [event] = json.loads(render("ocsf", [finding], demo_report.context))
    compliance = event["compliance"]
    assert (compliance["status_id"], compliance["status"]) == (status_id, caption)
    assert compliance["status_code"] == str(status)
    assert compliance["status_detail"] == finding.reason


def test_a_failing_event_carries_the_account_the_chain_the_missed_events_and_the_fix(
    demo_report: Demo,
) -> None:
    finding = next(f for f in demo_report.findings if f.missed_events)
    [event] = json.loads(render("ocsf", [finding], demo_report.context))
    assert event["cloud"]["account"] == {
        "uid": finding.account_id,
        "name": finding.account_name,
        "type_id": 10,
        "type": "AWS Account",
    }
    assert event["cloud"]["org"]["ou_name"] == "/".join(
        demo_report.context.ou_path(finding.account_id)
    )
    assert event["finding_info"]["uid"] == (
        f"scanner/recommended/{finding.account_id}/{finding.rule}"
    )
    assert event["time"] == 1796099415250  # 2026-12-01T04:30:15.250Z in milliseconds
    assert event["time_dt"] == "2026-12-01T04:30:15.250Z"
    assert event["severity"] == finding.severity.capitalize()
    broken = event["resources"][0]
    assert broken["type"] == "AWS::Logs::MetricFilter"
    assert broken["data"] == {"link": "filter", "status": "broken"}
    assert event["unmapped"]["missed_events"] == list(finding.missed_events)
    assert event["unmapped"]["broken_link"] == str(Link.FILTER)
    assert event["remediation"]["desc"] == finding.remediation["console"]
    assert "CIS AWS Foundations Benchmark v7.0.0" in event["compliance"]["standards"]


def test_a_pass_is_informational(demo_report: Demo) -> None:
    [event] = json.loads(render("ocsf", [demo_report.first(Status.PASS)], demo_report.context))
    assert (event["severity_id"], event["severity"]) == (1, "Informational")
    assert "remediation" not in event
