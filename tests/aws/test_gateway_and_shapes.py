"""The parts of scanner.aws that need no AWS: response shapes, filters, regions, counters, rates."""

from __future__ import annotations

from scanner.aws import _shapes
from scanner.aws.gateway import CallStats, RateLimits, RetryPolicy
from scanner.aws.organization import Described, OrgAccount, described_by, select
from scanner.aws.regions import narrow
from scanner.model import AdvancedEventSelector, EventSelector, FieldSelector, MetricStat


def test_trail_takes_the_home_region_and_defaults_of_describe_trails() -> None:
    item = {
        "Name": "org",
        "TrailARN": "arn:aws:cloudtrail:eu-west-1:111111111111:trail/org",
        "HomeRegion": "eu-west-1",
        "IsMultiRegionTrail": True,
        "IsOrganizationTrail": True,
        "CloudWatchLogsLogGroupArn": "arn:aws:logs:eu-west-1:111111111111:log-group:ct:*",
    }
    trail = _shapes.trail(item, "us-east-1")
    assert (trail.home_region, trail.is_multi_region, trail.is_organization_trail) == (
        "eu-west-1",
        True,
        True,
    )
    assert trail.is_logging is None and trail.event_selectors is None
    bare = _shapes.trail({"Name": "t", "TrailARN": "arn:aws:cloudtrail:us-east-2:1:trail/t"}, "x")
    assert (bare.home_region, bare.is_multi_region, bare.log_group_arn) == ("x", False, None)


def test_selectors_keep_both_kinds_and_every_operator() -> None:
    response = {
        "EventSelectors": [
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": True,
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
            }
        ],
        "AdvancedEventSelectors": [
            {
                "Name": "management",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "eventSource", "NotStartsWith": ["kms"], "NotEndsWith": ["x"]},
                ],
            }
        ],
    }
    basic, advanced = _shapes.selectors(response)
    assert basic == (EventSelector("WriteOnly", True, ("kms.amazonaws.com",)),)
    assert advanced == (
        AdvancedEventSelector(
            "management",
            (
                FieldSelector("eventCategory", equals=("Management",)),
                FieldSelector("eventSource", not_starts_with=("kms",), not_ends_with=("x",)),
            ),
        ),
    )
    assert _shapes.selectors({"EventSelectors": []}) == ((), ())


def test_metric_math_alarm_and_its_defaults() -> None:
    item = {
        "AlarmName": "math",
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:1:alarm:math",
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "AlarmActions": ["arn:aws:sns:us-east-1:1:t"],
        "Metrics": [
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "CIS",
                        "MetricName": "Root",
                        "Dimensions": [{"Name": "k", "Value": "v"}],
                    },
                    "Period": 300,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
            {"Id": "e1", "Expression": "FILL(m1, 0)"},
        ],
    }
    alarm = _shapes.alarm(item)
    assert alarm.threshold == 1.0 and alarm.actions_enabled and alarm.metric_name is None
    first, second = alarm.metrics
    assert first.metric_stat == MetricStat("CIS", "Root", "Sum", 300, {"k": "v"})
    assert not first.return_data
    assert second.expression == "FILL(m1, 0)" and second.return_data  # AWS: true when omitted


def test_metric_filter_transformations() -> None:
    item = {
        "filterName": "root",
        "filterPattern": '{ $.userIdentity.type = "Root" }',
        "logGroupName": "ct",
        "metricTransformations": [
            {"metricName": "Root", "metricNamespace": "CIS", "metricValue": "1", "defaultValue": 0}
        ],
    }
    found = _shapes.metric_filter(item, "other")
    assert found.log_group_name == "ct"
    assert found.transformations[0].default_value == 0.0
    assert _shapes.metric_filter({"filterName": "x"}, "ct").pattern == ""


def test_pending_subscriptions_are_not_confirmed() -> None:
    pending = _shapes.subscription({"SubscriptionArn": "PendingConfirmation", "Protocol": "email"})
    confirmed = _shapes.subscription({"SubscriptionArn": "arn:aws:sns:us-east-1:1:t:abc"})
    assert (pending.confirmed, confirmed.confirmed) == (False, True)


