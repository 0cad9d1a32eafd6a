"""The evaluator walks every link of the chain; each test breaks one and reads the finding."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from evaluate.iam_chain import ALARM, FILTER, METRIC, NAMESPACE, RULE, TOPIC

from scanner.catalog import Catalog, load_catalog
from scanner.evaluate import covering_trails, evaluate
from scanner.model import (
    Account,
    AdvancedEventSelector,
    CollectionError,
    EventSelector,
    FieldSelector,
    Finding,
    Inventory,
    Link,
    LinkStatus,
    MetricQuery,
    MetricStat,
    Status,
    Subscription,
)
from scanner.remediation import plan_of
from scanner.testing import (
    LOG_GROUP_NAME,
    MANAGEMENT_ACCOUNT_ID,
    MEMBER_ACCOUNT_ID,
    event_names,
    healthy_account,
    member_account,
    organization,
    replace_account,
    single_account,
    topic_arn,
    trail_arn,
    with_alarm,
    with_errors,
    with_filter,
    with_log_group,
    with_region,
    with_regions,
    with_topic,
    with_trail,
    with_transformation,
)

IAM_EVENTS = event_names("iam-policy-changes")


def only(*rule_ids: str) -> Catalog:
    """The real catalog restricted to some rules, so a test judges only what it looks at."""
    catalog = load_catalog()
    return dataclasses.replace(catalog, rules=tuple(catalog.rule(r) for r in rule_ids))


def healthy(rule: str = RULE) -> Account:
    return healthy_account(rules=[rule])


def check(
    subject: Account | Inventory, rule: str = RULE, account_id: str = MEMBER_ACCOUNT_ID
) -> Finding:
    inventory = single_account(subject) if isinstance(subject, Account) else subject
    findings = [f for f in evaluate(inventory, catalog=only(rule)) if f.account_id == account_id]
    assert len(findings) == 1
    return findings[0]


def link_status(finding: Finding, link: Link) -> LinkStatus:
    return next(r.status for r in finding.chain if r.link is link)


def iam_pattern(events: tuple[str, ...], joiner: str = "||") -> str:
    names = f" {joiner} ".join(f'($.eventName = "{name}")' for name in events)
    return f'{{ ($.eventSource = "iam.amazonaws.com") && ({names}) }}'


def assert_fails(finding: Finding, link: Link, reason: str) -> None:
    assert finding.status is Status.FAIL, finding.reason
    assert finding.broken_link is link
    assert finding.reason == reason
    assert link_status(finding, link) is LinkStatus.BROKEN


# --------------------------------------------------------------------------------------------
# A healthy chain.


def test_healthy_account_passes_and_names_its_chain() -> None:
    finding = check(healthy())
    assert finding.status is Status.PASS
    assert finding.broken_link is None
    assert [r.link for r in finding.chain] == list(Link)
    assert {r.status for r in finding.chain} == {LinkStatus.OK}
    assert finding.reason == (
        'monitored through trail "management-events", log group "aws-cloudtrail-logs" in '
        f'us-east-1, metric filter "{FILTER}", alarm "{ALARM}", topic {TOPIC}'
    )
    rule = load_catalog().rule(RULE)
    assert (finding.title, finding.severity) == (rule.title, rule.severity)
    assert finding.profile == "recommended"
    assert finding.remediation == {}  # nothing to remediate


def test_every_rule_of_every_profile_passes_on_a_healthy_account() -> None:
    catalog = load_catalog()
    for profile in catalog.profiles:
        account = healthy_account(profile=profile.name)
        findings = evaluate(single_account(account), profile.name)
        assert len(findings) == len(catalog.rules_in(profile.name))
        assert {f.status for f in findings} == {Status.PASS}, profile.name


def test_findings_round_trip_through_json() -> None:
    account = with_filter(healthy(), FILTER, pattern=iam_pattern(IAM_EVENTS[:-1]))
    finding = check(account)
    assert Finding.from_json(json.loads(json.dumps(finding.to_json()))) == finding


# --------------------------------------------------------------------------------------------
# Trail links.


def test_single_region_trail_fails_the_trail_link() -> None:
    finding = check(with_trail(healthy(), is_multi_region=False))
    assert_fails(finding, Link.TRAIL, 'trail "management-events" records only us-east-1')
    assert link_status(finding, Link.SUBSCRIBER) is LinkStatus.OK  # later links still judged


def test_stopped_trail_fails_the_logging_link() -> None:
    finding = check(with_trail(healthy(), is_logging=False))
    assert_fails(finding, Link.LOGGING, 'trail "management-events" is not logging (stopped)')


def test_read_only_selectors_fail() -> None:
    finding = check(with_trail(healthy(), event_selectors=(EventSelector("ReadOnly", True),)))
    assert_fails(
        finding,
        Link.SELECTORS,
        'trail "management-events" records only read-only management events',
    )


def test_read_and_write_selectors_together_record_everything() -> None:
    selectors = (EventSelector("ReadOnly", True), EventSelector("WriteOnly", True))
    assert check(with_trail(healthy(), event_selectors=selectors)).status is Status.PASS


def test_no_management_events_fail() -> None:
    finding = check(with_trail(healthy(), event_selectors=(EventSelector("All", False),)))
    assert_fails(finding, Link.SELECTORS, 'trail "management-events" records no management events')


MANAGEMENT = FieldSelector("eventCategory", equals=("Management",))


def advanced(*selectors: tuple[FieldSelector, ...]) -> dict[str, Any]:
    return {
        "event_selectors": (),
        "advanced_event_selectors": tuple(
            AdvancedEventSelector(f"selector {i}", fields) for i, fields in enumerate(selectors)
        ),
    }


@pytest.mark.parametrize(
    "selectors",
    [
        [(MANAGEMENT,)],
        [
            (MANAGEMENT, FieldSelector("readOnly", equals=("true",))),
            (MANAGEMENT, FieldSelector("readOnly", equals=("false",))),
        ],
        [(MANAGEMENT,), (FieldSelector("eventCategory", equals=("Data",)),)],
    ],
    ids=["management", "read-plus-write", "with-data-events"],
)
def test_advanced_selectors_recording_all_management_events_pass(
    selectors: list[tuple[FieldSelector, ...]],
) -> None:
    assert check(with_trail(healthy(), **advanced(*selectors))).status is Status.PASS


@pytest.mark.parametrize(
    ("selectors", "reason"),
    [
        (
            [(MANAGEMENT, FieldSelector("readOnly", equals=("true",)))],
            'trail "management-events" records only read-only management events',
        ),
        (
            [(FieldSelector("eventCategory", equals=("Data",)),)],
            'trail "management-events" records no management events',
        ),
    ],
    ids=["read-only", "data-only"],
)
def test_advanced_selectors_missing_management_events_fail(
    selectors: list[tuple[FieldSelector, ...]], reason: str
) -> None:
    finding = check(with_trail(healthy(), **advanced(*selectors)))
    assert_fails(finding, Link.SELECTORS, reason)


def test_trail_without_log_group_fails_and_leaves_later_links_missing() -> None:
    finding = check(with_trail(healthy(), log_group_arn=None))
    assert_fails(
        finding, Link.LOG_GROUP, 'trail "management-events" does not deliver to CloudWatch Logs'
    )
    later = [r.status for r in finding.chain if r.link.position > Link.LOG_GROUP.position]
    assert set(later) == {LinkStatus.MISSING}


def test_deleted_log_group_fails() -> None:
    finding = check(with_log_group(healthy(), exists=False))
    assert_fails(
        finding,
        Link.LOG_GROUP,
        f'log group "{LOG_GROUP_NAME}" of trail "management-events" does not exist',
    )


def test_no_trail_at_all_fails() -> None:
    account = with_region(healthy(), "us-east-1", trails=())
    account = with_region(account, "eu-west-1", trails=())
    finding = check(account)
    assert_fails(
        finding,
        Link.TRAIL,
        f"no multi-region or organization trail records the events of account {MEMBER_ACCOUNT_ID}",
    )


def test_trail_copies_in_every_region_are_one_trail() -> None:
    account = healthy()
    trails, listed = covering_trails(single_account(account), account)
    assert listed
    assert [t.arn for t in trails] == [trail_arn(MEMBER_ACCOUNT_ID)]


# --------------------------------------------------------------------------------------------
# The metric filter.


def test_filter_missing_events_fails_and_lists_them() -> None:
    events = tuple(e for e in IAM_EVENTS if e not in ("DetachGroupPolicy", "PutUserPolicy"))
    finding = check(with_filter(healthy(), FILTER, pattern=iam_pattern(events)))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.FILTER
    assert finding.reason.startswith(
        f'metric filter "{FILTER}" on log group "{LOG_GROUP_NAME}" misses 2 events ('
    )
    assert "DetachGroupPolicy" in finding.reason
    assert "PutUserPolicy" in finding.reason
    missed = {e["eventName"] for e in finding.missed_events}
    assert missed == {"DetachGroupPolicy", "PutUserPolicy"}
    assert all(e["eventSource"] == "iam.amazonaws.com" for e in finding.missed_events)
    assert len(finding.gaps) == 2
    assert finding.reference is not None
    assert finding.patterns == (iam_pattern(events),)  # what the missed events were judged by


def test_a_finding_without_a_filter_judged_carries_no_pattern() -> None:
    assert check(with_trail(healthy(), log_group_arn=None)).patterns == ()


def test_a_finding_saved_before_patterns_existed_still_reads() -> None:
    saved = check(healthy()).to_json()
    del saved["patterns"]
    assert Finding.from_json(saved).patterns == ()


def test_and_written_for_or_fails() -> None:
    finding = check(with_filter(healthy(), FILTER, pattern=iam_pattern(IAM_EVENTS, "&&")))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.FILTER
    assert "misses 16 events" in finding.reason


def test_unparsable_pattern_fails_with_the_syntax_error() -> None:
    finding = check(with_filter(healthy(), FILTER, pattern="{ ($.eventName = ) }"))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.FILTER
    assert "has a pattern that does not parse: at position" in finding.reason
    assert any("at position" in note for note in finding.notes)


def test_log_group_without_filters_fails() -> None:
    finding = check(with_log_group(healthy(), metric_filters=()))
    assert_fails(finding, Link.FILTER, f'log group "{LOG_GROUP_NAME}" has no metric filter')


def test_closest_filter_explains_a_failure() -> None:
    """Another rule's filter with a working alarm is not what a reader needs to see."""
    account = healthy_account(rules=[RULE, "root-account-usage"])
    account = with_filter(account, FILTER, pattern=iam_pattern(IAM_EVENTS[1:]))
    finding = check(account)
    assert finding.reason.startswith(f'metric filter "{FILTER}"')
    assert "misses 1 event (DeleteGroupPolicy)" in finding.reason


