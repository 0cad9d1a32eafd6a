"""Benchmark of one organization scan against moto: wall time, calls per account, peak memory.

Usage: ``python bench/scan.py [N]`` (N accounts, management included; default 50).

Theory: moto's server runs in a child process, so the figures (CPU, memory) are the scanner's
alone. The child builds the organization (N-1 member accounts) through Organizations, then
seeds every account straight into moto's backends, which is ~100x faster than over HTTP: the
management account owns a logging organization trail with a filter and an alarm per rule of
the default profile; every member owns a multi-region trail with the same chain, notifying
its own topic. The parent then runs :func:`scanner.aws.collect` exactly as the CLI does, with
the default rate limits, and evaluates the inventory.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import statistics
import sys
import time
import tracemalloc
from collections import defaultdict
from multiprocessing.connection import Connection
from typing import Any

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
REGION = "us-east-1"


def _patterns() -> list[tuple[str, str]]:
    from scanner.catalog import load_catalog

    catalog = load_catalog()
    profile = catalog.profile(None).name
    return [(rule.id, rule.accepted_in(profile)[0].text) for rule in catalog.rules_in(profile)]


def _seed_account(account_id: str, *, organization_trail: bool) -> None:
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.logs.models import logs_backends
    from moto.s3.models import s3_backends
    from moto.sns.models import sns_backends

    s3_backends[account_id]["aws"].create_bucket(f"trail-{account_id}", REGION)
    logs = logs_backends[account_id][REGION]
    group = logs.create_log_group("cloudtrail-logs", {})
    trail = cloudtrail_backends[account_id][REGION].create_trail(
        name="main",
        bucket_name=f"trail-{account_id}",
        s3_key_prefix="",
        sns_topic_name="",
        is_global=True,
        is_multi_region=True,
        log_validation=True,
        is_org_trail=organization_trail,
        cw_log_group_arn=f"{group.arn}:*" if not group.arn.endswith(":*") else group.arn,
        cw_role_arn=f"arn:aws:iam::{account_id}:role/trail-to-logs",
        kms_key_id="",
        tags_list=[],
    )
    trail.start_logging()
    trail.put_event_selectors([{"ReadWriteType": "All", "IncludeManagementEvents": True}], [])
    sns = sns_backends[account_id][REGION]
    topic = sns.create_topic("security-alerts")
    sns.subscribe(topic.arn, "secops@example.com", "email")
    cloudwatch = cloudwatch_backends[account_id][REGION]
    for rule, pattern in _patterns():
        transformation = {"metricName": rule, "metricNamespace": "CISBenchmark", "metricValue": "1"}
        logs.put_metric_filter(rule, pattern, "cloudtrail-logs", [transformation])  # type: ignore[arg-type, unused-ignore]
        cloudwatch.put_metric_alarm(
            name=f"cis-{rule}",
            namespace="CISBenchmark",
            metric_name=rule,
            comparison_operator="GreaterThanOrEqualToThreshold",
            evaluation_periods=1,
            period=300,
            threshold=1.0,
            statistic="Sum",
            description="",
            dimensions=[],
            alarm_actions=[topic.arn],
        )


def _serve(accounts: int, pipe: Connection) -> None:
    """The child: moto's server, an organization of ``accounts`` accounts, seeded."""
    os.environ.update(FAKE_ENV)
    import logging

    import boto3  # type: ignore[import-untyped, unused-ignore]

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    started = time.monotonic()
    org = boto3.client("organizations", region_name=REGION, endpoint_url=url)
    management = org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    members = [
        org.create_account(Email=f"m{i}@example.com", AccountName=f"member-{i:03}")[
            "CreateAccountStatus"
        ]["AccountId"]
        for i in range(accounts - 1)
    ]
    _seed_account(management, organization_trail=True)
    for member in members:
        _seed_account(member, organization_trail=False)
    pipe.send((url, management, time.monotonic() - started))
    pipe.recv()  # wait until the parent is done
    server.stop()


def _report(accounts: int, result: Any, seconds: float, peak: int, seed_seconds: float) -> None:
    from scanner.evaluate import evaluate

    per_account: dict[str, list[int]] = defaultdict(list)
    by_account = result.stats.by_account()
    scanned = [a for a in result.inventory.accounts if a.error is None and a.regions]
    for account in scanned:
        calls = by_account.get(account.id, {})
        for operation in {op for ops in by_account.values() for op in ops}:
            per_account[operation].append(calls.get(operation, 0))
    findings = evaluate(result.inventory)
    statuses: dict[str, int] = defaultdict(int)
    for finding in findings:
        statuses[finding.status.value] += 1
    regions = {len(a.regions) for a in scanned}
    print(f"accounts: {accounts} ({len(scanned)} scanned), regions per account: {regions}")
    print(f"seeding moto (child process): {seed_seconds:.2f} s")
    print(f"scan wall time: {seconds:.2f} s  ({result.duration:.2f} s inside collect)")
    print(f"API calls: {result.stats.calls} total, {result.stats.calls / accounts:.1f} per account")
    print(f"retries: {result.stats.retries}, throttled: {result.stats.throttles}, "
          f"errors: {result.stats.errors}")  # fmt: skip
    print(f"botocore clients created: {result.clients}")
    print("calls per account by operation (mean / max over scanned accounts):")
    for operation, counts in sorted(per_account.items()):
        print(f"  {operation:45} {statistics.mean(counts):6.2f} / {max(counts)}")
    print(f"peak traced Python memory during the scan: {peak / 2**20:.1f} MiB")
    print(f"max resident set size of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")  # fmt: skip  # noqa: E501
    print(f"findings: {len(findings)} {dict(sorted(statuses.items()))}")


def main(argv: list[str]) -> int:
    accounts = int(argv[1]) if len(argv) > 1 else 50
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(accounts, child))
    server.start()
    try:
        url, _, seed_seconds = parent.recv()
        os.environ.update(FAKE_ENV)
        os.environ["AWS_ENDPOINT_URL"] = url
        from scanner.aws import ScanOptions, collect

        if os.environ.get("BENCH_TRACE", "1") == "1":
            tracemalloc.start()
        started = time.monotonic()
        result = asyncio.run(collect(ScanOptions(organization=True)))
        seconds = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        _report(accounts, result, seconds, peak, seed_seconds)
    finally:
        parent.send("done")
        server.join(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
