"""A fault may only turn a verdict into ERROR: a search for counter-examples.

The demo organization (:mod:`scanner.testing.demo`) and the small organization of the
control-plane tests are seeded once into moto's server in this process; a calm scan gives the
verdicts. hypothesis then picks sets of calls — by (service, operation, account, region), out of
those the calm scan made — and makes each fail for good, as AWS does under pressure (throttling
that outlasts the retries), when it refuses (AccessDenied), breaks (500) or times out. moto has
no fault injection: :func:`e2e.faults.hook` patches its dispatch in this process and serialises
the error in the service's own protocol. Every verdict of the scan under faults must be the calm
one or ERROR: never PASS for FAIL, never FAIL for PASS.

The retries are made instant through the scan's own options (no backoff, no patience), never by
sleeping, and the seeded organizations are reused by every example: a fault changes no data. The
explicit examples come first (the management account's DescribeTrails throttled out, the first
false FAIL this search found), then a bounded number of generated ones, derandomized so CI runs
the same search every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from e2e import faults
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.aws import ScanError, ScanOptions, collect
from scanner.aws.scan import CollectResult
from scanner.evaluate import evaluate
from scanner.model import Status, arn_account
from scanner.testing import demo, emulation
from scanner.testing.emulation import MANAGEMENT_ACCOUNT_ID as MANAGEMENT

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(emulation.MOTO_ERROR_SHAPE_WARNING)]

KINDS = {
    "throttled": faults.THROTTLED,
    "denied": faults.DENIED,
    "internal": faults.INTERNAL,
    "timeout": faults.TIMED_OUT,
    "garbled": faults.GARBLED,  # a 200 whose body is no AWS protocol (a proxy's error page)
}
# Calls without which no scan can run: a fault there is a ScanError (one line, exit 2), which
# is no verdict at all, not a false one.
FATAL = {
    ("sts", "GetCallerIdentity"),
    ("organizations", "DescribeOrganization"),
    ("organizations", "ListRoots"),
}

Verdicts = dict[tuple[str, str], Status]


@dataclass(frozen=True)
class Target:
    """Which calls fail: (service, operation) in an account, in one region or all."""

    service: str
    operation: str
    account: str
    region: str | None = None


def _account(call: faults.Call) -> str:
    """The account a call is about: AssumeRole's is the role's, not the caller's."""
    if call.operation == "AssumeRole":
        return arn_account(str(call.params.get("RoleArn", ""))) or call.account
    return call.account


def _decide(plan: dict[Target, faults.Fault]) -> faults.Decide:
    def decide(call: faults.Call) -> faults.Fault | None:
        account = _account(call)
        for region in (call.region, None):
            fault = plan.get(Target(call.service, call.operation, account, region))
            if fault is not None:
                return fault
        return None

    return decide


def scan(organization: emulation.OrganizationSpec) -> CollectResult:
    _seeded(organization)
    options = ScanOptions(
        organization=True,
        endpoint_url=emulation.serve(),
        regions=organization.regions,
        rate_limits=demo.EMULATOR_RATES,
        account_concurrency=demo.EMULATOR_ACCOUNT_CONCURRENCY,
        backoff=(0.0, 0.0),
        patience=0.0,
    )
    with emulation.fake_credentials():
        return asyncio.run(collect(options))


def verdicts(result: CollectResult) -> Verdicts:
    return {(f.account_id, f.rule): f.status for f in evaluate(result.inventory)}


@dataclass(frozen=True)
class Calm:
    organization: emulation.OrganizationSpec
    verdicts: Verdicts
    targets: tuple[Target, ...]


def _targets(result: CollectResult, regions: tuple[str, ...]) -> tuple[Target, ...]:
    """Every (service, operation, account) the calm scan called, in every region and in each."""
    found = []
    for charged, calls in sorted(result.stats.by_account().items()):
        account = charged or MANAGEMENT  # GetCallerIdentity: the caller's, not yet known
        for name in sorted(calls):
            service, operation = name.split(":", 1)
            found.append(Target(service, operation, account))
            found += [Target(service, operation, account, region) for region in regions]
    return tuple(found)