def test_furthest_chain_explains_a_failure() -> None:
    """Of a covering filter without alarm and a filter missing events, the first is further."""
    account = healthy()
    copy = dataclasses.replace(
        (account.regions["us-east-1"].log_groups[LOG_GROUP_NAME].metric_filters or ())[0],
        name="narrow",
        pattern=iam_pattern(IAM_EVENTS[:3]),
    )
    filters = (account.regions["us-east-1"].log_groups[LOG_GROUP_NAME].metric_filters or ()) + (
        copy,
    )
    account = with_log_group(account, metric_filters=filters)
    account = with_transformation(account, FILTER, metric_name="Elsewhere")
    finding = check(account)
    assert_fails(
        finding,
        Link.ALARM,
        f'no alarm in us-east-1 watches metric {NAMESPACE}/Elsewhere of metric filter "{FILTER}"',
    )


# --------------------------------------------------------------------------------------------
# The alarm.


def test_alarm_on_another_metric_fails() -> None:
    finding = check(with_alarm(healthy(), ALARM, metric_name="SomethingElse"))
    assert_fails(
        finding,
        Link.ALARM,
        f'no alarm in us-east-1 watches metric {NAMESPACE}/{METRIC} of metric filter "{FILTER}"',
    )


def test_alarm_with_other_dimensions_does_not_watch_the_metric() -> None:
    finding = check(with_alarm(healthy(), ALARM, dimensions={"Region": "us-east-1"}))
    assert finding.broken_link is Link.ALARM


