"""The converter: values that would break the daemon later are refused when the file is read."""

from __future__ import annotations

import pytest
from daemon.config.refusals import assert_refused


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        (
            "limits: {rates: {cloudtrail: .inf}}\n",
            {},
            "config: limits.rates.cloudtrail: expected a finite number",
        ),
        (
            "limits: {rates: {cloudtrail: 1.0e-300}}\n",
            {},
            "config: limits.rates: cloudtrail: 1e-300 requests per second is outside 0.01-1000",
        ),
        (
            "limits: {rates: {sts: 5000}}\n",
            {},
            "config: limits.rates: sts: 5000 requests per second is outside 0.01-1000",
        ),
        (
            "limits: {rates: {sts: " + "9" * 400 + "}}\n",
            {},
            "config: limits.rates.sts: expected a finite number",
        ),
        (
            "",
            {"SCANNER_LIMITS_RATES": "cloudtrail=inf"},
            "config: limits.rates.cloudtrail (from SCANNER_LIMITS_RATES): expected a finite",
        ),
        (
            "",
            {"SCANNER_LIMITS_RATES": "cloudtrail=1e309"},
            "config: limits.rates.cloudtrail (from SCANNER_LIMITS_RATES): expected a finite",
        ),
        (
            "",
            {"SCANNER_LIMITS_RATES": "cloudtrail=1e-300"},
            "config: limits.rates (from SCANNER_LIMITS_RATES): cloudtrail: 1e-300 requests per",
        ),
        (
            "",
            {"SCANNER_LIMITS_RATES": "s3=5"},
            "config: limits.rates (from SCANNER_LIMITS_RATES): s3: unknown service (known: ",
        ),
        (
            "schedule: {interval: 99999999999999999999d}\n",
            {},
            "config: schedule.interval: must be at most 365d",
        ),
        (
            "schedule: {interval: 400d}\n",
            {},
            "config: schedule.interval: must be at most 365d",
        ),
        (
            "alerts: {retry: {give_up_after: 9999999999999999999999999}}\n",
            {},
            "config: alerts.retry.give_up_after: must be at most 365d",
        ),
        (
            "",
            {"SCANNER_SCHEDULE_DEADLINE": "99999999999999999999d"},
            "config: schedule.deadline (from SCANNER_SCHEDULE_DEADLINE): must be at most 365d",
        ),
        (
            "organization: {include_accounts: [111111111111]}\n",
            {},
            "config: organization.include_accounts[0]: expected a string (quote it in YAML)",
        ),
        (
            "organization: {exclude_accounts: ['111111111111', 222222222222]}\n",
            {},
            "config: organization.exclude_accounts[1]: expected a string (quote it in YAML)",
        ),
    ],
)
def test_out_of_range_values_stop_with_one_line(
    text: str, env: dict[str, str], message: str
) -> None:
    assert_refused(text, env, message)