ROOT = "root-account-usage"
TRAIL_CHANGES = "cloudtrail-config-changes"
# The organization of the control-plane tests (tests/e2e/test_control_plane_faults.py), with a
# member whose own trail is stopped: the organization trail alone passes ROOT for it.
SMALL = emulation.OrganizationSpec(
    management=emulation.AccountSpec(
        MANAGEMENT,
        "management",
        trails=(
            emulation.TrailSpec(
                "org", organization=True, log_group="org-logs", monitors=emulation.monitors(ROOT)
            ),
        ),
        topics=(emulation.TopicSpec(),),
    ),
    members=(
        emulation.AccountSpec("220000000001", "alpha", ("Workloads",)),
        emulation.AccountSpec(
            "220000000002",
            "beta",
            ("Workloads",),
            trails=(
                emulation.TrailSpec(
                    "own", log_group="own-logs", monitors=emulation.monitors(TRAIL_CHANGES)
                ),
            ),
            topics=(emulation.TopicSpec(),),
        ),
        emulation.AccountSpec(
            "220000000003",
            "gamma",
            ("Workloads", "Team"),
            trails=(
                emulation.TrailSpec(
                    "own",
                    log_group="own-logs",
                    logging=False,
                    monitors=emulation.monitors(ROOT, TRAIL_CHANGES),
                ),
            ),
            topics=(emulation.TopicSpec(),),
        ),
    ),
)
ORGANIZATIONS = {"demo": demo.ORGANIZATION, "small": SMALL}

# moto's backends are the process's: the organization seeded last, and each one's calm scan.
_SEEDED: list[emulation.OrganizationSpec] = []
_CALM: dict[str, Calm] = {}


def _seeded(organization: emulation.OrganizationSpec) -> None:
    if not _SEEDED or _SEEDED[0] is not organization:
        emulation.emulate(organization)
        _SEEDED[:] = [organization]


def calm_of(name: str) -> Calm:
    if name not in _CALM:
        organization = ORGANIZATIONS[name]
        result = scan(organization)
        _CALM[name] = Calm(organization, verdicts(result), _targets(result, organization.regions))
    return _CALM[name]


@pytest.fixture(scope="module", autouse=True)
def _forget() -> Iterator[None]:
    """Leave moto empty for the next module, as every other test module finds it."""
    yield
    _SEEDED.clear()
    _CALM.clear()
    emulation.reset()


@pytest.fixture
def calm() -> Calm:
    return calm_of("demo")


def false_verdicts(calm: Verdicts, pressed: Verdicts) -> list[str]:
    """Each verdict that is neither the calm one nor ERROR, in words."""
    return [
        f"{account} {rule}: {calm[account, rule].value} -> {status.value}"
        for (account, rule), status in sorted(pressed.items())
        if status is not Status.ERROR and status is not calm.get((account, rule), status)
    ]


def run_under(calm: Calm, plan: dict[Target, faults.Fault]) -> Verdicts | None:
    """The verdicts of a scan where the planned calls fail; ``None`` if it could not run."""
    with pytest.MonkeyPatch.context() as patch:
        failed = faults.hook(patch, _decide(plan))
        try:
            result = scan(calm.organization)
        except ScanError:
            assert any((c.service, c.operation) in FATAL for c in failed), failed
            return None
    pressed = verdicts(result)
    assert set(pressed) <= set(calm.verdicts)
    return pressed


@pytest.mark.parametrize("name", sorted(ORGANIZATIONS))
def test_the_calm_scan_has_passes_and_fails_to_keep(name: str) -> None:
    calm = calm_of(name)
    assert {Status.PASS, Status.FAIL} <= set(calm.verdicts.values())
    active = {a.id for a in calm.organization.accounts if not a.suspended}
    assert {t.account for t in calm.targets} >= active


