"""The demo organization: every way a monitoring control breaks, in one emulated organization.

``scanner demo`` is the first command a user runs, so it must show the real thing in seconds:
it seeds :data:`ORGANIZATION` into moto (:mod:`scanner.emulation`), then runs a *real* scan of
it — :func:`scanner.aws.collect` over HTTP to moto's server with fake credentials, the same code
path as against AWS — evaluates it and hands the result to the CLI's report.

The organization is data, one account per lesson. The management account's organization trail
covers every member and its log group monitors the CIS "identity" rules (:data:`ORG_RULES`);
members' own trails monitor the rest (:data:`MEMBER_RULES`), each member with at most one break,
so that every link of the chain is shown broken somewhere, next to accounts where it holds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from scanner.aws import CollectResult, Progress, ScanOptions, collect
from scanner.aws_defaults import DEFAULT_RATES
from scanner.evaluate import evaluate
from scanner.model import Finding
from scanner.model.arns import topic_arn
from scanner.testing.emulation import (
    HOME_REGION,
    MANAGEMENT_ACCOUNT_ID,
    AccountSpec,
    KeySpec,
    Monitor,
    OrganizationSpec,
    SelectorSpec,
    Subscriber,
    TopicSpec,
    TrailSpec,
    emulate,
    fake_credentials,
    monitors,
)

# Two regions are enough to tell a single-region trail from a multi-region one.
REGIONS = ("us-east-1", "eu-west-1")

# Monitored in the organization trail's log group, for every account.
ORG_RULES = (
    "unauthorized-api-calls",
    "console-signin-without-mfa",
    "root-account-usage",
    "iam-policy-changes",
    "cloudtrail-config-changes",
    "console-auth-failures",
    "cmk-disable-or-deletion",
    "s3-bucket-policy-changes",
    "aws-config-changes",
)
# Monitored by each member's own trail.
MEMBER_RULES = (
    "security-group-changes",
    "nacl-changes",
    "network-gateway-changes",
    "route-table-changes",
    "vpc-changes",
    "organizations-changes",
    "iam-login-profile-changes",
    "ssm-actions",
    "ec2-instance-changes",
)

SECURITY_ACCOUNT_ID = "210000000001"
CENTRAL_TOPIC = topic_arn(SECURITY_ACCOUNT_ID, HOME_REGION, "central-alerts")
SECURITY_ONLY_TOPIC = topic_arn(SECURITY_ACCOUNT_ID, HOME_REGION, "security-only")
TRAIL_LOGS = "cloudtrail-logs"

# Patterns with a flaw a reviewer could miss.
SECURITY_GROUP_CHANGES_WITHOUT_MODIFY = (
    '{ ($.eventSource = "ec2.amazonaws.com") && (($.eventName = AuthorizeSecurityGroupIngress) || '
    "($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || "
    "($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || "
    "($.eventName = DeleteSecurityGroup)) }"
)
NACL_CHANGES_AND_FOR_OR = (
    "{ ($.eventName = CreateNetworkAcl) && ($.eventName = CreateNetworkAclEntry) && "
    "($.eventName = DeleteNetworkAcl) && ($.eventName = DeleteNetworkAclEntry) && "
    "($.eventName = ReplaceNetworkAclEntry) && ($.eventName = ReplaceNetworkAclAssociation) }"
)


def _own_trail(*changed: Monitor, **trail: object) -> TrailSpec:
    """The member's own trail monitoring :data:`MEMBER_RULES`, with some monitors replaced."""
    replaced = {m.rule: m for m in changed}
    chosen = tuple(replaced.get(m.rule, m) for m in monitors(*MEMBER_RULES))
    settings: dict[str, object] = {"log_group": TRAIL_LOGS, "monitors": chosen, **trail}
    return TrailSpec("account-trail", **settings)  # type: ignore[arg-type]


def _member(
    number: int, name: str, ou: tuple[str, ...], about: str, *trails: TrailSpec, **more: object
) -> AccountSpec:
    settings: dict[str, object] = {"topics": (TopicSpec(),), **more}
    return AccountSpec(
        f"2100000000{number:02d}",
        name,
        ou,
        trails=trails,
        about=about,
        **settings,  # type: ignore[arg-type]
    )


PRODUCTION = ("Workloads", "Production")
STAGING = ("Workloads", "Staging")
SANDBOX = ("Sandbox",)

