"""The CloudFormation format: templates that say the same fix, one stack per region."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from remediation.remediation_cases import (
    ACCOUNT,
    BROKEN,
    FULL,
    HOME,
    KEY_ARN,
    LOG_GROUP,
    MISSING,
    OK,
    REGION,
    STRICT,
    TOPIC,
    cfn_lint,
    documents,
    evaluated,
    fix,
    made,
    rule,
    run_script,
)

from scanner.model import Account, Inventory, Link, LinkStatus, Region
from scanner.patterns import parse
from scanner.remediation import Document


def test_cloudformation_is_json_with_the_same_fix() -> None:
    r = rule()
    text = fix(made(Link.FILTER, MISSING))["cloudformation"]
    (document,) = list(yaml.safe_load_all(text))
    found = document["Resources"]
    metric_filter = found["IamPolicyChangesFilter"]["Properties"]
    assert metric_filter["LogGroupName"] == LOG_GROUP
    assert parse(metric_filter["FilterPattern"]) == r.accepted_in("recommended")[0].pattern
    alarm = found["IamPolicyChangesAlarm"]["Properties"]
    assert (alarm["Threshold"], alarm["Period"], alarm["Statistic"]) == (1, 300, "Sum")
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # What the scan cannot know is a parameter, said what it stands for.
    assert found["AlarmTopicSubscription"]["Properties"]["Endpoint"] == {"Ref": "EmailAddress"}
    assert "e-mail" in document["Parameters"]["EmailAddress"]["Description"]
    assert found["AlarmTopicSubscription"]["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_cloudformation_puts_each_region_in_its_own_stack() -> None:
    text = fix(made(Link.LOGGING, also={Link.FILTER: BROKEN}))["cloudformation"]
    documents = list(yaml.safe_load_all(text))
    types = [sorted(r["Type"] for r in d["Resources"].values()) for d in documents]
    assert types[0] == ["AWS::CloudTrail::Trail"]
    assert "AWS::CloudWatch::Alarm" in types[1]
    assert f"Stack in region {HOME}" in text and f"Stack in region {REGION}" in text


@pytest.mark.parametrize("broken", list(Link), ids=str)
@pytest.mark.parametrize("after", [OK, MISSING, BROKEN], ids=str)
def test_every_broken_link_gives_templates_with_resources(broken: Link, after: LinkStatus) -> None:
    found = documents(made(broken, after), "cloudformation", {**FULL, "topic_arn": TOPIC})
    templates = [json.loads(text) for name, text in found.items() if name.endswith(".json")]
    assert all(t["Resources"] for t in templates)
    # What no template can make is a script beside them.
    assert templates or set(found) == {f"{ACCOUNT}-commands.sh"}


def test_what_the_scan_cannot_know_is_a_parameter_and_an_unknown_region_the_stacks(
    tmp_path: Path,
) -> None:
    inv = Inventory(accounts=(Account(id=ACCOUNT, name="prod", regions={HOME: Region()}),))
    text = evaluated(inv).remediation["cloudformation"]
    template = json.loads(text)
    assert set(template["Parameters"]) == {"S3BucketName", "EmailAddress"}
    found = template["Resources"]
    assert found["Trail"]["Properties"]["S3BucketName"] == {"Ref": "S3BucketName"}
    policy = found["CloudTrailLogsRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert policy["Statement"][0]["Resource"]["Fn::Sub"].startswith(
        f"arn:aws:logs:${{AWS::Region}}:{ACCOUNT}:log-group:"
    )
    assert found["Trail"]["Properties"]["CloudWatchLogsLogGroupArn"] == {
        "Fn::GetAtt": ["CloudTrailLogGroup", "Arn"]
    }
    assert cfn_lint([Document("no-trail.json", text)], tmp_path) == ""


def test_a_resource_that_exists_is_retained_and_says_to_import_it() -> None:
    context = {**FULL, "filter_name": "IAMPolicyChangesFilter"}
    template = json.loads(fix(made(Link.FILTER, OK), context)["cloudformation"])
    (resource,) = template["Resources"].values()
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    assert resource["Metadata"]["Remediation"]["Import"] == (
        'Metric filter "IAMPolicyChangesFilter" exists: import it into the stack first '
        "(resource import)."
    )


def test_the_commands_beside_the_templates_are_a_script_that_stops_at_the_first_failure(
    tmp_path: Path,
) -> None:
    # A key CloudFormation cannot enable, and a topic policy it declares.
    context = {
        **FULL,
        "topic_owner": ACCOUNT,
        "key_arn": KEY_ARN,
        "key_manager": "CUSTOMER",
        "key_state": "PendingDeletion",
    }
    finding = made(Link.TOPIC_KEY, also={Link.TOPIC_POLICY: BROKEN})
    found = [Document(n, t) for n, t in documents(finding, "cloudformation", context).items()]
    (script,) = [d for d in found if d.name == f"{ACCOUNT}-commands.sh"]
    assert script.text.splitlines()[:2] == ["#!/usr/bin/env bash", STRICT]
    assert script.executable
    assert [d.executable for d in found if d.name.endswith(".json")] == [False]
    path = tmp_path / script.name
    path.write_text(script.text)
    path.chmod(0o755)
    cancel = f"kms cancel-key-deletion --region {REGION} --key-id {KEY_ARN}"
    enable = f"kms enable-key --region {REGION} --key-id {KEY_ARN}"
    assert run_script(path, tmp_path / "ok", aws_exit=0) == (0, [cancel, enable])
    assert run_script(path, tmp_path / "failing", aws_exit=1) == (1, [cancel])