def test_account_filters_include_then_exclude() -> None:
    accounts = [
        OrgAccount("1", "a", ou_ids=("r-1",)),
        OrgAccount("2", "b", ou_ids=("r-1", "ou-prod")),
        OrgAccount("3", "c", ou_ids=("r-1", "ou-prod", "ou-prod-eu")),
        OrgAccount("4", "d", ou_ids=("r-1", "ou-dev")),
    ]

    def ids(**filters: tuple[str, ...]) -> list[str]:
        return [a.id for a in select(accounts, **filters)]

    assert ids() == ["1", "2", "3", "4"]
    assert ids(include_ous=("ou-prod",)) == ["2", "3"]
    assert ids(include_ous=("ou-prod",), include_accounts=("4",)) == ["2", "3", "4"]
    assert ids(include_ous=("ou-prod",), exclude_ous=("ou-prod-eu",)) == ["2"]
    assert ids(exclude_accounts=("1",), exclude_ous=("ou-dev",)) == ["2", "3"]


def test_regions_are_narrowed_to_enabled_ones() -> None:
    enabled = ["us-east-1", "eu-west-1", "ap-south-1"]
    assert narrow(enabled) == ("ap-south-1", "eu-west-1", "us-east-1")
    assert narrow(enabled, only=("eu-west-1", "me-south-1")) == ("eu-west-1",)
    assert narrow(enabled, exclude=("us-east-1",)) == ("ap-south-1", "eu-west-1")


def test_call_stats_views() -> None:
    stats = CallStats()
    stats.record("1", "cloudtrail", "DescribeTrails", 0, None)
    stats.record("1", "cloudtrail", "DescribeTrails", 2, "ThrottlingException", throttled=3)
    stats.record("2", "logs", "DescribeMetricFilters", 1, "AccessDeniedException")
    trails = stats.by_operation()[("cloudtrail", "DescribeTrails")]
    assert (trails.calls, trails.retries, trails.throttles, trails.errors) == (2, 2, 1, 1)
    assert trails.throttled_responses == 3
    assert stats.by_account() == {
        "1": {"cloudtrail:DescribeTrails": 2},
        "2": {"logs:DescribeMetricFilters": 1},
    }
    assert (stats.calls, stats.retries, stats.throttles, stats.errors) == (3, 3, 1, 2)
    assert stats.throttled_responses == 3
    stats.record_refresh("2")
    assert stats.credential_refreshes == 1
    assert stats.calls_for("2") == 1
    assert stats.error_codes["AccessDeniedException"] == 1


def test_rates_default_under_the_quotas_and_are_configurable() -> None:
    limits = RateLimits({"logs": 1.0})
    assert limits.rate("logs") == 1.0
    assert limits.rate("cloudwatch") == 4.0
    assert limits.rate("cloudtrail") == 5.0
    assert limits.rate("unknown") == 2.0


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=20.0)
    for retry, ceiling in ((1, 1.0), (2, 2.0), (5, 16.0), (6, 20.0), (60, 20.0)):
        delays = [policy.delay(retry) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spreads over the whole range


def test_the_root_arn_names_the_organization_and_its_management_account() -> None:
    arn = "arn:aws:organizations::111122223333:root/o-a1b2c3d4e5/r-ab12"
    assert described_by([{"Id": "r-ab12", "Arn": arn}]) == Described("o-a1b2c3d4e5", "111122223333")
    gov = "arn:aws-us-gov:organizations::111122223333:root/o-a1b2c3d4e5/r-ab12"
    assert described_by([{"Arn": gov}]) == Described("o-a1b2c3d4e5", "111122223333")
    # Not a root's ARN in AWS's shape: DescribeOrganization must say.
    for odd in ("", "arn:aws:organizations:::root", "arn:aws:iam::111122223333:root", "r-ab12"):
        assert described_by([{"Arn": odd}]) is None
    assert described_by([]) is None
