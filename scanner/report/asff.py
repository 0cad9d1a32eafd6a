"""``--format asff``: each finding in the AWS Security Finding Format, ready for Security Hub.

The output is a JSON array of ``AwsSecurityFinding`` objects; Security Hub's
``BatchImportFindings`` takes at most 100 per call, so split it, e.g.
``jq -c '_nwise(100) | {Findings: .}' findings.json`` and one
``aws securityhub batch-import-findings --cli-input-json`` per line. A test checks every object
against botocore's model of the API (the shape the AWS CLI and SDKs validate against), enums
included. The findings use the *default product* of the account they are about:
``ProductArn = arn:<partition>:securityhub:<region>:<account>:product/<account>/default``, which
Security Hub accepts from that account (or its administrator account); ``<region>`` is the region
the findings are imported into (the CLI takes it from ``AWS_REGION`` / ``AWS_DEFAULT_REGION``).

How a finding maps:

* ``Compliance.Status``: PASS -> PASSED, FAIL -> FAILED, ERROR -> NOT_AVAILABLE, which AWS
  defines as "could not be performed due to a service outage, API error" — an ERROR is a failed
  call, so neither PASSED nor FAILED (WARNING means "missing information or unsupported
  configuration", a property of the account rather than of the scan). ``StatusReasons`` say why:
  ``BROKEN_LINK_<LINK>`` or ``CALL_FAILED``, with the reason.
* ``Severity.Label``: the rule's severity upper-cased for FAIL and ERROR, INFORMATIONAL for PASS
  (as Security Hub labels passed control checks); ``Severity.Original`` keeps the rule's.
* ``GeneratorId``: ``scanner/<rule>``; ``Compliance.SecurityControlId``: the Security Hub control
  (CloudWatch.N) where the rule has one, whatever the profile; ``RelatedRequirements``:
  ``<standard>/<number>`` for the other standards the profile lists.
* ``Id``: ``scanner/<profile>/<account>/<rule>``, stable, so a later import updates the finding.
* ``Resources``: the account (``AwsAccount``), then the resource of the broken link (or of the
  unknown one for an ERROR), with ASFF's type for it.
* ``Remediation.Recommendation.Text``: the console fix of a FAIL, cut to ASFF's 512 characters
  (``scanner remediate`` prints it whole); ERROR and PASS carry none.

Texts are cut to ASFF's documented limits (Title 256, Description 1024 characters).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from scanner.model import Finding, Link, Status
from scanner.report.context import ReportContext, finding_uid, focus
from scanner.report.jsonl import json_array

SCHEMA_VERSION = "2018-10-08"
SECURITYHUB = "securityhub"  # the identifier family of Security Hub's control ids
TYPES = ["Software and Configuration Checks/Industry and Regulatory Standards"]
TITLE_MAX, DESCRIPTION_MAX, TEXT_MAX = 256, 1024, 512

COMPLIANCE_STATUS: Mapping[Status, str] = {
    Status.PASS: "PASSED",
    Status.FAIL: "FAILED",
    Status.ERROR: "NOT_AVAILABLE",
}
# ASFF's resource types (its ``Resources[].Type`` values); a metric filter and a log group
# have none of their own, so they are "Other" as ASFF prescribes.
RESOURCE_TYPES: Mapping[Link, str] = {
    Link.TRAIL: "AwsCloudTrailTrail",
    Link.LOGGING: "AwsCloudTrailTrail",
    Link.SELECTORS: "AwsCloudTrailTrail",
    Link.LOG_GROUP: "Other",
    Link.FILTER: "Other",
    Link.ALARM: "AwsCloudWatchAlarm",
    Link.ALARM_CONDITION: "AwsCloudWatchAlarm",
    Link.ACTIONS: "AwsCloudWatchAlarm",
    Link.TOPIC: "AwsSnsTopic",
    Link.SUBSCRIBER: "AwsSnsTopic",
    Link.TOPIC_KEY: "AwsKmsKey",
    Link.TOPIC_POLICY: "AwsSnsTopic",
    Link.DELIVERY: "AwsSnsTopic",
}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def product_arn(partition: str, region: str, account_id: str) -> str:
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def _resources(finding: Finding, context: ReportContext) -> list[dict[str, Any]]:
    partition = context.partition(finding.account_id)
    resources: list[dict[str, Any]] = [
        {
            "Type": "AwsAccount",
            "Id": f"AWS::::Account:{finding.account_id}",
            "Partition": partition,
            "Region": context.region,
        }
    ]
    link = focus(finding)
    if link is not None and link.resource:
        resource: dict[str, Any] = {
            "Type": RESOURCE_TYPES[link.link],
            "Id": link.resource,
            "Partition": context.partition(link.account_id or finding.account_id),
            "Region": link.region or context.region,
        }
        if link.detail:
            resource["Details"] = {"Other": {"link": str(link.link), "detail": link.detail}}
        resources.append(resource)
    return resources


def _compliance(finding: Finding, context: ReportContext) -> dict[str, Any]:
    controls = context.controls_of(finding)
    compliance: dict[str, Any] = {"Status": COMPLIANCE_STATUS[finding.status]}
    requirements = [f"{c.standard}/{c.id}" for c in controls if c.key != SECURITYHUB]
    if requirements:
        compliance["RelatedRequirements"] = requirements
    hub = finding.controls.get(SECURITYHUB)  # whatever the profile: it is Security Hub's name
    if hub:
        compliance["SecurityControlId"] = hub
    if finding.status is not Status.PASS:
        code = (
            f"BROKEN_LINK_{str(finding.broken_link).upper()}"
            if finding.broken_link is not None
            else "CALL_FAILED"
        )
        compliance["StatusReasons"] = [
            {"ReasonCode": code, "Description": _cut(finding.reason, DESCRIPTION_MAX)}
        ]
    return compliance


def _product_fields(finding: Finding, context: ReportContext) -> dict[str, str]:
    fields = {
        "scanner/rule": finding.rule,
        "scanner/profile": finding.profile,
        "scanner/status": str(finding.status),
        "scanner/account_name": finding.account_name,
    }
    if finding.broken_link is not None:
        fields["scanner/broken_link"] = str(finding.broken_link)
    path = context.ou_path(finding.account_id)
    if path:
        fields["scanner/ou_path"] = "/".join(path)
    if finding.missed_events:
        fields["scanner/missed_events"] = _cut(json.dumps(list(finding.missed_events)), 2048)
    return {key: value for key, value in fields.items() if value}


def security_finding(finding: Finding, context: ReportContext) -> dict[str, Any]:
    partition = context.partition(finding.account_id)
    severity = "INFORMATIONAL" if finding.status is Status.PASS else finding.severity.upper()
    result: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_uid(finding),
        "ProductArn": product_arn(partition, context.region, finding.account_id),
        "ProductName": "scanner",
        "CompanyName": "scanner",
        "GeneratorId": f"scanner/{finding.rule}",
        "AwsAccountId": finding.account_id,
        "Types": TYPES,
        "CreatedAt": context.timestamp,
        "UpdatedAt": context.timestamp,
        "Severity": {"Label": severity, "Original": finding.severity.upper()},
        "Title": _cut(f"{finding.title} ({finding.rule})", TITLE_MAX),
        "Description": _cut(finding.reason, DESCRIPTION_MAX),
        "Resources": _resources(finding, context),
        "Compliance": _compliance(finding, context),
        "ProductFields": _product_fields(finding, context),
        "RecordState": "ACTIVE",
    }
    fix = finding.remediation.get("console")
    if fix:
        result["Remediation"] = {"Recommendation": {"Text": _cut(fix, TEXT_MAX)}}
    return result


def write_asff(findings: Iterable[Finding], context: ReportContext) -> Iterator[str]:
    """A JSON array of findings, one per line, produced as findings come."""
    return json_array(security_finding(finding, context) for finding in findings)