def math_alarm(
    account: Account, expression: str, stat: str = "Sum", other: bool = False
) -> Account:
    """An alarm on ``expression`` over m1, the filter's metric, and with ``other`` m2, a metric
    of another name whose datapoints the scanner does not read."""
    metric = MetricStat(NAMESPACE, METRIC, stat, 300)
    queries = (
        MetricQuery("m1", metric_stat=metric),
        *(
            [MetricQuery("m2", metric_stat=MetricStat(NAMESPACE, "Other", "Sum", 300))]
            if other
            else []
        ),
        MetricQuery("e1", expression=expression, return_data=True),
    )
    return with_alarm(
        account, ALARM, metric_name=None, namespace=None, statistic=None, metrics=queries
    )


@pytest.mark.parametrize(
    "expression",
    ["m1", "FILL(m1, 0) * 1", "SUM(METRICS())", "MAX([m1, m1 * 2]) * 2", "(m1 - -1) / 2"],
)
def test_metric_math_alarm_on_the_filter_metric_passes(expression: str) -> None:
    finding = check(math_alarm(healthy(), expression))
    assert finding.status is Status.PASS, finding.reason


def test_metric_math_alarm_that_one_event_does_not_trip_fails() -> None:
    assert_fails(
        check(math_alarm(healthy(), "m1 / 2")),
        Link.ALARM_CONDITION,
        f'alarm "{ALARM}" fires only when m1 / 2 >= 1 but one event gives 0.5',
    )


