"""The fault matrix: the demo organization scanned under each kind of AWS fault, verdicts compared.

    python bench/fault_matrix.py [--cases NAME,...] [--seed 7] [--patience 1.0]
                                 [--organization demo+keys|demo] [--json FILE]

The project's guarantee: a fault (throttling that outlasts the retries, AccessDenied, a 500, a
timeout, a refused role, credentials refused early) only ever turns a verdict into ERROR, never
PASS into FAIL or FAIL into PASS. tests/e2e/test_fault_invariant.py searches for counter-examples
call by call; this benchmark measures the whole picture, one row per kind of pressure.

How: the demo organization (:data:`scanner.testing.demo.ORGANIZATION`, 18 active accounts x 18
rules; by default with :data:`KEYED_MEMBERS`, so that KMS is read too) is seeded once into
moto's server, which runs *in this process*
(:func:`scanner.testing.emulation.emulate`). The calm scan is :func:`scanner.testing.demo.run`'s
(same rates, same concurrency) with instant retries: no backoff and a small patience, so the
retries are all made and none is slept. Each case then runs the same scan with faults injected
through moto's dispatch (:mod:`scanner.testing.faults`) and compares every verdict with the calm
one. A *false verdict* is a PASS or FAIL that is not the calm verdict (a flip, or a PASS/FAIL
where the calm scan said otherwise); ERROR is always allowed. *Missing* counts verdicts the calm
scan drew and the faulted one did not: the accounts of a parent (root or OU) the listing could
not list, which the report names (and exits 1 for); verdicts missing while no parent is reported
unlisted count as false. A scan that cannot start (GetCallerIdentity or the organization's
root failing for good) gives no verdicts at all: its row says so.

Chance is drawn per call from the seed and the call itself (service, operation, account, region,
parameters, and how many times that same call was made before), never from a shared stream, so
the same calls fail whatever order moto's threads serve them in; moto's own random source (the
identifiers it makes while seeding) is seeded too, so a run repeats. What still varies from run
to run is where the control plane's patience, a time budget, runs out.

Exit status: 1 if any case produced a false verdict (it can gate a build), else 0.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import platform
import random
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import structlog

from scanner.aws import ScanOptions, collect
from scanner.aws.scan import CollectResult
from scanner.errors import ScanError
from scanner.evaluate import evaluate
from scanner.model import Status, arn_account
from scanner.testing import demo, emulation, faults

ACCOUNT_SERVICES = ("cloudtrail", "logs", "cloudwatch", "sns", "kms")  # the data plane
CONTROL_PLANE = ("organizations", "sts")
EVERY_SERVICE = (*ACCOUNT_SERVICES, *CONTROL_PLANE)
# What decides whether a topic's message gets through, read after its subscriptions.
NOTIFICATION_READS = (
    "GetTopicAttributes",
    "GetSubscriptionAttributes",
    "DescribeKey",
    "GetKeyPolicy",
)
# Each service's own throttling error, as AWS sends it.
THROTTLING = {
    "cloudtrail": faults.Fault("ThrottlingException", "Rate exceeded"),
    "logs": faults.Fault("ThrottlingException", "Rate exceeded"),
    "kms": faults.Fault("ThrottlingException", "Rate exceeded"),
    "cloudwatch": faults.THROTTLED,
    "sns": faults.THROTTLED,
    "sts": faults.THROTTLED,
    "organizations": faults.THROTTLED_ORGANIZATIONS,
}
DEFAULT_SEED = 7
DEFAULT_PATIENCE = 1.0  # seconds a throttled Organizations or STS call retries, instantly

Verdicts = dict[tuple[str, str], Status]


# --------------------------------------------------------------------------------------------
# The organization: the demo's, and three members whose alarm topics use customer managed keys
# (the demo's only encrypted topic uses the AWS managed key, which is told by its alias and never
# read): with them the scan reads DescribeKey and GetKeyPolicy too, so faults reach KMS.


def _keyed(number: int, name: str, key: emulation.KeySpec, about: str) -> emulation.AccountSpec:
    trail = emulation.TrailSpec(
        "account-trail", log_group=demo.TRAIL_LOGS, monitors=emulation.monitors(*demo.MEMBER_RULES)
    )
    return emulation.AccountSpec(
        f"2100000000{number:02d}",
        name,
        ("Workloads", "Production"),
        trails=(trail,),
        topics=(emulation.TopicSpec(key=key),),
        about=about,
    )


KEYED_MEMBERS = (
    _keyed(31, "vault-prod", emulation.KeySpec(), "its topic's customer key grants CloudWatch"),
    _keyed(
        32,
        "escrow-prod",
        emulation.KeySpec(grants_cloudwatch=False),
        "its topic's customer key does not let CloudWatch use it",
    ),
    _keyed(
        33,
        "archive-prod",
        emulation.KeySpec(enabled=False),
        "its topic's customer key is disabled",
    ),
)
ORGANIZATIONS = {
    "demo+keys": dataclasses.replace(
        demo.ORGANIZATION, members=(*demo.ORGANIZATION.members, *KEYED_MEMBERS)
    ),
    "demo": demo.ORGANIZATION,
}
DEFAULT_ORGANIZATION = "demo+keys"


# --------------------------------------------------------------------------------------------
# Which calls fail.


class Chance:
    """Whether a call fails, with probability ``share``, drawn from the seed and the call.

    The n-th time the same request (service, operation, account, region, parameters) is made, the
    draw is the same in every run: moto's request threads may serve the scan's concurrent calls
    in any order without changing which ones fail.
    """

    def __init__(self, seed: int, share: float) -> None:
        self.seed = seed
        self.share = share
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, call: faults.Call) -> bool:
        key = json.dumps(
            [call.service, call.operation, call.account, call.region, call.params],
            sort_keys=True,
            default=str,
        )
        with self._lock:
            made = self._seen[key]
            self._seen[key] += 1
        return random.Random(f"{self.seed}|{key}|{made}").random() < self.share


@dataclass(frozen=True)
class Setting:
    """What a case's faults are drawn for: the seed, and the organization's member accounts."""

    seed: int
    members: frozenset[str]


Plan = Callable[[Setting], faults.Decide]  # a case: who fails, in a setting


def _share(
    seed: int, share: float, services: Sequence[str], fault: Callable[[str], faults.Fault]
) -> faults.Decide:
    """``share`` of every call to ``services`` fails with ``fault(service)``."""
    chance = Chance(seed, share)

    def decide(call: faults.Call) -> faults.Fault | None:
        if call.service in services and chance(call):
            return fault(call.service)
        return None

    return decide


def throttling(share: float, services: Sequence[str]) -> Plan:
    """``share`` of the calls to ``services`` throttled, each with its service's own code."""
    return lambda setting: _share(setting.seed, share, services, THROTTLING.__getitem__)


