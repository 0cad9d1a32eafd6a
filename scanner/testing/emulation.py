"""Emulated AWS organizations: described as data, seeded into moto, scanned like the real thing.

One module serves the demo, our tests and our users' tests (as structlog's ``testing`` does): an
:class:`Organization` is a plain description — accounts, OUs, trails, metric filters, alarms,
topics — and :func:`seed` writes it into moto's backends *in this process*. moto's server
(:func:`serve`, a ``ThreadedMotoServer`` on 127.0.0.1) shares those backends, so a scan through
HTTP, with the same code and the same clients as against AWS, sees exactly the description.

Why seed the backends directly instead of calling the APIs: moto's server answers some 50-80
requests per second on a small machine, and building an organization through its API would
take longer than scanning it. Seeding costs milliseconds, and the scan stays a real one.

Invariants:

* The description is the single source of truth: every resource the scan can see comes from a
  field of it, and every field has AWS's own meaning (``Monitor`` is a metric filter plus the
  alarm on its metric; ``Trail.log_group`` is the log group the trail delivers to).
* The management account is moto's default account (:data:`MANAGEMENT_ACCOUNT_ID`): fake
  credentials act there, and ``sts:AssumeRole`` of a role in account X acts in X (moto's rule).
  Member accounts keep the ids the description gives them.
* Where moto lacks a behaviour we need, a patch in this process adds it, only for what the
  description asks for (see :func:`_refuse_roles` and :func:`_leave_pending`); a reset of moto
  forgets it with the rest of the data.
* moto is imported lazily: ``import scanner.emulation`` works without it, and :func:`require_moto`
  says in one line what to install.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from unittest import mock

from scanner.catalog import Catalog, load_catalog
from scanner.errors import EmulationError
from scanner.model.arns import AWS_MANAGED_SNS_KEY, log_group_arn, role_arn, topic_arn
from scanner.remediation.grants import cloudwatch_key_statement
from scanner.testing.builders import healthy_filter, organization_publish_policy

MANAGEMENT_ACCOUNT_ID = "123456789012"  # moto's default account: where fake credentials act
HOME_REGION = "us-east-1"
PARTITION = "aws"
MEMBER_ROLE = "OrganizationAccountAccessRole"
DEFAULT_TOPIC = "security-alerts"
DEFAULT_SUBSCRIBER = "secops@example.com"
LOGS_ROLE = "CloudTrailToCloudWatchLogs"

# The environment of a run against the emulator: fake keys, no profile, no config files, no
# instance metadata, so nothing of the user's own AWS setup leaks into (or out of) the run.
FAKE_ENVIRONMENT: Mapping[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": HOME_REGION,
    "AWS_REGION": HOME_REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
CLEARED_ENVIRONMENT = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_ENDPOINT_URL",
)


# moto warns when it serialises an error code its service model does not list (the generic
# AccessDenied of a refused role): AWS sends exactly that, so the warning is noise here. In the
# form of a warnings filter (``action:message``) that pytest's ``filterwarnings`` takes too.
MOTO_ERROR_SHAPE_WARNING = r"ignore:Exception\(\w+\) with code \w+ does not match an error shape"


# --------------------------------------------------------------------------------------------
# The description (data).


@dataclass(frozen=True, slots=True)
class Subscriber:
    """An SNS subscription; ``confirmed=False`` is one still waiting for its endpoint.

    ``filter_policy`` is a FilterPolicy (JSON text) applied in ``filter_scope``."""

    endpoint: str = DEFAULT_SUBSCRIBER
    protocol: str = "email"
    confirmed: bool = True
    filter_policy: str | None = None
    filter_scope: str = "MessageAttributes"


@dataclass(frozen=True, slots=True)
class KeySpec:
    """The KMS key a topic is encrypted with: the AWS managed ``alias/aws/sns``, or a customer
    managed key of the topic's account, whose policy grants CloudWatch or not."""

    aws_managed: bool = False
    grants_cloudwatch: bool = True
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic. ``policy``: ``"default"`` is the access policy SNS gives a new topic (the owner
    account only), ``"organization"`` adds the grant real central topics carry (CloudWatch may
    publish for any account of the organization, ``aws:SourceOrgID``); any other value is the
    policy's JSON text."""

    name: str = DEFAULT_TOPIC
    region: str = HOME_REGION
    subscribers: tuple[Subscriber, ...] = (Subscriber(),)
    policy: str = "default"
    key: KeySpec | None = None