@pytest.mark.parametrize("expression", ["m1 + m2", "FILL(m1, 0) + FILL(m2, 0)", "SUM(METRICS())"])
def test_metric_math_reading_another_metric_cannot_be_proven(expression: str) -> None:
    # What m1 + m2 gives depends on m2's datapoints ("missing values are treated as 0" only
    # where the other series has one), which the scanner does not read.
    finding = check(math_alarm(healthy(), expression, other=True))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ALARM_CONDITION
    assert finding.reason == (
        f'cannot prove alarm "{ALARM}" fires: query "m2" reads {NAMESPACE}/Other, not the metric '
        f"of the filter ({NAMESPACE}/{METRIC}), and the scanner does not read its datapoints"
    )


def test_metric_math_beyond_the_supported_language_cannot_be_proven() -> None:
    finding = check(math_alarm(healthy(), "ANOMALY_DETECTION_BAND(m1, 2)"))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ALARM_CONDITION
    assert finding.reason.startswith("cannot prove what the expression")
    assert "ANOMALY_DETECTION_BAND is not supported" in finding.reason


def test_sum_greater_than_one_fails() -> None:
    finding = check(with_alarm(healthy(), ALARM, comparison_operator="GreaterThanThreshold"))
    assert_fails(
        finding,
        Link.ALARM_CONDITION,
        f'alarm "{ALARM}" fires only when Sum > 1 but one event gives 1',
    )


def test_three_of_three_datapoints_treating_missing_data_as_not_breaching_fail() -> None:
    finding = check(with_alarm(healthy(), ALARM, evaluation_periods=3))
    assert_fails(
        finding,
        Link.ALARM_CONDITION,
        f'alarm "{ALARM}" needs 3 of 3 datapoints breaching and treats missing data as not '
        "breaching, so one event never fires it",
    )


def test_one_of_three_datapoints_passes() -> None:
    account = with_alarm(healthy(), ALARM, evaluation_periods=3, datapoints_to_alarm=1)
    assert check(account).status is Status.PASS


def test_sample_count_of_one_passes() -> None:
    account = with_alarm(healthy(), ALARM, statistic="SampleCount")
    assert check(account).status is Status.PASS


def test_average_diluted_by_the_default_value_fails() -> None:
    account = with_transformation(healthy(), FILTER, default_value=0.0)
    account = with_alarm(account, ALARM, statistic="Average")
    finding = check(account)
    assert_fails(
        finding,
        Link.ALARM_CONDITION,
        f'alarm "{ALARM}" fires only when Average >= 1 but one event gives 0 '
        "once other log events add the default value 0",
    )


def test_sum_with_a_zero_default_value_passes() -> None:
    account = with_transformation(healthy(), FILTER, default_value=0.0)
    assert check(account).status is Status.PASS


def test_alarm_that_breaches_without_any_event_fails() -> None:
    account = with_transformation(healthy(), FILTER, default_value=1.0)
    finding = check(account)
    assert finding.broken_link is Link.ALARM_CONDITION
    assert finding.reason.startswith(f'alarm "{ALARM}" already breaches without any event')


