"""``--format ocsf``: each finding as an OCSF 1.5.0 Compliance Finding (class 2003), one array.

The Open Cybersecurity Schema Framework is what Amazon Security Lake, Splunk and others ingest;
the events carry the ``cloud`` and ``datetime`` profiles, as Prowler's do. A test checks every
event against the published OCSF 1.5.0 schema. How a finding maps:

* ``compliance.status_id``: PASS -> 1 Pass, FAIL -> 3 Fail, ERROR -> 2 Warning (OCSF: "the check
  did not yield a result due to missing information" — exactly an ERROR: a call failed, so the
  answer is unknown); ``compliance.status_code`` keeps PASS / FAIL / ERROR.
* ``severity_id``: the rule's severity (Low 2, Medium 3, High 4, Critical 5) for FAIL and ERROR;
  a PASS is 1 Informational, as Security Hub does for passed checks. The rule's own severity
  stays in ``compliance.checks[0]``.
* ``finding_info.uid``: ``scanner/<profile>/<account>/<rule>``, stable across scans.
* ``resources``: every resource of the chain (trail, log group, metric filter, alarm, topic),
  the broken one first; ``unmapped`` holds what OCSF has no place for (the broken link, the
  events a filter misses, the gaps, the chain link by link).
* ``remediation.desc``: the console fix of a FAIL (``scanner remediate`` has the other forms).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from scanner.model import Finding, Status
from scanner.report.context import RESOURCE_TYPES, ReportContext, finding_uid, focus, region_of
from scanner.report.jsonl import json_array

OCSF_VERSION = "1.5.0"
CLASS_UID = 2003  # Compliance Finding
CATEGORY_UID = 2  # Findings
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE
AWS_ACCOUNT = 10  # account.type_id: AWS Account

COMPLIANCE_STATUS: dict[Status, tuple[int, str]] = {
    Status.PASS: (1, "Pass"),
    Status.ERROR: (2, "Warning"),
    Status.FAIL: (3, "Fail"),
}
SEVERITY: dict[str, tuple[int, str]] = {
    "informational": (1, "Informational"),
    "low": (2, "Low"),
    "medium": (3, "Medium"),
    "high": (4, "High"),
    "critical": (5, "Critical"),
}
NEW = (1, "New")  # the finding's status_id, as Prowler sets it: the consumer moves it on


def _severity(finding: Finding) -> tuple[int, str]:
    if finding.status is Status.PASS:
        return SEVERITY["informational"]
    return SEVERITY.get(finding.severity, (0, "Unknown"))


def _resources(finding: Finding, context: ReportContext) -> list[dict[str, Any]]:
    link = focus(finding)
    ordered = ([link] if link is not None else []) + [r for r in finding.chain if r is not link]
    seen: set[tuple[str, str]] = set()
    resources = []
    for result in ordered:
        kind = RESOURCE_TYPES[result.link]
        if not result.resource or (result.resource, kind) in seen:
            continue
        seen.add((result.resource, kind))
        resource: dict[str, Any] = {
            "uid": result.resource,
            "name": result.resource.rsplit(":", 1)[-1].rsplit("/", 1)[-1],
            "type": kind,
            "cloud_partition": context.partition(result.account_id or finding.account_id),
            "data": {"link": str(result.link), "status": str(result.status)},
        }
        if result.account_id:
            resource["owner"] = {"account": {"uid": result.account_id, "type_id": AWS_ACCOUNT}}
        if result.region:
            resource["region"] = result.region
        resources.append(resource)
    return resources


def _cloud(finding: Finding, context: ReportContext) -> dict[str, Any]:
    account: dict[str, Any] = {
        "uid": finding.account_id,
        "name": finding.account_name,
        "type_id": AWS_ACCOUNT,
        "type": "AWS Account",
    }
    cloud: dict[str, Any] = {
        "provider": "AWS",
        "account": account,
        "cloud_partition": context.partition(finding.account_id),
    }
    organization = context.inventory.organization_id
    if organization:
        org = {"uid": organization}
        path = context.ou_path(finding.account_id)
        if path:
            org["ou_name"] = "/".join(path)
        cloud["org"] = org
    region = region_of(finding)
    if region:
        cloud["region"] = region
    return cloud


def event(finding: Finding, context: ReportContext) -> dict[str, Any]:
    """One Compliance Finding event; ``None`` never appears (OCSF's schemas reject nulls)."""
    status_id, status = COMPLIANCE_STATUS[finding.status]
    severity_id, severity = _severity(finding)
    controls = context.controls_of(finding)
    rule_severity = SEVERITY.get(finding.severity, (0, "Unknown"))
    compliance: dict[str, Any] = {
        "status_id": status_id,
        "status": status,
        "status_code": str(finding.status),
        "status_detail": finding.reason,
        "control": controls[0].label if controls else finding.rule,
        "standards": list(dict.fromkeys(c.standard for c in controls)),
        "requirements": [c.label for c in controls],
        "checks": [
            {
                "uid": finding.rule,
                "name": finding.title,
                "severity_id": rule_severity[0],
                "severity": rule_severity[1],
                "status_id": status_id,
                "status": status,
                "standards": [c.standard for c in controls],
            }
        ],
    }
    if finding.rule in context.rationale:
        compliance["desc"] = context.rationale[finding.rule]
    time = {"time": context.epoch_ms, "time_dt": context.timestamp}
    result: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": TYPE_UID,
        "type_name": "Compliance Finding: Create",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": NEW[0],
        "status": NEW[1],
        "status_code": str(finding.status),
        "status_detail": finding.reason,
        "message": f"{finding.title}: {finding.reason}",
        **time,
        "metadata": {
            "version": OCSF_VERSION,
            "profiles": ["cloud", "datetime"],
            "event_code": finding.rule,
            "uid": finding_uid(finding),
            "product": {
                "uid": "scanner",
                "name": "scanner",
                "vendor_name": "scanner",
                **({"version": context.version} if context.version else {}),
            },
            **(
                {"tenant_uid": context.inventory.organization_id}
                if context.inventory.organization_id
                else {}
            ),
        },
        "finding_info": {
            "uid": finding_uid(finding),
            "title": finding.title,
            "desc": finding.reason,
            "types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
            "created_time": context.epoch_ms,
            "created_time_dt": context.timestamp,
        },
        "cloud": _cloud(finding, context),
        "compliance": compliance,
        "resources": _resources(finding, context),
        "unmapped": _unmapped(finding, context),
    }
    fix = finding.remediation.get("console")
    if fix:
        result["remediation"] = {"desc": fix}
    return result


def _unmapped(finding: Finding, context: ReportContext) -> dict[str, Any]:
    data: dict[str, Any] = {
        "profile": finding.profile,
        "ou_path": list(context.ou_path(finding.account_id)),
        "chain": [
            {"link": str(r.link), "status": str(r.status), "detail": r.detail}
            for r in finding.chain
        ],
    }
    if finding.broken_link is not None:
        data["broken_link"] = str(finding.broken_link)
    if finding.reference:
        data["reference"] = finding.reference
    if finding.missed_events:
        data["missed_events"] = list(finding.missed_events)
    if finding.gaps:
        data["gaps"] = list(finding.gaps)
    if finding.notes:
        data["notes"] = list(finding.notes)
    return data


def write_ocsf(findings: Iterable[Finding], context: ReportContext) -> Iterator[str]:
    """A JSON array, one event per line, produced as findings come."""
    return json_array(event(finding, context) for finding in findings)
