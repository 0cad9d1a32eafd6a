"""The CloudFormation format: templates that say the same fix, one stack per region."""

from __future__ import annotations

import pytest
import yaml
from remediation_cases import (
    BROKEN,
    FULL,
    HOME,
    LOG_GROUP,
    MISSING,
    OK,
    REGION,
    TOPIC,
    fix,
    made,
    rule,
)

from scanner.model import Link, LinkStatus
from scanner.patterns import parse


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
    text = fix(made(broken, after), {**FULL, "topic_arn": TOPIC})["cloudformation"]
    assert all(d["Resources"] for d in yaml.safe_load_all(text))