def test_missing_data_treated_as_breaching_fails() -> None:
    finding = check(with_alarm(healthy(), ALARM, treat_missing_data="breaching"))
    assert_fails(
        finding,
        Link.ALARM_CONDITION,
        f'alarm "{ALARM}" treats missing data as breaching, so it sits in ALARM without any '
        "event and never notifies one",
    )


def test_metric_value_taken_from_the_event_cannot_be_proven() -> None:
    finding = check(with_transformation(healthy(), FILTER, metric_value="$.count"))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ALARM_CONDITION
    assert finding.reason == (
        f'cannot prove alarm "{ALARM}" fires: the metric value "$.count" comes from the event'
    )


def test_anomaly_detection_alarm_cannot_be_proven() -> None:
    account = with_alarm(
        healthy(), ALARM, comparison_operator="GreaterThanUpperThreshold", threshold=None
    )
    finding = check(account)
    assert finding.broken_link is Link.ALARM_CONDITION
    assert finding.reason.startswith(f'cannot prove alarm "{ALARM}" fires')


def test_less_than_threshold_never_fires_on_an_event() -> None:
    finding = check(with_alarm(healthy(), ALARM, comparison_operator="LessThanThreshold"))
    assert finding.broken_link is Link.ALARM_CONDITION


# --------------------------------------------------------------------------------------------
# Actions, topic, subscriber.


def test_actions_disabled_fail() -> None:
    finding = check(with_alarm(healthy(), ALARM, actions_enabled=False))
    assert_fails(finding, Link.ACTIONS, f'alarm "{ALARM}" has its actions disabled')


def test_alarm_without_sns_action_fails() -> None:
    lambda_arn = "arn:aws:lambda:us-east-1:222222222222:function:notify"
    finding = check(with_alarm(healthy(), ALARM, alarm_actions=(lambda_arn,)))
    assert_fails(
        finding,
        Link.ACTIONS,
        f'alarm "{ALARM}" has no SNS topic among its alarm actions '
        f"(its alarm actions: {lambda_arn})",
    )


def test_missing_topic_fails() -> None:
    finding = check(with_topic(healthy(), TOPIC, exists=False))
    assert_fails(finding, Link.TOPIC, f"topic {TOPIC} does not exist")


def test_topic_absent_from_a_collected_region_does_not_exist() -> None:
    gone = topic_arn(MEMBER_ACCOUNT_ID, name="deleted")
    finding = check(with_alarm(healthy(), ALARM, alarm_actions=(gone,)))
    assert_fails(finding, Link.TOPIC, f"topic {gone} does not exist")


def test_only_pending_subscription_fails() -> None:
    pending = Subscription("PendingConfirmation", "email", "a@example.com", confirmed=False)
    finding = check(with_topic(healthy(), TOPIC, subscriptions=(pending,)))
    assert_fails(
        finding, Link.SUBSCRIBER, f"topic {TOPIC} has no confirmed subscription (1 pending)"
    )


def test_one_good_topic_among_several_is_enough() -> None:
    gone = topic_arn(MEMBER_ACCOUNT_ID, name="deleted")
    account = with_alarm(healthy(), ALARM, alarm_actions=(gone, TOPIC))
    assert check(account).status is Status.PASS


# --------------------------------------------------------------------------------------------
# Organizations.


def test_organization_trail_covers_a_member_with_the_management_accounts_resources() -> None:
    inventory = organization([member_account()], rules=[RULE])
    finding = check(inventory)
    assert finding.status is Status.PASS
    assert {r.account_id for r in finding.chain} == {MANAGEMENT_ACCOUNT_ID}
    assert f"topic {topic_arn(MANAGEMENT_ACCOUNT_ID)}" in finding.reason
    assert finding.reason.endswith(
        f'(organization trail "management-events" of account {MANAGEMENT_ACCOUNT_ID})'
    )


def test_member_failure_points_at_the_management_accounts_alarm() -> None:
    inventory = organization([member_account()], rules=[RULE])
    management = with_alarm(inventory.accounts[0], ALARM, actions_enabled=False)
    finding = check(replace_account(inventory, management))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ACTIONS
    alarm_link = next(r for r in finding.chain if r.link is Link.ACTIONS)
    assert alarm_link.account_id == MANAGEMENT_ACCOUNT_ID
    assert alarm_link.resource.startswith(f"arn:aws:cloudwatch:us-east-1:{MANAGEMENT_ACCOUNT_ID}:")