def failing(share: float, services: Sequence[str], fault: faults.Fault) -> Plan:
    return lambda setting: _share(setting.seed, share, services, lambda _: fault)


def refusing(share: float, operations: Sequence[str]) -> Plan:
    """``share`` of the calls of ``operations`` refused (AccessDenied)."""

    def plan(setting: Setting) -> faults.Decide:
        chance = Chance(setting.seed, share)

        def decide(call: faults.Call) -> faults.Fault | None:
            return faults.DENIED if call.operation in operations and chance(call) else None

        return decide

    return plan


def nothing(_: Setting) -> faults.Decide:
    return lambda _: None


def refused_roles(setting: Setting) -> faults.Decide:
    """Every AssumeRole into a member's role is refused (the role's trust policy, an SCP)."""
    members = setting.members

    def decide(call: faults.Call) -> faults.Fault | None:
        if call.operation == "AssumeRole":
            target = arn_account(str(call.params.get("RoleArn", "")))
            if target in members:
                return faults.DENIED
        return None

    return decide


def expired_first_call(setting: Setting) -> faults.Decide:
    """Each member's first request with its assumed credentials is refused as expired."""
    members = setting.members
    refused: set[str] = set()
    lock = threading.Lock()

    def decide(call: faults.Call) -> faults.Fault | None:
        if call.account not in members:
            return None
        with lock:
            if call.account in refused:
                return None
            refused.add(call.account)
        return faults.EXPIRED

    return decide


@dataclass(frozen=True)
class Case:
    name: str
    about: str
    plan: Plan


def _throttle_cases() -> list[Case]:
    cases = []
    for percent in (30, 60, 90):
        cases.append(
            Case(
                f"throttle-{percent}",
                f"{percent}% of the account services' calls throttled",
                throttling(percent / 100, ACCOUNT_SERVICES),
            )
        )
        cases.append(
            Case(
                f"throttle-{percent}-control",
                f"{percent}% of the account services', Organizations' and STS's calls throttled",
                throttling(percent / 100, EVERY_SERVICE),
            )
        )
    return cases