def test_throttling_the_management_trail_listing_is_an_error_never_a_fail(calm: Calm) -> None:
    """Issue point 1: members judged on their own trails alone once the organization trail is
    unknown went from PASS to FAIL."""
    plan = {Target("cloudtrail", "DescribeTrails", MANAGEMENT): faults.THROTTLED}

    pressed = run_under(calm, plan)

    assert pressed is not None
    assert false_verdicts(calm.verdicts, pressed) == []
    member = "210000000001"  # "healthy" in the demo: monitored through the organization trail
    assert calm.verdicts[member, "root-account-usage"] is Status.PASS
    assert pressed[member, "root-account-usage"] is Status.ERROR


def plans(targets: tuple[Target, ...]) -> st.SearchStrategy[dict[Target, faults.Fault]]:
    """Up to five of the calm scan's calls, each failing with one kind of fault."""
    return st.dictionaries(
        st.sampled_from(targets),
        st.sampled_from(sorted(KINDS)).map(KINDS.get),
        min_size=1,
        max_size=5,
    ).map(lambda plan: {target: fault for target, fault in plan.items() if fault is not None})


# The known cases first: the management account's trail listing and alarms throttled out, a
# member's role refused, a page of the organization's listing throttled out.
EXPLICIT = [
    {Target("cloudtrail", "DescribeTrails", MANAGEMENT): faults.THROTTLED},
    {Target("cloudwatch", "DescribeAlarms", MANAGEMENT): faults.THROTTLED},
    {Target("sts", "AssumeRole", "210000000001"): faults.DENIED},
    {Target("organizations", "ListAccountsForParent", MANAGEMENT): faults.THROTTLED_ORGANIZATIONS},
    {Target("logs", "DescribeMetricFilters", MANAGEMENT, "us-east-1"): faults.INTERNAL},
    {Target("sns", "ListSubscriptionsByTopic", MANAGEMENT): faults.TIMED_OUT},
    {Target("cloudtrail", "DescribeTrails", MANAGEMENT): faults.GARBLED},
    {Target("sns", "GetTopicAttributes", MANAGEMENT): faults.GARBLED},
]


@pytest.mark.parametrize(
    "plan", EXPLICIT, ids=lambda p: ",".join(f"{t.service}:{t.operation}" for t in p)
)
def test_known_faults_turn_verdicts_into_errors_only(
    calm: Calm, plan: dict[Target, faults.Fault]
) -> None:
    pressed = run_under(calm, plan)
    assert pressed is not None
    assert false_verdicts(calm.verdicts, pressed) == []
    assert pressed != calm.verdicts  # the fault did reach the verdicts


@settings(
    max_examples=12,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
@pytest.mark.parametrize("name", sorted(ORGANIZATIONS))
def test_no_fault_turns_a_verdict_into_anything_but_error(name: str, data: st.DataObject) -> None:
    calm = calm_of(name)
    plan = data.draw(plans(calm.targets), label="plan")
    pressed = run_under(calm, plan)
    if pressed is not None:
        assert false_verdicts(calm.verdicts, pressed) == []


def test_a_refused_member_names_the_unread_organization_chain_as_the_cause(calm: Calm) -> None:
    """Issue point 2: with the organization trail's alarms unread, the ERRORs of the account
    whose role is refused cited only AssumeRole, though in the calm run those rules did not
    depend on it at all."""
    refused = next(a.id for a in calm.organization.members if not a.assumable)
    plan = {Target("cloudwatch", "DescribeAlarms", MANAGEMENT): faults.THROTTLED}

    with pytest.MonkeyPatch.context() as patch:
        faults.hook(patch, _decide(plan))
        result = scan(calm.organization)

    findings = {f.rule: f for f in evaluate(result.inventory) if f.account_id == refused}
    for rule in demo.ORG_RULES:
        assert calm.verdicts[refused, rule] is Status.PASS
        finding = findings[rule]
        assert finding.status is Status.ERROR
        reason = finding.reason
        assert "cloudwatch DescribeAlarms in us-east-1 failed: Throttling" in reason
        assert f'organization trail "organization-trail" of account {MANAGEMENT}' in reason
        # The refused role comes second: the account's own trails could still have passed it.
        assert reason.index("DescribeAlarms") < reason.index("sts AssumeRole")
