"""The collector's defaults, importable without the AWS SDK.

The daemon's configuration states these defaults and checks rate limits against the services
named here; importing them from :mod:`scanner.aws` would load botocore, aiobotocore and aiohttp
just to validate a YAML file. So they live here, with no imports, and :mod:`scanner.aws` takes
them from here.
"""

from __future__ import annotations

from collections.abc import Mapping

# Requests per second per (account, region, service): about half the documented quotas, but
# Organizations'.
DEFAULT_RATES: Mapping[str, float] = {
    "cloudtrail": 5.0,  # DescribeTrails / GetTrailStatus / GetEventSelectors: 10/s
    "cloudwatch": 4.0,  # DescribeAlarms: 9/s
    "logs": 3.0,  # DescribeMetricFilters: 5/s
    "sns": 5.0,  # ListSubscriptionsByTopic: 10/s (30/s in us-east-1), Get*Attributes: 30/s
    "kms": 5.0,  # DescribeKey: 2,000/s, GetKeyPolicy: 1,000/s, shared with every encryption
    # Organizations: AWS publishes no rate, only TooManyRequestsException; bench's fake models
    # 2/s and one request in flight. This is the one quota a scan is bound by (a listing of 10,000
    # accounts is 500 pages), so it is used whole: windows of one request every 0.5 s keep one
    # of its two tokens in hand, and a throttled answer (another tool listing) slows this account's
    # pace at once (scanner/aws/pacing.py).
    "organizations": 2.0,
    # AssumeRole: 600/s per account (50/s in bench's fakeaws); every member is entered from the
    # caller's account, so this rate bounds how fast a scan enters accounts (40/s: 1,000 in 25 s).
    "sts": 40.0,
    # The event queue (the daemon's own account): SQS has no practical request quota; the long
    # poll paces ReceiveMessage, this only bounds a tight loop.
    "sqs": 50.0,
    "ec2": 10.0,  # DescribeRegions: 100/s bucket, shared with the account's workloads
}
DEFAULT_MAX_IN_FLIGHT = 64  # requests in flight, all accounts together
# Accounts collected at once. Each account keeps its own per-region pacing and all of them share
# max_in_flight, so this only bounds how many wait on latency together: a warm daemon scan (no
# AssumeRole to pace it) of 1,000 accounts at 50 ms took 20 s at 8 and 11 s at 32, and at 8 the
# 10,000 DescribeTrails of a warm scan alone would take a minute (bench/README.md, warm scans).
DEFAULT_ACCOUNT_CONCURRENCY = 32
DEFAULT_MEMBER_ROLE = "OrganizationAccountAccessRole"  # what Organizations creates in members
DEFAULT_MAX_ATTEMPTS = 5  # attempts per call, the first one included
DEFAULT_BACKOFF = (1.0, 20.0)  # seconds: the first retry waits up to 1 s, none more than 20 s
DEFAULT_PATIENCE = 180.0  # seconds a throttled Organizations or STS call keeps retrying

__all__ = [
    "DEFAULT_ACCOUNT_CONCURRENCY",
    "DEFAULT_BACKOFF",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MEMBER_ROLE",
    "DEFAULT_PATIENCE",
    "DEFAULT_RATES",
]
