"""Does a subscription receive what a CIS alarm sends? The questions the scanner asks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scanner.policy import (
    AlarmFacts,
    Delivery,
    DeliveryVerdict,
    MathQuery,
    Message,
    OneOf,
    PossibleMessages,
    Unknown,
    alarm_notification,
    judge_delivery,
    matches,
    parse_filter_policy,
)
from scanner.policy.filters import FilterPolicy

ACCOUNT = "111122223333"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:cis-alarms"


def cis_alarm(name: str = "cis-iam", **changes: Any) -> AlarmFacts:
    facts: dict[str, Any] = {
        "name": name,
        "arn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}",
        "account_id": ACCOUNT,
        "region": "us-east-1",
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "evaluation_periods": 1,
        "threshold": 1.0,
        "metric_name": "IAMPolicyEventCount",
        "namespace": "CISBenchmark",
        "statistic": "Sum",
        "period": 300,
        "alarm_actions": (TOPIC,),
        "description": None,
    }
    facts.update(changes)
    return AlarmFacts(**facts)


def judge(
    policy: str | None, scope: str | None = "MessageBody", alarm: AlarmFacts | None = None
) -> DeliveryVerdict:
    return judge_delivery(policy, scope, alarm_notification(alarm or cis_alarm()))


def test_no_policy_receives_every_notification() -> None:
    assert judge(None, None).outcome is Delivery.ALL
    assert judge("", None).outcome is Delivery.ALL
    assert judge("{}", None).outcome is Delivery.ALL
    assert judge("{}", "MessageBody").outcome is Delivery.ALL


def test_an_attribute_policy_drops_every_alarm_and_says_which_key() -> None:
    verdict = judge('{"severity": ["high"]}', None)
    assert verdict.outcome is Delivery.NONE
    assert verdict.keys == ("severity",)
    assert '"severity"' in verdict.reason
    assert "no message attributes" in verdict.reason


def test_an_attribute_policy_of_absences_only_lets_alarms_through() -> None:
    verdict = judge(
        '{"severity": [{"exists": false}], "team": [{"anything-but": "x"}, {"exists": false}]}',
        "MessageAttributes",
    )
    assert verdict.outcome is Delivery.ALL


def test_one_policy_passes_some_alarms_of_an_account_and_drops_others() -> None:
    policy = '{"AlarmName": [{"prefix": "cis-"}]}'
    assert judge(policy, alarm=cis_alarm("cis-iam")).outcome is Delivery.ALL
    dropped = judge(policy, alarm=cis_alarm("iam-changes"))
    assert dropped.outcome is Delivery.NONE
    assert dropped.keys == ("AlarmName",)
    assert '"iam-changes"' in dropped.reason
    assert '{"prefix": "cis-"}' in dropped.reason


def test_the_new_state_is_always_alarm() -> None:
    assert judge('{"NewStateValue": ["ALARM"]}').outcome is Delivery.ALL
    assert judge('{"NewStateValue": ["OK"]}').outcome is Delivery.NONE


def test_the_old_state_depends_on_where_the_alarm_came_from() -> None:
    verdict = judge('{"OldStateValue": ["OK"]}')
    assert verdict.outcome is Delivery.SOME
    assert verdict.fields == ("OldStateValue",)
    assert verdict.delivered_when == ((("OldStateValue", "OK"),),)
    assert 'only when OldStateValue is "OK"' in verdict.reason
    assert '"INSUFFICIENT_DATA"' in verdict.reason


def test_a_field_nobody_can_know_leaves_the_answer_open_and_names_it() -> None:
    verdict = judge('{"NewStateReason": [{"prefix": "x"}]}')
    assert verdict.outcome is Delivery.UNDECIDED
    assert verdict.fields == ("NewStateReason",)
    assert verdict.keys == ("NewStateReason",)


def test_an_unknown_field_still_exists() -> None:
    assert judge('{"NewStateReason": [{"exists": true}]}').outcome is Delivery.ALL
    assert judge('{"StateChangeTime": [{"exists": false}]}').outcome is Delivery.NONE


def test_nested_keys_reach_the_trigger() -> None:
    assert judge('{"Trigger": {"Namespace": ["CISBenchmark"]}}').outcome is Delivery.ALL
    other = judge('{"Trigger": {"Namespace": ["AWS/EC2"]}}')
    assert other.outcome is Delivery.NONE
    assert other.keys == ("Trigger.Namespace",)


def test_numbers_in_the_trigger_match_numerically() -> None:
    assert judge('{"Trigger": {"Threshold": [{"numeric": [">=", 1]}]}}').outcome is Delivery.ALL
    assert judge('{"Trigger": {"Period": [300]}}').outcome is Delivery.ALL
    assert judge('{"Trigger": {"Period": ["300"]}}').outcome is Delivery.NONE


def test_dimensions_and_actions_are_arrays_matched_by_any_element() -> None:
    alarm = cis_alarm(dimensions={"Team": "sec"})
    assert judge('{"AlarmActions": [{"suffix": ":cis-alarms"}]}').outcome is Delivery.ALL
    dims = '{"Trigger": {"Dimensions": {"name": ["Team"], "value": ["sec"]}}}'
    assert judge(dims, alarm=alarm).outcome is Delivery.ALL
    assert judge('{"OKActions": [{"exists": true}]}').outcome is Delivery.NONE


def test_an_or_over_the_old_state_and_the_name() -> None:
    policy = '{"$or": [{"AlarmName": ["cis-iam"]}, {"OldStateValue": ["OK"]}]}'
    assert judge(policy).outcome is Delivery.ALL
    assert judge(policy, alarm=cis_alarm("other")).outcome is Delivery.SOME


def test_an_unreadable_policy_is_undecided_with_the_reason() -> None:
    verdict = judge('{"AlarmName": [{"wildcard": "cis-*"}]}')
    assert verdict.outcome is Delivery.UNDECIDED
    assert "cannot be read" in verdict.reason
    assert "wildcard" in verdict.reason


def test_the_region_field_is_the_long_name_or_unknown() -> None:
    assert judge('{"Region": ["US East (N. Virginia)"]}').outcome is Delivery.ALL
    unknown = judge('{"Region": ["Somewhere"]}', alarm=cis_alarm(region="xx-nowhere-9"))
    assert unknown.outcome is Delivery.UNDECIDED
    assert unknown.fields == ("Region",)


def test_an_uncollected_description_is_unknown_and_an_absent_one_is_null() -> None:
    assert judge('{"AlarmDescription": [null]}').outcome is Delivery.ALL
    not_collected = judge('{"AlarmDescription": [null]}', alarm=cis_alarm(description=Unknown("?")))
    assert not_collected.outcome is Delivery.UNDECIDED


def test_the_notification_has_the_shape_cloudwatch_writes() -> None:
    body = alarm_notification(cis_alarm(datapoints_to_alarm=1, dimensions={"Team": "sec"})).body
    assert set(body) == {
        "AlarmName", "AlarmDescription", "AWSAccountId", "AlarmConfigurationUpdatedTimestamp",
        "NewStateValue", "NewStateReason", "StateChangeTime", "Region", "AlarmArn",
        "OldStateValue", "OKActions", "AlarmActions", "InsufficientDataActions", "Trigger",
    }  # fmt: skip
    trigger = body["Trigger"]
    assert trigger["StatisticType"] == "Statistic"
    assert trigger["Statistic"] == "SUM"
    assert trigger["Dimensions"] == [{"value": "sec", "name": "Team"}]
    assert trigger["Unit"] is None
    assert trigger["DatapointsToAlarm"] == 1
    assert trigger["EvaluateLowSampleCountPercentile"] == ""
    assert isinstance(trigger["TreatMissingData"], Unknown)
    assert body["OldStateValue"] == OneOf(("OK", "INSUFFICIENT_DATA"))
    assert alarm_notification(cis_alarm()).attributes == {}


def test_an_extended_statistic_alarm_names_its_statistic_type() -> None:
    trigger = alarm_notification(cis_alarm(statistic=None, extended_statistic="p99")).body[
        "Trigger"
    ]
    assert (trigger["StatisticType"], trigger["ExtendedStatistic"]) == ("ExtendedStatistic", "p99")
    assert "Statistic" not in trigger


def test_a_metric_math_alarm_lists_its_queries() -> None:
    math = cis_alarm(
        metric_name=None,
        namespace=None,
        statistic=None,
        period=None,
        metrics=(
            MathQuery(id="e1", expression="m1", return_data=True),
            MathQuery(
                id="m1",
                metric_name="IAMPolicyEventCount",
                namespace="CISBenchmark",
                period=300,
                stat="Sum",
            ),
        ),
    )
    policy = '{"Trigger": {"Metrics": {"MetricStat": {"Metric": {"Namespace": ["CISBenchmark"]}}}}}'
    assert judge(policy, alarm=math).outcome is Delivery.ALL
    assert judge('{"Trigger": {"Namespace": ["CISBenchmark"]}}', alarm=math).outcome is (
        Delivery.NONE
    )
    label = judge('{"Trigger": {"Metrics": {"Label": ["x"]}}}', alarm=math)
    assert label.outcome is Delivery.UNDECIDED
    assert label.fields == ("Trigger.Metrics.Label",)


def test_a_narrowed_old_state_is_one_known_value() -> None:
    verdict = judge('{"OldStateValue": ["OK"]}', alarm=cis_alarm(old_states=("OK",)))
    assert verdict.outcome is Delivery.ALL


FULLY_KNOWN = {
    "AlarmName": "cis-iam",
    "NewStateValue": "ALARM",
    "OldStateValue": OneOf(("OK", "INSUFFICIENT_DATA")),
    "Trigger": {"Period": 300, "Dimensions": [{"name": "Team", "value": OneOf(("a", "b"))}]},
}


@pytest.mark.parametrize(
    "policy",
    [
        '{"OldStateValue": ["OK"]}',
        '{"OldStateValue": [{"anything-but": "OK"}], "AlarmName": ["cis-iam"]}',
        '{"$or": [{"OldStateValue": ["OK"]}, {"Trigger": {"Dimensions": {"value": ["b"]}}}]}',
        '{"Trigger": {"Period": [{"numeric": [">", 60]}]}}',
        '{"Missing": [{"exists": false}], "Trigger": {"Dimensions": {"value": ["a"]}}}',
        '{"AlarmName": ["x"]}',
    ],
)
def test_the_judgment_agrees_with_the_matcher_on_every_concrete_message(policy: str) -> None:
    """With nothing unknown, SOME/ALL/NONE is exactly what matching each message says."""
    verdict = judge_delivery(policy, "MessageBody", PossibleMessages(FULLY_KNOWN))
    parsed = parse_filter_policy(policy, "MessageBody")
    assert isinstance(parsed, FilterPolicy)
    outcomes = {}
    for old in ("OK", "INSUFFICIENT_DATA"):
        for team in ("a", "b"):
            concrete = {
                **FULLY_KNOWN,
                "OldStateValue": old,
                "Trigger": {"Period": 300, "Dimensions": [{"name": "Team", "value": team}]},
            }
            outcomes[(old, team)] = matches(parsed, Message(body=json.dumps(concrete)))
    expected = (
        Delivery.ALL if all(outcomes.values())
        else Delivery.NONE if not any(outcomes.values())
        else Delivery.SOME
    )  # fmt: skip
    assert verdict.outcome is expected
    if expected is Delivery.SOME:
        delivered = {dict(case)["OldStateValue"] for case in verdict.delivered_when}
        assert delivered == {old for (old, _), ok in outcomes.items() if ok}