def _member_with_own_trail(**trail: Any) -> Inventory:
    """A member whose own trail monitors RULE but for ``trail``'s changes, beside the
    organization trail, whose alarm does not notify (its actions are disabled)."""
    inventory = organization([member_account()], rules=[RULE])
    management = with_alarm(inventory.accounts[0], ALARM, actions_enabled=False)
    (org_trail,) = inventory.accounts[1].regions["us-east-1"].trails or ()
    own = with_trail(healthy_account(rules=[RULE]), "management-events", **trail)
    own = dataclasses.replace(own, name="workload")
    own = with_regions(
        own, lambda _, r: dataclasses.replace(r, trails=(*(r.trails or ()), org_trail))
    )
    return replace_account(replace_account(inventory, management), own)


def test_a_member_explained_by_the_organization_trail_names_its_own_trail_and_both_fixes() -> None:
    """The organization trail's chain gets furthest, so it explains the FAIL; the member's own
    trail, which delivers to no log group, is named too, and the fix is given both ways."""
    finding = check(_member_with_own_trail(log_group_arn=None))
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ACTIONS  # the verdict and its link are unchanged
    assert finding.reason == (
        f'alarm "{ALARM}" has its actions disabled (organization trail "management-events" of '
        f"account {MANAGEMENT_ACCOUNT_ID}, the chain that gets furthest); its own trail "
        '"management-events" breaks sooner: trail "management-events" does not deliver to '
        "CloudWatch Logs"
    )
    cli = finding.remediation["cli"]
    organization_fix = (
        "# Either fix the chain of the organization trail "
        f'"management-events" of account {MANAGEMENT_ACCOUNT_ID} (1 change):'
    )
    own_fix = (
        f'# Or fix the chain of its own trail "management-events" in account {MEMBER_ACCOUNT_ID} '
        "(5 changes):"
    )
    assert cli.startswith(organization_fix)
    assert own_fix in cli
    assert "aws cloudwatch enable-alarm-actions" in cli.split(own_fix)[0]
    assert "aws cloudtrail update-trail" in cli.split(own_fix)[1]
    assert set(finding.remediation) == {"console", "cli", "terraform", "cloudformation"}
    plan = plan_of(finding)
    assert plan is not None and plan.account_id == MANAGEMENT_ACCOUNT_ID  # the shorter fix


def test_a_members_own_fix_comes_first_when_it_is_as_short() -> None:
    finding = check(_member_with_own_trail(is_logging=False))
    assert finding.broken_link is Link.ACTIONS
    assert finding.reason.endswith(
        'its own trail "management-events" breaks sooner: trail "management-events" is not '
        "logging (stopped)"
    )
    assert finding.remediation["cli"].startswith(
        f'# Either fix the chain of its own trail "management-events" in account '
        f"{MEMBER_ACCOUNT_ID} (1 change):"
    )
    plan = plan_of(finding)
    assert plan is not None and plan.account_id == MEMBER_ACCOUNT_ID


def test_a_management_trail_that_is_not_an_organization_trail_covers_no_member() -> None:
    inventory = organization([member_account()], rules=[RULE])
    management = with_trail(inventory.accounts[0], is_organization_trail=False)
    member = with_trail(inventory.accounts[1], is_organization_trail=False)
    inventory = replace_account(replace_account(inventory, management), member)
    assert check(inventory).broken_link is Link.TRAIL
    assert check(inventory, account_id=MANAGEMENT_ACCOUNT_ID).status is Status.PASS


def test_member_whose_trail_listing_failed_still_has_the_organization_trail() -> None:
    error = CollectionError("cloudtrail", "DescribeTrails", "AccessDenied", "denied", "us-east-1")
    member = member_account(regions=("us-east-1",))
    member = with_errors(with_region(member, "us-east-1", trails=None), error)
    assert check(organization([member], rules=[RULE])).status is Status.PASS


# --------------------------------------------------------------------------------------------
# Unknowns are ERROR, never PASS or FAIL by accident.


