"""The Terraform format parses (python-hcl2) and declares the same fix as the other formats."""

from __future__ import annotations

import re

import hcl2
import pytest
from remediation.remediation_cases import (
    ACCOUNT,
    BROKEN,
    FULL,
    HOME,
    LOG_GROUP,
    MISSING,
    OK,
    TOPIC,
    TRAIL_ARN,
    evaluated,
    fix,
    hcl_reference,
    hcl_string,
    imports,
    made,
    resources,
    rule,
)

from scanner.model import Account, Finding, Inventory, Link, LinkStatus, Region
from scanner.patterns import parse, render


def test_terraform_parses_and_declares_the_whole_fix() -> None:
    r = rule()
    context = {"account_id": ACCOUNT, "region": HOME, "trail_name": "main"}
    text = fix(made(Link.LOG_GROUP, MISSING), context)["terraform"]
    declared = resources(hcl2.loads(text))
    assert set(declared) == {
        "aws_cloudwatch_log_group.cloudtrail",
        "aws_iam_role.cloudtrail_to_cloudwatch_logs",
        "aws_iam_role_policy.cloudtrail_to_cloudwatch_logs",
        "aws_cloudtrail.main",
        "aws_cloudwatch_log_metric_filter.iam_policy_changes",
        "aws_sns_topic.alarms",
        "aws_sns_topic_subscription.alarms",
        "aws_cloudwatch_metric_alarm.iam_policy_changes",
    }
    pattern = hcl_string(declared["aws_cloudwatch_log_metric_filter.iam_policy_changes"]["pattern"])
    assert pattern == render(r.accepted_in("recommended")[0].pattern)
    alarm = declared["aws_cloudwatch_metric_alarm.iam_policy_changes"]
    assert (alarm["threshold"], alarm["period"], alarm["evaluation_periods"]) == (1, 300, 1)
    assert hcl_string(alarm["comparison_operator"]) == "GreaterThanOrEqualToThreshold"
    assert hcl_string(alarm["statistic"]) == "Sum"
    trail = declared["aws_cloudtrail.main"]
    assert trail["is_multi_region_trail"] is True and trail["enable_logging"] is True


def test_terraform_keeps_quotes_in_the_accounts_names() -> None:
    text = fix(made(Link.FILTER, MISSING))["terraform"]
    declared = resources(hcl2.loads(text))
    metric_filter = declared["aws_cloudwatch_log_metric_filter.iam_policy_changes"]
    assert hcl_string(metric_filter["log_group_name"]) == LOG_GROUP
    assert (
        parse(hcl_string(metric_filter["pattern"])) == rule().accepted_in("recommended")[0].pattern
    )


@pytest.mark.parametrize("broken", list(Link), ids=str)
@pytest.mark.parametrize("after", [OK, MISSING, BROKEN], ids=str)
def test_every_broken_link_gives_terraform_that_parses(broken: Link, after: LinkStatus) -> None:
    text = fix(made(broken, after), {**FULL, "topic_arn": TOPIC})["terraform"]
    assert resources(hcl2.loads(text))


def test_what_the_scan_cannot_know_is_a_declared_variable() -> None:
    inv = Inventory(accounts=(Account(id=ACCOUNT, name="prod", regions={HOME: Region()}),))
    text = evaluated(inv).remediation["terraform"]
    parsed = hcl2.loads(text)
    variables = {hcl_string(name) for entry in parsed["variable"] for name in entry}
    assert variables == {"email_address", "s3_bucket_name", "region"}
    used = set(re.findall(r"\bvar\.([a-z0-9_]+)", text))
    assert used == variables
    assert "<" not in text.replace("<PLACEHOLDER>", "")  # no placeholder left in the code
    ((name, provider),) = parsed["provider"][0].items()
    assert hcl_string(name) == "aws"
    assert provider["region"] in ("var.region", "${var.region}")
    trail = resources(parsed)["aws_cloudtrail.management_events"]
    assert trail["s3_bucket_name"] in ("var.s3_bucket_name", "${var.s3_bucket_name}")


def test_a_configuration_names_the_terraform_and_provider_versions_it_needs() -> None:
    parsed = hcl2.loads(fix(made(Link.FILTER, MISSING))["terraform"])
    (block,) = parsed["terraform"]
    assert hcl_string(block["required_version"]) == ">= 1.5"  # import blocks
    aws = block["required_providers"][0]["aws"]
    assert (hcl_string(aws["source"]), hcl_string(aws["version"])) == ("hashicorp/aws", ">= 5.0")


EXISTING = {**FULL, "filter_name": "IAMPolicyChangesFilter"}


@pytest.mark.parametrize(
    ("finding", "context", "address", "imported"),
    [
        (made(Link.LOGGING), FULL, "aws_cloudtrail.main", TRAIL_ARN),
        (
            made(Link.FILTER, OK),
            EXISTING,
            "aws_cloudwatch_log_metric_filter.iam_policy_changes",
            f"{LOG_GROUP}:IAMPolicyChangesFilter",
        ),
        (
            made(Link.ALARM_CONDITION),
            FULL,
            "aws_cloudwatch_metric_alarm.iam_policy_changes",
            "iam-alarm",
        ),
    ],
    ids=["trail-by-arn", "filter-by-group-and-name", "alarm-by-name"],
)
def test_an_existing_resource_is_adopted_by_an_import_block_with_the_providers_id(
    finding: Finding, context: dict[str, str], address: str, imported: str
) -> None:
    text = fix(finding, context)["terraform"]
    parsed = hcl2.loads(text)
    declared = resources(parsed)
    (found,) = imports(parsed).items()
    assert found[0] == address
    assert found[1] == (imported, hcl_reference(declared[address]["provider"]))
    assert "terraform import" not in text  # no step left to do by hand


def test_what_the_fix_creates_is_not_imported() -> None:
    parsed = hcl2.loads(fix(made(Link.LOG_GROUP, MISSING), FULL)["terraform"])
    # Only the trail exists: the log group, role, filter, alarm and topic are new.
    assert list(imports(parsed)) == ["aws_cloudtrail.main"]


@pytest.mark.parametrize("broken", list(Link), ids=str)
@pytest.mark.parametrize("after", [OK, MISSING, BROKEN], ids=str)
def test_every_import_block_adopts_a_declared_resource_through_its_provider(
    broken: Link, after: LinkStatus
) -> None:
    parsed = hcl2.loads(fix(made(broken, after), {**EXISTING, "topic_arn": TOPIC})["terraform"])
    declared = resources(parsed)
    for address, (imported, provider) in imports(parsed).items():
        assert imported and "<" not in imported
        assert provider == hcl_reference(declared[address]["provider"])
