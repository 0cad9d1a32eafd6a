"""End-to-end: collect real inventories from moto's server through the same code as for AWS.

The organizations are built with boto3 against the server (see ``emulated_org``). Where moto
lacks a behaviour the test needs (refusing a role, throttling, honouring MaxRecords), the test
patches moto's response dispatch in this process and says so.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import boto3
import pytest
from e2e import emulated_org as org
from e2e import faults
from moto.cloudtrail.responses import CloudTrailResponse
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.logs.responses import LogsResponse
from moto.sns.responses import SNSResponse
from moto.sts.responses import TokenResponse

from scanner.aws import ScanError, ScanOptions, collect
from scanner.aws import account as account_module
from scanner.aws import credentials as credentials_module
from scanner.aws.scan import CollectResult
from scanner.cli.report import facts_of
from scanner.evaluate import evaluate
from scanner.model import ACCOUNT_SUSPENDED, Finding, Link, Region, Status

ROOT = "root-account-usage"
TRAIL_CHANGES = "cloudtrail-config-changes"
# Organizations' default rate (2/s) would make each organization test wait seconds.
FAST = {"organizations": 100.0}


def scan(**options: Any) -> CollectResult:
    options.setdefault("rate_limits", FAST)
    options.setdefault("backoff", (0.01, 0.05))  # the retries without seconds of waiting
    return asyncio.run(collect(ScanOptions(**options)))


def region_of(result: CollectResult, account_id: str, region: str = "us-east-1") -> Region:
    account = result.inventory.account(account_id)
    assert account is not None
    return account.regions[region]


def findings(result: CollectResult, account_id: str) -> dict[str, Finding]:
    return {f.rule: f for f in evaluate(result.inventory) if f.account_id == account_id}


def enabled_regions() -> list[str]:
    regions = boto3.client("ec2", region_name="us-east-1").describe_regions(AllRegions=True)
    return [
        r["RegionName"]
        for r in regions["Regions"]
        if r["OptInStatus"] in ("opt-in-not-required", "opted-in")
    ]


@pytest.mark.slow
def test_organization_trail_covers_members_and_a_member_own_trail_adds_a_rule(aws: str) -> None:
    ids = org.organization("alpha", "beta", ou="Workloads")
    management = org.management()
    org.chain(management, name="org", organization_trail=True, rules=(ROOT,))
    org.chain(org.enter(ids["beta"]), name="own", rules=(TRAIL_CHANGES,))

    result = scan(organization=True)

    inventory = result.inventory
    assert inventory.management_account_id == org.MANAGEMENT
    assert inventory.organization_id
    assert {a.id for a in inventory.accounts} == {org.MANAGEMENT, ids["alpha"], ids["beta"]}
    alpha = inventory.account(ids["alpha"])
    assert alpha is not None
    assert alpha.name == "alpha"
    assert alpha.ou_path == ("Workloads",)
    # The ids too, root first, as Organizations names them (what suppressions by OU id match).
    organizations = management.client("organizations")
    root = organizations.list_roots()["Roots"][0]["Id"]
    (workloads,) = organizations.list_organizational_units_for_parent(ParentId=root)[
        "OrganizationalUnits"
    ]
    assert alpha.ou_ids == (root, workloads["Id"])
    assert inventory.account(org.MANAGEMENT).ou_ids == (root,)  # type: ignore[union-attr]
    assert alpha.error is None and alpha.errors == ()
    trail = next(t for t in region_of(result, org.MANAGEMENT).trails or () if t.name == "org")
    assert trail.is_organization_trail and trail.is_multi_region and trail.is_logging
    for account in (org.MANAGEMENT, ids["alpha"], ids["beta"]):
        assert findings(result, account)[ROOT].status is Status.PASS
    assert findings(result, ids["beta"])[TRAIL_CHANGES].status is Status.PASS
    alpha_trail_changes = findings(result, ids["alpha"])[TRAIL_CHANGES]
    assert alpha_trail_changes.status is Status.FAIL


def test_progress_is_reported_per_account(aws: str) -> None:
    org.organization("alpha", "beta")
    seen: list[tuple[int, int]] = []
    asyncio.run(
        collect(
            ScanOptions(organization=True, rate_limits=FAST),
            progress=lambda done, total: seen.append((done, total)),
        )
    )
    # The total grows as the listing's pages arrive while the first accounts are collected.
    assert [done for done, _ in seen] == [1, 2, 3]
    assert [total for _, total in seen] == sorted(total for _, total in seen)
    assert seen[-1] == (3, 3)


def test_healthy_account_costs_eight_reads_whatever_the_number_of_regions(aws: str) -> None:
    org.chain(org.management(), rules=(ROOT,))

    result = scan()

    calls = {op: s.calls for (_, op), s in result.stats.by_operation().items()}
    assert calls == {
        "GetCallerIdentity": 1,
        "DescribeTrails": 1,  # in the home region only: shadow trails show every other one
        "GetTrailStatus": 1,
        "GetEventSelectors": 1,
        "DescribeMetricFilters": 1,
        "DescribeAlarms": 1,
        "ListSubscriptionsByTopic": 1,
        "GetTopicAttributes": 1,  # its access policy and key
        "GetSubscriptionAttributes": 1,  # the filter policy of its one confirmed subscription
    }
    assert result.stats.errors == 0
    assert findings(result, org.MANAGEMENT)[ROOT].status is Status.PASS
    # Clients are reused: one per (region, service) called, cloudtrail's home client thrice.
    assert result.clients == 5  # sts, cloudtrail, logs, cloudwatch, sns
    # Only the region something lives in is in the inventory.
    account = result.inventory.account(org.MANAGEMENT)
    assert account is not None and list(account.regions) == ["us-east-1"]


def test_cross_account_topic_is_read_in_its_owner_account(aws: str) -> None:
    ids = org.organization("alpha", "security")
    security = org.enter(ids["security"])
    topic_arn = org.topic(security, "central-alerts", organization_grant=True)
    org.chain(org.enter(ids["alpha"]), rules=(ROOT,), topic_arn=topic_arn)

    result = scan(organization=True)

    owner = result.inventory.account(ids["security"])
    assert owner is not None
    topic = owner.regions["us-east-1"].topics[topic_arn]
    assert topic.exists and topic.subscriptions and topic.subscriptions[0].confirmed
    alpha = result.inventory.account(ids["alpha"])
    assert alpha is not None and topic_arn not in alpha.regions["us-east-1"].topics
    assert result.stats.by_account()[ids["security"]]["sns:ListSubscriptionsByTopic"] == 1
    assert findings(result, ids["alpha"])[ROOT].status is Status.PASS


def test_topic_that_does_not_exist_is_marked_so(aws: str) -> None:
    missing = f"arn:aws:sns:us-east-1:{org.MANAGEMENT}:deleted-topic"
    org.chain(org.management(), rules=(ROOT,), topic_arn=missing)

    result = scan()

    account = result.inventory.account(org.MANAGEMENT)
    assert account is not None
    assert account.regions["us-east-1"].topics[missing].exists is False
    finding = findings(result, org.MANAGEMENT)[ROOT]
    assert finding.status is Status.FAIL
    assert "does not exist" in finding.reason


def refuse_member_role(monkeypatch: pytest.MonkeyPatch, account_id: str) -> str:
    """moto does not check role trust: make its STS refuse the member role of one account."""
    role = f"arn:aws:iam::{account_id}:role/{org.ROLE}"
    faults.inject(
        monkeypatch,
        TokenResponse,
        "assume_role",
        "AccessDenied",
        f"not authorized to perform sts:AssumeRole on {role}",
        when=lambda response: response._get_param("RoleArn") == role,
    )
    return role


def test_account_whose_role_cannot_be_assumed_is_an_error_and_the_scan_goes_on(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = org.organization("alpha", "locked")
    org.chain(org.management(), name="org", organization_trail=True, rules=(ROOT,))
    locked_role = refuse_member_role(monkeypatch, ids["locked"])

    result = scan(organization=True)

    locked = result.inventory.account(ids["locked"])
    assert locked is not None and locked.error is not None
    assert (locked.error.service, locked.error.operation) == ("sts", "AssumeRole")
    assert locked.error.code == "AccessDenied"
    assert locked.error.resource == locked_role
    assert locked.regions == {}
    locked_findings = findings(result, ids["locked"])
    # The organization trail's chain, all in the management account, decides ROOT for it;
    # every other rule depends on the account and is an ERROR naming the refused call.
    assert locked_findings[ROOT].status is Status.PASS
    assert "organization trail" in locked_findings[ROOT].reason
    assert "could not be entered" in locked_findings[ROOT].reason
    others = [f for rule, f in locked_findings.items() if rule != ROOT]
    assert others and all(f.status is Status.ERROR for f in others)
    assert all("AccessDenied" in f.reason for f in others)
    assert findings(result, ids["alpha"])[ROOT].status is Status.PASS


def test_a_topic_in_an_account_that_cannot_be_entered_leaves_that_account_an_error(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # alpha's alarm notifies a topic owned by "locked", whose role is refused: locked stays an
    # account that could not be scanned (not an empty one that FAILs), and alpha's rule is an
    # ERROR (its subscribers are unknown), never a FAIL.
    ids = org.organization("alpha", "locked")
    topic_arn = org.topic(org.enter(ids["locked"]), "central-alerts")
    org.chain(org.enter(ids["alpha"]), rules=(ROOT,), topic_arn=topic_arn)
    refuse_member_role(monkeypatch, ids["locked"])

    result = scan(organization=True)

    locked = result.inventory.account(ids["locked"])
    assert locked is not None and locked.error is not None and locked.regions == {}
    assert all(f.status is Status.ERROR for f in findings(result, ids["locked"]).values())
    root = findings(result, ids["alpha"])[ROOT]
    assert root.status is Status.ERROR
    # Issue 12.5: the finding and alpha's own errors (the report's account errors) name the
    # account and the call the verdict depended on.
    assert f"account {ids['locked']} (sns ListSubscriptionsByTopic not called)" in root.reason
    assert "AssumeRole" in root.reason
    alpha = result.inventory.account(ids["alpha"])
    assert alpha is not None
    [needed] = [e for e in alpha.errors if e.resource == topic_arn]
    assert (needed.service, needed.operation) == ("sns", "ListSubscriptionsByTopic")
    assert needed.message.startswith(f"account {ids['locked']} owns the topic: sts AssumeRole")
    account_errors = facts_of(result).account_errors
    assert any(ids["locked"] in line for line in account_errors[ids["alpha"]])


def test_a_topic_read_that_fails_in_its_owner_is_named_in_the_dependent_account(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = org.organization("alpha", "security")
    topic_arn = org.topic(org.enter(ids["security"]), "central-alerts", organization_grant=True)
    org.chain(org.enter(ids["alpha"]), rules=(ROOT,), topic_arn=topic_arn)
    faults.inject(
        monkeypatch, SNSResponse, "list_subscriptions_by_topic", "AuthorizationError", "no"
    )

    result = scan(organization=True)

    root = findings(result, ids["alpha"])[ROOT]
    assert root.status is Status.ERROR
    assert "ListSubscriptionsByTopic" in root.reason and ids["security"] in root.reason
    alpha = result.inventory.account(ids["alpha"])
    assert alpha is not None
    [needed] = [e for e in alpha.errors if e.resource == topic_arn]
    assert needed.code == "AuthorizationError"
    assert needed.message.startswith(f"account {ids['security']} owns the topic: sns ")


@pytest.mark.slow
def test_throttling_is_retried_and_the_retries_counted(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    org.chain(org.management(), rules=(ROOT,))
    raised = faults.inject(
        monkeypatch, CloudTrailResponse, "get_trail_status", "ThrottlingException", times=2
    )

    result = scan(max_attempts=4)

    assert raised == [2]
    stats = result.stats.by_operation()[("cloudtrail", "GetTrailStatus")]
    assert (stats.calls, stats.retries, stats.throttles, stats.errors) == (1, 2, 0, 0)
    assert findings(result, org.MANAGEMENT)[ROOT].status is Status.PASS


@pytest.mark.slow
def test_throttling_beyond_the_retries_is_an_error_never_a_fail(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    org.chain(org.management(), rules=(ROOT,))
    faults.inject(monkeypatch, CloudWatchResponse, "describe_alarms", "Throttling", "Rate exceeded")

    result = scan(max_attempts=2)

    region = region_of(result, org.MANAGEMENT)
    assert region.alarms is None
    stats = result.stats.by_operation()[("cloudwatch", "DescribeAlarms")]
    assert (stats.calls, stats.retries, stats.throttles) == (1, 1, 1)
    account = result.inventory.account(org.MANAGEMENT)
    assert account is not None
    assert [(e.operation, e.code, e.region) for e in account.errors] == [
        ("DescribeAlarms", "Throttling", "us-east-1")
    ]
    finding = findings(result, org.MANAGEMENT)[ROOT]
    assert finding.status is Status.ERROR
    assert "Throttling" in finding.reason


def test_access_denied_on_metric_filters_is_an_error_never_a_fail(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    org.chain(org.management(), rules=(ROOT,))
    faults.inject(
        monkeypatch, LogsResponse, "describe_metric_filters", "AccessDeniedException", "no"
    )

    result = scan()

    account = result.inventory.account(org.MANAGEMENT)
    assert account is not None
    group = account.regions["us-east-1"].log_groups["main-trail-logs"]
    assert group.metric_filters is None
    assert account.errors[0].resource == "main-trail-logs"
    # No filter known: no alarm listing is needed, so none was made.
    assert ("cloudwatch", "DescribeAlarms") not in result.stats.by_operation()
    for finding in findings(result, org.MANAGEMENT).values():
        assert finding.status is Status.ERROR
        assert "AccessDeniedException" in finding.reason


def test_suspended_accounts_are_reported_and_never_entered(aws: str) -> None:
    ids = org.organization("alpha", "closed")
    boto3.client("organizations", region_name="us-east-1").close_account(AccountId=ids["closed"])

    result = scan(organization=True)

    assert [a.id for a in result.suspended] == [ids["closed"]]
    closed = result.inventory.account(ids["closed"])
    assert closed is not None
    assert closed.status == ACCOUNT_SUSPENDED and closed.regions == {}
    assert result.stats.calls_for(ids["closed"]) == 0
    assert findings(result, ids["closed"]) == {}
    assert findings(result, ids["alpha"])


def test_alarms_are_paginated(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    management = org.management()
    org.chain(management, rules=(ROOT,))
    cloudwatch = management.client("cloudwatch")
    for i in range(11):  # unrelated alarms, listed before the chain's in name order
        cloudwatch.put_metric_alarm(
            AlarmName=f"a-{i:02}",
            MetricName="Other",
            Namespace="Elsewhere",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
    # moto ignores MaxRecords/NextToken on DescribeAlarms: honour them here.
    original = CloudWatchResponse.describe_alarms

    def paged(self: CloudWatchResponse) -> ActionResult:
        result = original(self)
        assert isinstance(result.result, dict)
        alarms = sorted(result.result["MetricAlarms"], key=lambda a: a.name)
        size = int(self._get_param("MaxRecords") or 100)
        start = int(self._get_param("NextToken") or 0)
        page: dict[str, Any] = {"MetricAlarms": alarms[start : start + size]}
        page["CompositeAlarms"] = []
        if start + size < len(alarms):
            page["NextToken"] = str(start + size)
        return ActionResult(page)

    monkeypatch.setattr(CloudWatchResponse, "describe_alarms", paged)
    monkeypatch.setattr(account_module, "ALARM_PAGE_SIZE", 5)

    result = scan()

    assert result.stats.by_operation()[("cloudwatch", "DescribeAlarms")].calls == 3
    region = region_of(result, org.MANAGEMENT)
    assert [a.name for a in region.alarms or ()] == [f"main-{ROOT}"]
    assert findings(result, org.MANAGEMENT)[ROOT].status is Status.PASS


def test_filters_and_regions_narrow_the_scan(aws: str) -> None:
    ids = org.organization("alpha", "beta", "gamma", ou="Workloads")
    result = scan(
        organization=True,
        include_accounts=(ids["alpha"], ids["beta"]),
        exclude_accounts=(ids["beta"],),
        regions=("us-east-1", "eu-west-1", "not-a-region"),
    )
    # The management account is collected too (its organization trails cover alpha) but only
    # alpha is reported.
    assert {a.id for a in result.inventory.accounts} == {org.MANAGEMENT, ids["alpha"]}
    assert result.inventory.reported_accounts == (ids["alpha"],)
    alpha = result.inventory.account(ids["alpha"])
    # alpha has no trail: its one listing, in the home region, is all that was read.
    assert alpha is not None and sorted(alpha.regions) == ["us-east-1"]

    roots = boto3.client("organizations", region_name="us-east-1").list_roots()["Roots"]
    everyone = scan(organization=True, include_ous=(roots[0]["Id"],), regions=("us-east-1",))
    assert len(everyone.inventory.accounts) == 4
    units = boto3.client("organizations", region_name="us-east-1")
    workloads = units.list_organizational_units_for_parent(ParentId=roots[0]["Id"])
    ou_id = workloads["OrganizationalUnits"][0]["Id"]
    without = scan(organization=True, exclude_ous=(ou_id,), regions=("us-east-1",))
    assert [a.id for a in without.inventory.accounts] == [org.MANAGEMENT]


def test_credentials_are_refreshed_mid_scan(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = org.organization("alpha")
    org.chain(org.enter(ids["alpha"]), rules=(ROOT,))
    # Sessions of 15 minutes sit inside botocore's 15-minute advisory window: every request
    # signed with them asks for fresh credentials, as a long scan would after 45 minutes.
    monkeypatch.setattr(credentials_module, "ROLE_SESSION_SECONDS", 900)

    result = scan(organization=True, regions=("us-east-1",))

    assume = result.stats.by_account()[ids["alpha"]]["sts:AssumeRole"]
    assert assume > 1
    assert findings(result, ids["alpha"])[ROOT].status is Status.PASS


def test_no_credentials_is_a_scan_error(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    with pytest.raises(ScanError, match="no AWS credentials"):
        scan()


def test_an_unknown_profile_is_a_scan_error(aws: str) -> None:
    with pytest.raises(ScanError, match="no-such-profile"):
        scan(profile="no-such-profile")


def test_the_inventory_round_trips_through_json(aws: str) -> None:
    ids = org.organization("alpha")
    org.chain(org.management(), name="org", organization_trail=True, rules=(ROOT, TRAIL_CHANGES))
    org.chain(org.enter(ids["alpha"]), name="own", multi_region=False, logging=False)
    result = scan(organization=True, regions=("us-east-1", "eu-west-1"))
    inventory = result.inventory
    assert type(inventory).from_json(inventory.to_json()) == inventory
    alpha = findings(result, ids["alpha"])
    assert alpha[ROOT].status is Status.PASS  # the organization trail, not the stopped one


def test_a_narrowed_scan_still_reads_what_its_accounts_depend_on(aws: str) -> None:
    # Only alpha is selected (as a shard or --accounts would): the management account's
    # organization trail and the topic alpha's alarm notifies in security's account are still
    # read, and only alpha is reported.
    ids = org.organization("alpha", "security")
    org.chain(org.management(), name="org", organization_trail=True, rules=(ROOT,))
    topic_arn = org.topic(org.enter(ids["security"]), "central-alerts", organization_grant=True)
    org.chain(org.enter(ids["alpha"]), name="own", rules=(TRAIL_CHANGES,), topic_arn=topic_arn)

    result = scan(organization=True, include_accounts=(ids["alpha"],))

    inventory = result.inventory
    assert inventory.reported_accounts == (ids["alpha"],)
    assert {a.id for a in inventory.accounts} == {org.MANAGEMENT, ids["alpha"], ids["security"]}
    security = inventory.account(ids["security"])
    assert security is not None
    assert security.regions["us-east-1"].topics[topic_arn].exists
    by_rule = findings(result, ids["alpha"])
    assert by_rule[ROOT].status is Status.PASS
    assert by_rule[TRAIL_CHANGES].status is Status.PASS
    assert {f.account_id for f in evaluate(inventory)} == {ids["alpha"]}


def test_a_deleted_log_group_is_said_not_to_exist(aws: str) -> None:
    """DescribeMetricFilters lists nothing for a deleted group, as for one without filters:
    DescribeLogGroups, asked only then, tells the two apart."""
    org.chain(org.management(), rules=(ROOT,))
    logs = org.management().client("logs")
    # AWS deletes a log group's metric filters with it; moto keeps them, so delete them first.
    logs.delete_metric_filter(logGroupName="main-trail-logs", filterName=ROOT)
    logs.delete_log_group(logGroupName="main-trail-logs")

    result = scan()

    finding = findings(result, org.MANAGEMENT)[ROOT]
    assert (finding.status, finding.broken_link) == (Status.FAIL, Link.LOG_GROUP)
    assert 'log group "main-trail-logs" of trail "main" does not exist' in finding.reason
    calls = {op: s.calls for (_, op), s in result.stats.by_operation().items()}
    assert calls["DescribeLogGroups"] == 1


def test_a_log_group_without_filters_exists_and_has_no_filter(aws: str) -> None:
    org.chain(org.management(), rules=(ROOT,))
    logs = org.management().client("logs")
    logs.delete_metric_filter(logGroupName="main-trail-logs", filterName=ROOT)

    finding = findings(scan(), org.MANAGEMENT)[ROOT]

    assert (finding.status, finding.broken_link) == (Status.FAIL, Link.FILTER)
    assert 'log group "main-trail-logs" has no metric filter' in finding.reason


def organization_id() -> str:
    return str(boto3.client("organizations").describe_organization()["Organization"]["Id"])


def test_the_listing_spends_no_organizations_request_on_describing_the_organization(
    aws: str,
) -> None:
    """The root's ARN names the management account and the organization: every request of
    Organizations' small quota goes to the walk itself."""
    ids = org.organization("alpha", "beta", ou="Workloads")

    result = asyncio.run(collect(ScanOptions(organization=True, rate_limits=FAST)))

    calls = {op: s.calls for (service, op), s in result.stats.by_operation().items()}
    assert calls["ListRoots"] == 1
    assert "DescribeOrganization" not in calls
    assert result.inventory.organization_id == organization_id()
    assert result.inventory.management_account_id == org.MANAGEMENT
    assert {a.id for a in result.inventory.accounts} == {org.MANAGEMENT, *ids.values()}


def test_a_root_arn_that_does_not_name_the_management_account_asks_describe_organization(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An emulator or proxy whose root ARN is not AWS's shape: DescribeOrganization answers."""
    from moto.organizations.responses import OrganizationsResponse

    org.organization("alpha")
    list_roots = OrganizationsResponse.list_roots

    def without_arn(self: Any) -> str:
        answer = json.loads(list_roots(self))
        for root in answer["Roots"]:
            root["Arn"] = "arn:aws:organizations:::root"
        return json.dumps(answer)

    monkeypatch.setattr(OrganizationsResponse, "list_roots", without_arn)

    result = asyncio.run(collect(ScanOptions(organization=True, rate_limits=FAST)))

    calls = {op: s.calls for (service, op), s in result.stats.by_operation().items()}
    assert calls["DescribeOrganization"] == 1
    assert result.inventory.management_account_id == org.MANAGEMENT
    assert result.inventory.organization_id == organization_id()