def test_failed_get_trail_status_is_error_quoting_the_call() -> None:
    error = CollectionError(
        "cloudtrail",
        "GetTrailStatus",
        "AccessDenied",
        "not allowed",
        "us-east-1",
        trail_arn(MEMBER_ACCOUNT_ID),
    )
    account = with_errors(with_trail(healthy(), is_logging=None), error)
    finding = check(account)
    assert finding.status is Status.ERROR
    assert link_status(finding, Link.LOGGING) is LinkStatus.UNKNOWN
    assert finding.reason == (
        'cannot tell whether trail "management-events" logs: cloudtrail GetTrailStatus on '
        f"{trail_arn(MEMBER_ACCOUNT_ID)} in us-east-1 failed: AccessDenied: not allowed"
    )


def test_failed_describe_metric_filters_is_error() -> None:
    error = CollectionError(
        "logs", "DescribeMetricFilters", "ThrottlingException", "slow down", "us-east-1"
    )
    account = with_errors(with_log_group(healthy(), metric_filters=None), error)
    finding = check(account)
    assert finding.status is Status.ERROR
    assert link_status(finding, Link.FILTER) is LinkStatus.UNKNOWN
    assert "logs DescribeMetricFilters in us-east-1 failed: ThrottlingException: slow down" in (
        finding.reason
    )


def test_failed_describe_alarms_is_error() -> None:
    error = CollectionError("cloudwatch", "DescribeAlarms", "AccessDenied", "no", "us-east-1")
    account = with_errors(with_region(healthy(), "us-east-1", alarms=None), error)
    finding = check(account)
    assert finding.status is Status.ERROR
    assert link_status(finding, Link.ALARM) is LinkStatus.UNKNOWN
    assert finding.reason == (
        f"cannot list the alarms on metric {NAMESPACE}/{METRIC}: "
        "cloudwatch DescribeAlarms in us-east-1 failed: AccessDenied: no"
    )


def test_failed_subscription_listing_is_error() -> None:
    error = CollectionError(
        "sns", "ListSubscriptionsByTopic", "AuthorizationError", "no", "us-east-1", TOPIC
    )
    account = with_errors(with_topic(healthy(), TOPIC, subscriptions=None), error)
    finding = check(account)
    assert finding.status is Status.ERROR
    assert link_status(finding, Link.SUBSCRIBER) is LinkStatus.UNKNOWN


def test_unknown_does_not_mask_a_complete_chain() -> None:
    """A second trail whose status is unknown beside a complete chain: PASS."""
    account = healthy()
    other = dataclasses.replace(
        (account.regions["us-east-1"].trails or ())[0],
        name="second",
        arn=trail_arn(MEMBER_ACCOUNT_ID, name="second"),
        is_logging=None,
    )
    region = account.regions["us-east-1"]
    account = with_region(account, "us-east-1", trails=(*(region.trails or ()), other))
    assert check(account).status is Status.PASS


def test_unknown_chain_is_error_even_when_another_chain_fails() -> None:
    account = healthy()
    second = dataclasses.replace(
        (account.regions["us-east-1"].trails or ())[0],
        name="second",
        arn=trail_arn(MEMBER_ACCOUNT_ID, name="second"),
        is_multi_region=False,
    )
    account = with_trail(account, is_logging=None)
    region = account.regions["us-east-1"]
    account = with_region(account, "us-east-1", trails=(*(region.trails or ()), second))
    finding = check(account)
    assert finding.status is Status.ERROR
    assert finding.reason.startswith('cannot tell whether trail "management-events" logs')


def test_a_chain_broken_for_sure_is_fail_despite_an_earlier_unknown() -> None:
    account = with_alarm(with_trail(healthy(), is_logging=None), ALARM, actions_enabled=False)
    finding = check(account)
    assert finding.status is Status.FAIL
    assert finding.broken_link is Link.ACTIONS
    assert link_status(finding, Link.LOGGING) is LinkStatus.UNKNOWN