ORGANIZATION = OrganizationSpec(
    management=AccountSpec(
        MANAGEMENT_ACCOUNT_ID,
        "management",
        trails=(
            TrailSpec(
                "organization-trail",
                organization=True,
                log_group="organization-trail-logs",
                monitors=monitors(*ORG_RULES),
            ),
            TrailSpec("management-trail", log_group=TRAIL_LOGS, monitors=monitors(*MEMBER_RULES)),
        ),
        topics=(TopicSpec(),),
        about="its organization trail covers every member and monitors the identity rules; "
        "its own trail monitors the rest",
    ),
    members=(
        _member(
            1,
            "security",
            ("Security",),
            "healthy; owns the central alerts topic other accounts notify (its policy lets "
            "CloudWatch publish for the whole organization)",
            _own_trail(),
            topics=(
                TopicSpec(),
                TopicSpec("central-alerts", policy="organization"),
                TopicSpec("security-only"),
            ),
        ),
        _member(
            2,
            "payments-prod",
            PRODUCTION,
            "healthy; its alarms notify the security account's topic (cross-account)",
            _own_trail(*monitors(*MEMBER_RULES, topic=CENTRAL_TOPIC)),
        ),
        _member(
            3,
            "orders-prod",
            PRODUCTION,
            "its trail is stopped",
            _own_trail(logging=False),
        ),
        _member(
            4,
            "analytics-prod",
            PRODUCTION,
            "its trail records one region only",
            _own_trail(multi_region=False),
        ),
        _member(
            5,
            "search-prod",
            PRODUCTION,
            "its trail's selectors exclude management events",
            _own_trail(selectors=(SelectorSpec(include_management_events=False),)),
        ),
        _member(
            6,
            "billing-staging",
            STAGING,
            "its trail delivers to no CloudWatch Logs group",
            TrailSpec("account-trail"),
        ),
        _member(
            7,
            "web-staging",
            STAGING,
            "its security-group filter misses ModifySecurityGroupRules",
            _own_trail(Monitor("security-group-changes", SECURITY_GROUP_CHANGES_WITHOUT_MODIFY)),
        ),
        _member(
            8,
            "api-staging",
            STAGING,
            "its NACL filter says && where it means ||: it matches nothing",
            _own_trail(Monitor("nacl-changes", NACL_CHANGES_AND_FOR_OR)),
        ),
        _member(
            9,
            "data-staging",
            STAGING,
            "its VPC alarm watches the metric in the wrong namespace",
            _own_trail(Monitor("vpc-changes", alarm_namespace="CloudTrailMetrics")),
        ),
        _member(
            10,
            "ml-sandbox",
            SANDBOX,
            "its route-table alarm needs 5 events before it fires",
            _own_trail(Monitor("route-table-changes", threshold=5.0)),
        ),
        _member(
            11,
            "dev-sandbox",
            SANDBOX,
            "its SSM alarm has its actions disabled",
            _own_trail(Monitor("ssm-actions", actions_enabled=False)),
        ),
        _member(
            12,
            "qa-sandbox",
            SANDBOX,
            "its alarms notify a topic whose only subscription is still pending",
            _own_trail(),
            topics=(TopicSpec(subscribers=(Subscriber("qa@example.com", confirmed=False),)),),
        ),
        _member(
            13,
            "legacy-sandbox",
            SANDBOX,
            "its EC2 alarm notifies a topic that was deleted",
            _own_trail(Monitor("ec2-instance-changes", topic="deleted-alerts")),
        ),
        _member(
            14,
            "partner-integration",
            ("Partners",),
            "the scanner's role cannot be assumed in it",
            _own_trail(),
            assumable=False,
        ),
        _member(
            15,
            "retired-project",
            SANDBOX,
            "suspended: reported, never scanned",
            suspended=True,
        ),
        _member(
            16,
            "reports-prod",
            PRODUCTION,
            "its alarms notify a topic encrypted with the AWS managed key alias/aws/sns, "
            "which CloudWatch cannot use",
            _own_trail(),
            topics=(TopicSpec(key=KeySpec(aws_managed=True)),),
        ),
        _member(
            17,
            "ledger-prod",
            PRODUCTION,
            "its alarms notify a topic of the security account whose policy (SNS's default) "
            "lets only that account publish",
            _own_trail(*monitors(*MEMBER_RULES, topic=SECURITY_ONLY_TOPIC)),
        ),
        _member(
            18,
            "notify-staging",
            STAGING,
            "its topic's only subscription filters on a message attribute, which alarm "
            "notifications never carry",
            _own_trail(),
            topics=(
                TopicSpec(
                    subscribers=(Subscriber(filter_policy='{"severity": ["high", "critical"]}'),)
                ),
            ),
        ),
    ),
    regions=REGIONS,
)

# The emulator has no quotas: AWS's rates (Organizations a few requests per second, AssumeRole
# from one identity 10 per second) would make the demo wait for nothing. The calls still go
# through the same throttles, counters and retries, only with the emulator's numbers.
EMULATOR_RATE = 1000.0
EMULATOR_RATES = dict.fromkeys(DEFAULT_RATES, EMULATOR_RATE)
EMULATOR_ACCOUNT_CONCURRENCY = 32


@dataclass(frozen=True)
class DemoResult:
    """The scan of the demo organization, its findings, and the seconds it all took."""

    organization: OrganizationSpec
    endpoint_url: str
    collected: CollectResult
    findings: list[Finding]
    seconds: float


def run(
    profile: str | None = None,
    progress: Progress | None = None,
    organization: OrganizationSpec = ORGANIZATION,
) -> DemoResult:
    """Seed the emulator, scan it for real, evaluate it; :class:`EmulationError` without moto."""
    started = time.monotonic()
    emulator = emulate(organization)
    options = ScanOptions(
        organization=True,
        endpoint_url=emulator.endpoint_url,
        regions=organization.regions,
        rate_limits=EMULATOR_RATES,
        account_concurrency=EMULATOR_ACCOUNT_CONCURRENCY,
        rules_profile=profile,
    )
    with fake_credentials():
        collected = asyncio.run(collect(options, progress))
    findings = evaluate(collected.inventory, profile)
    return DemoResult(
        organization, emulator.endpoint_url, collected, findings, time.monotonic() - started
    )


__all__ = [
    "EMULATOR_RATES",
    "MEMBER_RULES",
    "ORGANIZATION",
    "ORG_RULES",
    "REGIONS",
    "DemoResult",
    "run",
]