@dataclass(frozen=True, slots=True)
class Monitor:
    """A metric filter for a rule on the trail's log group, and the alarm on its metric.

    Every default is the healthy choice (the rule's preferred reference pattern, the catalog's
    names, ``Sum >= 1`` over one period of 300 s, actions on); a test or the demo changes one
    field to break one link. ``topic`` is a topic name in the alarm's account and region, or a
    full ARN (another account's topic).
    """

    rule: str
    pattern: str | None = None  # None: the rule's preferred reference pattern
    alarm: bool = True
    alarm_namespace: str | None = None  # None: the filter's own namespace
    statistic: str = "Sum"
    period: int = 300
    threshold: float = 1.0
    comparison: str = "GreaterThanOrEqualToThreshold"
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "notBreaching"
    actions_enabled: bool = True
    topic: str = DEFAULT_TOPIC


@dataclass(frozen=True, slots=True)
class SelectorSpec:
    """A basic event selector, as PutEventSelectors takes it."""

    read_write_type: str = "All"
    include_management_events: bool = True
    exclude_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrailSpec:
    """A trail; ``log_group`` is the log group it delivers to (created), ``None`` for none."""

    name: str
    region: str = HOME_REGION
    multi_region: bool = True
    organization: bool = False
    logging: bool = True
    selectors: tuple[SelectorSpec, ...] = (SelectorSpec(),)
    log_group: str | None = None  # None: no CloudWatch Logs delivery
    monitors: tuple[Monitor, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """An account; ``ou`` is its OU path below the root (names, top first)."""

    id: str
    name: str
    ou: tuple[str, ...] = ()
    trails: tuple[TrailSpec, ...] = ()
    topics: tuple[TopicSpec, ...] = ()
    suspended: bool = False
    assumable: bool = True  # False: AssumeRole of the member role is refused (AccessDenied)
    about: str = ""  # what this account shows, in plain words (the demo prints it)


@dataclass(frozen=True, slots=True)
class OrganizationSpec:
    management: AccountSpec
    members: tuple[AccountSpec, ...] = ()
    regions: tuple[str, ...] = (HOME_REGION,)  # the regions a scan of it should cover

    @property
    def accounts(self) -> tuple[AccountSpec, ...]:
        return (self.management, *self.members)

    def account(self, account_id: str) -> AccountSpec:
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise KeyError(account_id)


def monitors(*rules: str, **changes: Any) -> tuple[Monitor, ...]:
    """A healthy :class:`Monitor` per rule, with ``changes`` applied to each."""
    return tuple(Monitor(rule, **changes) for rule in rules)


# --------------------------------------------------------------------------------------------
# moto: import, server, reset.


def require_moto() -> None:
    """Raise :class:`EmulationError` (one line) unless moto's server can be imported."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        raise EmulationError(
            "the emulator needs moto's server: pip install 'moto[server]'"
        ) from None


def _quiet_werkzeug() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)


@functools.cache
def serve() -> str:
    """moto's server for this process, started on first use on a free port of 127.0.0.1.

    The server is a daemon thread that lives as long as the process; every caller shares it
    (and moto's backends are per process anyway). Returns its endpoint URL.
    """
    require_moto()
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # before moto loads EC2
    from moto.server import ThreadedMotoServer

    _quiet_werkzeug()
    warnings.filterwarnings("ignore", MOTO_ERROR_SHAPE_WARNING.split(":", 1)[1], UserWarning)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def reset() -> None:
    """Forget every emulated resource (and the behaviours patched for them)."""
    require_moto()
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


@contextlib.contextmanager
def fake_credentials() -> Iterator[None]:
    """The process environment of a run against the emulator, restored afterwards."""
    names = (*FAKE_ENVIRONMENT, *CLEARED_ENVIRONMENT)
    saved = {name: os.environ.get(name) for name in names}
    try:
        for name in CLEARED_ENVIRONMENT:
            os.environ.pop(name, None)
        os.environ.update(FAKE_ENVIRONMENT)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --------------------------------------------------------------------------------------------
# Behaviours moto lacks, patched in this process for what the description asks.

_REFUSED = "_emulation_refuses_member_role"


def _sts_backend(account_id: str) -> Any:
    from moto.sts.models import sts_backends

    return sts_backends[account_id][PARTITION]


@functools.cache
def _install_role_refusal() -> None:
    """moto never checks a role's trust policy: make AssumeRole refuse the roles marked so.

    The wrapper consults a mark on the *target* account's STS backend, so it changes nothing for
    accounts the description does not mark, and moto's reset (which rebuilds the backends)
    removes the marks.
    """
    from moto.sts.exceptions import STSClientError
    from moto.sts.models import STSBackend

    original = STSBackend.assume_role

    @functools.wraps(original)
    def assume_role(self: Any, *args: Any, **kwargs: Any) -> Any:
        role_arn = str(kwargs.get("role_arn", args[2] if len(args) > 2 else ""))
        parts = role_arn.split(":")
        target = parts[4] if len(parts) > 5 else ""
        if target and getattr(_sts_backend(target), _REFUSED, False):
            raise STSClientError(
                "AccessDenied",
                f"User: arn:{PARTITION}:iam::{self.account_id}:root is not authorized to perform: "
                f"sts:AssumeRole on resource: {role_arn}",
            )
        return original(self, *args, **kwargs)

    STSBackend.assume_role = assume_role  # type: ignore[method-assign]


def _refuse_roles(account_id: str) -> None:
    _install_role_refusal()
    setattr(_sts_backend(account_id), _REFUSED, True)


def _leave_pending(subscription: Any) -> None:
    """moto confirms every subscription at once; AWS lists an unconfirmed one like this."""
    subscription.confirmed = False
    subscription.arn = "PendingConfirmation"
    subscription.attributes["PendingConfirmation"] = "true"
    subscription.attributes["SubscriptionArn"] = "PendingConfirmation"


# --------------------------------------------------------------------------------------------
# Seeding.


def seed(organization: OrganizationSpec, catalog: Catalog | None = None) -> None:
    """Write the organization into moto's backends (call :func:`reset` first for a clean slate)."""
    require_moto()
    catalog = catalog or load_catalog()
    _check(organization)
    organization_id = _seed_organization(organization)
    for account in organization.accounts:
        if not account.assumable:
            _refuse_roles(account.id)
        for topic in account.topics:
            _seed_topic(account.id, topic, organization_id)
        for trail in account.trails:
            _seed_trail(account.id, trail, catalog)


def _check(organization: OrganizationSpec) -> None:
    if organization.management.id != MANAGEMENT_ACCOUNT_ID:
        raise EmulationError(
            f"the management account must be moto's default account {MANAGEMENT_ACCOUNT_ID}"
        )
    ids = [a.id for a in organization.accounts]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise EmulationError(f"account ids used twice: {', '.join(duplicates)}")
    bad = [i for i in ids if len(i) != 12 or not i.isdigit()]
    if bad:
        raise EmulationError(f"account ids must be 12 digits: {', '.join(bad)}")


def _seed_organization(organization: OrganizationSpec) -> str:
    """The organization, its OUs and accounts; returns the organization's id."""
    from moto.organizations import utils as organization_utils
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[MANAGEMENT_ACCOUNT_ID][PARTITION]
    backend.create_organization(region=HOME_REGION, FeatureSet="ALL")
    assert backend.org is not None
    root = backend.org.root_id
    units: dict[tuple[str, ...], str] = {(): root}

    def unit(path: tuple[str, ...]) -> str:
        if path not in units:
            parent = unit(path[:-1])
            created = backend.create_organizational_unit(ParentId=parent, Name=path[-1])
            units[path] = str(created["OrganizationalUnit"]["Id"])
        return units[path]

    backend.get_account_by_id(MANAGEMENT_ACCOUNT_ID).name = organization.management.name
    for member in organization.members:
        parent = unit(member.ou)
        # moto draws member ids at random; the description's ids make reports reproducible.
        with mock.patch.object(organization_utils, "make_random_account_id", lambda i=member.id: i):
            backend.create_account(AccountName=member.name, Email=f"{member.name}@example.com")
        if parent != root:
            backend.move_account(
                AccountId=member.id, SourceParentId=root, DestinationParentId=parent
            )
        if member.suspended:
            backend.close_account(AccountId=member.id)
    return str(backend.org.id)


def _seed_topic(account_id: str, topic: TopicSpec, organization_id: str) -> None:
    from moto.sns.models import sns_backends

    backend = sns_backends[account_id][topic.region]
    arn = backend.create_topic(topic.name).arn
    if topic.policy != "default":
        policy = topic.policy
        if policy == "organization":
            policy = organization_publish_policy(arn, organization_id)
        backend.set_topic_attribute(arn, "policy", policy)  # moto keeps attributes snake_case
    if topic.key is not None:
        key_id = _seed_key(account_id, topic.region, topic.key)
        backend.set_topic_attribute(arn, "kms_master_key_id", key_id)
    for subscriber in topic.subscribers:
        subscription = backend.subscribe(arn, subscriber.endpoint, subscriber.protocol)
        if subscriber.filter_policy is not None:
            backend.set_subscription_attributes(
                subscription.arn, "FilterPolicyScope", subscriber.filter_scope
            )
            backend.set_subscription_attributes(
                subscription.arn, "FilterPolicy", subscriber.filter_policy
            )
        if not subscriber.confirmed:
            _leave_pending(subscription)


def _seed_key(account_id: str, region: str, key: KeySpec) -> str:
    """The topic's KmsMasterKeyId: the AWS managed alias, or a new customer managed key's ARN.

    moto has no AWS managed keys (DescribeKey of ``alias/aws/sns`` is NotFound there); the
    scanner tells that key by its reserved alias without describing it, as it does on AWS."""
    if key.aws_managed:
        return AWS_MANAGED_SNS_KEY
    from moto.kms.models import kms_backends

    backend = kms_backends[account_id][region]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{PARTITION}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if key.grants_cloudwatch:
        statements.append(cloudwatch_key_statement())
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    created = backend.create_key(
        policy=policy,
        key_usage="ENCRYPT_DECRYPT",
        key_spec="SYMMETRIC_DEFAULT",
        description="alarm topic key",
        tags=None,
    )
    if not key.enabled:
        backend.disable_key(created.id)
    return str(created.arn)


def _seed_trail(account_id: str, trail: TrailSpec, catalog: Catalog) -> None:
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.logs.models import logs_backends
    from moto.s3.models import s3_backends

    bucket = f"cloudtrail-{account_id}-{trail.name}".lower()
    s3_backends[account_id][PARTITION].create_bucket(bucket, trail.region)
    group_arn = logs_role = ""
    if trail.log_group is not None:
        logs = logs_backends[account_id][trail.region]
        logs.create_log_group(trail.log_group, tags={})
        group_arn = log_group_arn(account_id, trail.region, trail.log_group, PARTITION)
        logs_role = role_arn(account_id, LOGS_ROLE, PARTITION)
    cloudtrail = cloudtrail_backends[account_id][trail.region]
    cloudtrail.create_trail(
        name=trail.name,
        bucket_name=bucket,
        s3_key_prefix="",
        sns_topic_name="",
        is_global=True,
        is_multi_region=trail.multi_region,
        log_validation=True,
        is_org_trail=trail.organization,
        cw_log_group_arn=group_arn,
        cw_role_arn=logs_role,
        kms_key_id="",
        tags_list=[],
    )
    cloudtrail.put_event_selectors(
        trail.name, [_selector(s) for s in trail.selectors], advanced_event_selectors=[]
    )
    if trail.logging:
        cloudtrail.start_logging(trail.name)
    if trail.monitors and trail.log_group is None:
        raise EmulationError(f"trail {trail.name} has monitors but no log group")
    for monitor in trail.monitors:
        _seed_monitor(account_id, trail, monitor, catalog)


def _selector(selector: SelectorSpec) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ReadWriteType": selector.read_write_type,
        "IncludeManagementEvents": selector.include_management_events,
    }
    if selector.exclude_sources:
        item["ExcludeManagementEventSources"] = list(selector.exclude_sources)
    return item


def _seed_monitor(account_id: str, trail: TrailSpec, monitor: Monitor, catalog: Catalog) -> None:
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.logs.models import logs_backends

    assert trail.log_group is not None
    rule = catalog.rule(monitor.rule)
    names = rule.remediation
    pattern = monitor.pattern
    if pattern is None:
        pattern = healthy_filter(rule, catalog.profile(None).name).pattern
    transformations: Any = [  # moto annotates ``str`` but keeps the API's list as given
        {
            "metricName": names.metric_name,
            "metricNamespace": names.metric_namespace,
            "metricValue": "1",
        }
    ]
    logs_backends[account_id][trail.region].put_metric_filter(
        names.filter_name, pattern, trail.log_group, transformations
    )
    if not monitor.alarm:
        return
    action = (
        monitor.topic
        if monitor.topic.startswith("arn:")
        else topic_arn(account_id, trail.region, monitor.topic, PARTITION)
    )
    cloudwatch_backends[account_id][trail.region].put_metric_alarm(
        name=names.alarm_name,
        namespace=monitor.alarm_namespace or names.metric_namespace,
        metric_name=names.metric_name,
        comparison_operator=monitor.comparison,
        evaluation_periods=monitor.evaluation_periods,
        period=monitor.period,
        threshold=monitor.threshold,
        statistic=monitor.statistic,
        description=f"{rule.title} (emulated)",
        dimensions=[],
        alarm_actions=[action],
        datapoints_to_alarm=monitor.datapoints_to_alarm,
        actions_enabled=monitor.actions_enabled,
        treat_missing_data=monitor.treat_missing_data,
    )


@dataclass(frozen=True)
class Emulator:
    """A seeded emulator: its endpoint and the organization in it."""

    endpoint_url: str
    organization: OrganizationSpec


def emulate(organization: OrganizationSpec, catalog: Catalog | None = None) -> Emulator:
    """Serve moto (once per process), reset it, seed ``organization``; the emulator to scan."""
    endpoint = serve()
    reset()
    seed(organization, catalog)
    return Emulator(endpoint, organization)


__all__ = [
    "CLEARED_ENVIRONMENT",
    "FAKE_ENVIRONMENT",
    "HOME_REGION",
    "MANAGEMENT_ACCOUNT_ID",
    "MEMBER_ROLE",
    "MOTO_ERROR_SHAPE_WARNING",
    "AccountSpec",
    "EmulationError",
    "Emulator",
    "Monitor",
    "OrganizationSpec",
    "SelectorSpec",
    "Subscriber",
    "TopicSpec",
    "TrailSpec",
    "emulate",
    "fake_credentials",
    "monitors",
    "require_moto",
    "reset",
    "seed",
    "serve",
]