def test_trail_listing_failed_everywhere_is_error() -> None:
    errors = [
        CollectionError("cloudtrail", "DescribeTrails", "AccessDenied", "no", region)
        for region in ("us-east-1", "eu-west-1")
    ]
    account = with_region(
        with_region(healthy(), "us-east-1", trails=None), "eu-west-1", trails=None
    )
    finding = check(with_errors(account, *errors))
    assert finding.status is Status.ERROR
    assert finding.reason.startswith(
        f"cannot list the trails of account {MEMBER_ACCOUNT_ID}: cloudtrail DescribeTrails"
    )


def test_trail_listing_failed_in_one_region_still_sees_multi_region_trails() -> None:
    error = CollectionError("cloudtrail", "DescribeTrails", "AccessDenied", "no", "eu-west-1")
    account = with_errors(with_region(healthy(), "eu-west-1", trails=None), error)
    assert check(account).status is Status.PASS


def test_account_that_could_not_be_scanned_is_error_for_every_rule() -> None:
    error = CollectionError("sts", "AssumeRole", "AccessDenied", "role missing")
    account = dataclasses.replace(healthy(), error=error)
    findings = evaluate(single_account(account), catalog=only(RULE, "root-account-usage"))
    assert [f.rule for f in findings] == [RULE, "root-account-usage"]
    assert {f.status for f in findings} == {Status.ERROR}
    assert findings[0].reason == (
        f"account {MEMBER_ACCOUNT_ID} could not be scanned: "
        "sts AssumeRole failed: AccessDenied: role missing"
    )


def test_suspended_account_is_not_evaluated() -> None:
    inventory = organization(
        [dataclasses.replace(member_account(), status="SUSPENDED")], rules=[RULE]
    )
    findings = evaluate(inventory, catalog=only(RULE))
    assert [f.account_id for f in findings] == [MANAGEMENT_ACCOUNT_ID]


def test_member_of_an_unscanned_management_account_is_error() -> None:
    inventory = Inventory(MANAGEMENT_ACCOUNT_ID, "o-x", (member_account(),))
    finding = check(inventory)
    assert finding.status is Status.ERROR
    assert finding.reason.startswith(
        f'cannot tell whether trail "management-events" logs: account {MANAGEMENT_ACCOUNT_ID} '
        "was not scanned"
    )


def test_topic_in_an_unscanned_account_is_error() -> None:
    foreign = topic_arn("999999999999")
    finding = check(with_alarm(healthy(), ALARM, alarm_actions=(foreign,)))
    assert finding.status is Status.ERROR
    assert link_status(finding, Link.TOPIC) is LinkStatus.UNKNOWN
    assert finding.reason == (
        f"topic {foreign} is in account 999999999999 (sns ListSubscriptionsByTopic not called), "
        "which was not scanned"
    )


def test_log_delivery_error_is_noted() -> None:
    account = with_trail(healthy(), latest_cloudwatch_logs_delivery_error="AccessDenied")
    finding = check(account)
    assert finding.status is Status.PASS
    assert finding.notes[0] == (
        'trail "management-events" reports a CloudWatch Logs delivery error: AccessDenied'
    )


# --------------------------------------------------------------------------------------------
# Remediation gets the chain's own names.


def test_failure_carries_remediation_in_the_accounts_own_names() -> None:
    finding = check(with_alarm(healthy(), ALARM, comparison_operator="GreaterThanThreshold"))
    assert set(finding.remediation) == {"console", "cli", "terraform", "cloudformation"}
    cli = finding.remediation["cli"]
    assert f"--alarm-name {ALARM}" in cli
    assert "--region us-east-1" in cli
    assert TOPIC in cli


def test_member_remediation_fixes_the_management_accounts_alarm() -> None:
    inventory = organization([member_account()], rules=[RULE])
    management = with_alarm(inventory.accounts[0], ALARM, evaluation_periods=3)
    finding = check(replace_account(inventory, management))
    assert finding.broken_link is Link.ALARM_CONDITION
    assert topic_arn(MANAGEMENT_ACCOUNT_ID) in finding.remediation["cli"]
    assert MANAGEMENT_ACCOUNT_ID in finding.remediation["cli"]


def test_error_and_pass_carry_no_remediation() -> None:
    error = CollectionError("cloudwatch", "DescribeAlarms", "AccessDenied", "no", "us-east-1")
    unknown = check(with_errors(with_region(healthy(), "us-east-1", alarms=None), error))
    assert unknown.status is Status.ERROR
    assert unknown.remediation == {}