CASES = (
    Case("baseline", "no fault (the hook installed, deciding nothing)", nothing),
    *_throttle_cases(),
    Case(
        "internal-30",
        "30% of every service's calls answer 500 InternalFailure",
        failing(0.3, EVERY_SERVICE, faults.INTERNAL),
    ),
    Case(
        "timeout-30",
        "30% of the account services' calls time out (408 RequestTimeout)",
        failing(0.3, ACCOUNT_SERVICES, faults.TIMED_OUT),
    ),
    Case(
        "notify-denied",
        "every GetTopicAttributes, GetSubscriptionAttributes, DescribeKey, GetKeyPolicy refused",
        refusing(1.0, NOTIFICATION_READS),
    ),
    Case(
        "notify-denied-50",
        "half of those four reads refused (AccessDenied)",
        refusing(0.5, NOTIFICATION_READS),
    ),
    Case(
        "key-policy-denied",
        "every GetKeyPolicy refused (DescribeKey answered)",
        refusing(1.0, ("GetKeyPolicy",)),
    ),
    Case("roles-refused", "every member's role refused (AccessDenied)", refused_roles),
    Case(
        "expired-first",
        "every member's first call refused with ExpiredToken (the scanner assumes again)",
        expired_first_call,
    ),
)
CASES_BY_NAME = {case.name: case for case in CASES}


# --------------------------------------------------------------------------------------------
# Scans and their comparison.


def scan(endpoint: str, regions: tuple[str, ...], patience: float) -> CollectResult:
    """The demo's scan (:func:`scanner.testing.demo.run`), with retries that never wait."""
    options = ScanOptions(
        organization=True,
        endpoint_url=endpoint,
        regions=regions,
        rate_limits=demo.EMULATOR_RATES,
        account_concurrency=demo.EMULATOR_ACCOUNT_CONCURRENCY,
        backoff=(0.0, 0.0),
        patience=patience,
    )
    with emulation.fake_credentials():
        return asyncio.run(collect(options))


def verdicts(result: CollectResult) -> Verdicts:
    return {(f.account_id, f.rule): f.status for f in evaluate(result.inventory)}


def false_verdicts(calm: Verdicts, pressed: Verdicts) -> list[str]:
    """Each verdict that is neither the calm one nor ERROR, in words."""
    return [
        f"{account} {rule}: {calm[account, rule].value if (account, rule) in calm else 'none'}"
        f" -> {status.value}"
        for (account, rule), status in sorted(pressed.items())
        if status is not Status.ERROR and status is not calm.get((account, rule))
    ]


@dataclass
class Row:
    case: str
    about: str
    passed: int = 0
    failed: int = 0
    errors: int = 0
    missing: int = 0
    gaps: int = 0  # parents (root, OUs) the listing could not list: their accounts have no verdict
    false: list[str] = field(default_factory=list)
    faults: int = 0  # responses the hook failed
    calls: int = 0  # calls the scanner made (pages count one each), retries not included
    retries: int = 0
    seconds: float = 0.0
    scan_error: str | None = None  # the scan could not run at all (no verdicts)

    def line(self) -> str:
        counts = (
            f"| {self.passed} | {self.failed} | {self.errors} | {self.missing} | {self.gaps} "
            if self.scan_error is None
            else "| - | - | - | - | - "
        )
        note = f" (no scan: {self.scan_error})" if self.scan_error else ""
        return (
            f"| {self.case}{note} {counts}| {len(self.false)} | {self.faults} | {self.calls} "
            f"| {self.retries} | {self.seconds:.1f} |"
        )


HEADER = (
    "| case | PASS | FAIL | ERROR | missing | unlisted parents | false verdicts | faults | calls "
    "| retries | wall s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _count(row: Row, calm: Verdicts, result: CollectResult) -> None:
    """The row's figures from the scan's result; a verdict dropped silently counts as false."""
    pressed = verdicts(result)
    statuses = Counter(pressed.values())
    row.passed, row.failed = statuses[Status.PASS], statuses[Status.FAIL]
    row.errors = statuses[Status.ERROR]
    row.missing = len(set(calm) - set(pressed))
    row.gaps = len(result.listing.incomplete) if result.listing is not None else 0
    row.false = false_verdicts(calm, pressed)
    if row.missing and not row.gaps:
        row.false.append(f"{row.missing} verdicts missing, and no parent reported unlisted")
    row.calls, row.retries = result.stats.calls, result.stats.retries


@dataclass(frozen=True)
class Bench:
    """The emulator the scans read, the organization seeded in it, how they retry."""

    endpoint: str
    organization: emulation.OrganizationSpec
    patience: float

    def scan(self) -> CollectResult:
        return scan(self.endpoint, self.organization.regions, self.patience)


def run_case(case: Case, bench: Bench, calm: Verdicts, setting: Setting) -> Row:
    row = Row(case.name, case.about)
    started = time.perf_counter()
    with faults.injected(case.plan(setting)) as failed:
        try:
            result = bench.scan()
        except ScanError as error:
            row.scan_error = str(error).splitlines()[0]
            result = None
    if result is not None:
        _count(row, calm, result)
    row.seconds = time.perf_counter() - started
    row.faults = len(failed)
    return row


@dataclass
class Matrix:
    organization: str
    seed: int
    patience: float
    machine: str
    calm: Row
    rows: list[Row]

    @property
    def false(self) -> int:
        return sum(len(row.false) for row in self.rows)


def measure(cases: Sequence[Case], organization: str, seed: int, patience: float) -> Matrix:
    """Seed ``organization`` (a name of :data:`ORGANIZATIONS`), scan it calm, then per case."""
    spec = ORGANIZATIONS[organization]
    # moto draws the identifiers it makes (OU ids, subscription ARNs, key ids) from its own
    # random source: seeded (moto's API for it), they are the same in every run, and so are
    # the requests that name them and their draws.
    request = urllib.request.Request(f"{emulation.serve()}/moto-api/seed?a={seed}", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    bench = Bench(emulation.emulate(spec).endpoint_url, spec, patience)
    started = time.perf_counter()
    result = bench.scan()
    calm = verdicts(result)
    reference = Row("calm", "the reference scan, no hook")
    _count(reference, calm, result)
    reference.seconds = time.perf_counter() - started
    setting = Setting(seed, frozenset(a.id for a in spec.members))
    rows = [run_case(case, bench, calm, setting) for case in cases]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return Matrix(organization, seed, patience, machine, reference, rows)


# --------------------------------------------------------------------------------------------
# Command line.


def _cases(value: str) -> list[Case]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in CASES_BY_NAME]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown case(s) {', '.join(unknown) or '(none)'}; known: {', '.join(CASES_BY_NAME)}"
        )
    return [CASES_BY_NAME[name] for name in names]


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--cases",
        type=_cases,
        default=list(CASES),
        help=f"comma-separated, in this order by default: {','.join(CASES_BY_NAME)}",
    )
    parser.add_argument(
        "--organization",
        choices=sorted(ORGANIZATIONS),
        default=DEFAULT_ORGANIZATION,
        help="the demo's, or with three members whose topics use customer managed KMS keys",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="of every random choice")
    parser.add_argument(
        "--patience",
        type=float,
        default=DEFAULT_PATIENCE,
        help="seconds a throttled Organizations or STS call keeps retrying (no backoff)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    previous = structlog.get_config()
    # Every injected fault is logged by the scanner; the table is the output.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    try:
        matrix = measure(args.cases, args.organization, args.seed, args.patience)
    finally:
        structlog.configure(**previous)
    out = sys.stdout
    calm = matrix.calm
    out.write(
        f"organization {matrix.organization}, {calm.passed + calm.failed + calm.errors} verdicts; "
        f"seed {matrix.seed}, patience {matrix.patience:g} s, no backoff; "
        f"{matrix.machine}; moto in process\n\n{HEADER}\n{calm.line()}\n"
    )
    for row in matrix.rows:
        out.write(row.line() + "\n")
    for row in matrix.rows:
        for verdict in row.false:
            out.write(f"FALSE VERDICT in {row.case}: {verdict}\n")
    if args.json:
        document = {**asdict(matrix), "false_verdicts": matrix.false}
        args.json.write_text(json.dumps(document, indent=1) + "\n")
    return 1 if matrix.false else 0


if __name__ == "__main__":
    sys.exit(main())
