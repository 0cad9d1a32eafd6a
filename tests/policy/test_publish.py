"""The two questions of an alarm's notification, on the policies AWS writes and the ones users
write to fix them."""

from __future__ import annotations

import json
from collections.abc import Mapping

from scanner.policy import Outcome, alarm_may_publish, cloudwatch_may_use_key
from scanner.testing.builders import default_topic_policy

OWNER = "111111111111"
OTHER = "222222222222"
ORG = "o-abcdefghij"
TOPIC = f"arn:aws:sns:us-east-1:{OWNER}:security-alerts"
KEY = f"arn:aws:kms:us-east-1:{OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def alarm(account: str) -> str:
    return f"arn:aws:cloudwatch:us-east-1:{account}:alarm:root-account-usage"


# The access policy SNS gives a new topic (Amazon SNS Developer Guide, "Example cases for Amazon
# SNS access control"), as GetTopicAttributes returns it: JSON text.
DEFAULT_TOPIC_POLICY = default_topic_policy(TOPIC)


def topic_policy(*extra: Mapping[str, object]) -> str:
    document = json.loads(DEFAULT_TOPIC_POLICY)
    document["Statement"].extend(extra)
    return json.dumps(document)


def publish(policy: object, account: str, organization_id: str | None = ORG) -> Outcome:
    return alarm_may_publish(
        policy,
        topic_arn=TOPIC,
        alarm_arn=alarm(account),
        alarm_account=account,
        organization_id=organization_id,
    ).outcome


def grant(condition: Mapping[str, object] | None = None, **principal: object) -> dict[str, object]:
    statement: dict[str, object] = {
        "Sid": "AllowAlarms",
        "Effect": "Allow",
        "Principal": principal or {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": TOPIC,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def test_the_default_topic_policy_lets_only_the_owners_alarms_publish() -> None:
    same = alarm_may_publish(
        DEFAULT_TOPIC_POLICY,
        topic_arn=TOPIC,
        alarm_arn=alarm(OWNER),
        alarm_account=OWNER,
        organization_id=None,
    )
    assert same.outcome is Outcome.ALLOWED
    assert same.statement == "__default_statement_ID"
    other = alarm_may_publish(
        DEFAULT_TOPIC_POLICY,
        topic_arn=TOPIC,
        alarm_arn=alarm(OTHER),
        alarm_account=OTHER,
        organization_id=None,
    )
    assert other.outcome is Outcome.NOT_ALLOWED
    assert other.reason == (
        f"no statement allows sns:Publish to cloudwatch.amazonaws.com (for account {OTHER}) "
        f"on {TOPIC}"
    )


def test_a_grant_to_the_service_lets_another_accounts_alarm_publish() -> None:
    assert publish(topic_policy(grant()), OTHER) is Outcome.ALLOWED


def test_a_grant_to_the_service_narrowed_by_source_account() -> None:
    policy = topic_policy(grant({"StringEquals": {"aws:SourceAccount": OTHER}}))
    assert publish(policy, OTHER) is Outcome.ALLOWED
    assert publish(policy, "333333333333") is Outcome.NOT_ALLOWED


def test_a_grant_to_the_service_narrowed_by_the_alarms_arn() -> None:
    condition = {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:*:{OTHER}:alarm:*"}}
    policy = topic_policy(grant(condition))
    assert publish(policy, OTHER) is Outcome.ALLOWED
    assert publish(policy, "333333333333") is Outcome.NOT_ALLOWED


def test_a_grant_to_the_service_narrowed_by_the_organization() -> None:
    policy = topic_policy(grant({"StringEquals": {"aws:SourceOrgID": ORG}}))
    assert publish(policy, OTHER) is Outcome.ALLOWED
    assert publish(policy, OTHER, organization_id="o-zzzzzzzzzz") is Outcome.NOT_ALLOWED
    unknown = alarm_may_publish(
        policy, topic_arn=TOPIC, alarm_arn=alarm(OTHER), alarm_account=OTHER, organization_id=None
    )
    assert (unknown.outcome, unknown.undecided_key) == (Outcome.UNDECIDED, "aws:SourceOrgID")


def test_a_grant_to_the_alarms_account_lets_it_publish() -> None:
    for principal in (OTHER, f"arn:aws:iam::{OTHER}:root"):
        policy = topic_policy(grant(AWS=principal))
        assert publish(policy, OTHER) is Outcome.ALLOWED
        assert publish(policy, "333333333333") is Outcome.NOT_ALLOWED


def test_a_grant_to_a_role_of_the_alarms_account_does_not() -> None:
    policy = topic_policy(grant(AWS=f"arn:aws:iam::{OTHER}:role/alerts"))
    assert publish(policy, OTHER) is Outcome.NOT_ALLOWED


def test_a_deny_wins_even_for_the_owners_alarms() -> None:
    deny = {
        "Sid": "DenyPublish",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": TOPIC,
    }
    decision = alarm_may_publish(
        topic_policy(grant(), deny),
        topic_arn=TOPIC,
        alarm_arn=alarm(OWNER),
        alarm_account=OWNER,
        organization_id=ORG,
    )
    assert decision.outcome is Outcome.DENIED
    assert decision.reason.startswith('statement "DenyPublish" denies sns:Publish')


def test_the_organization_perimeter_shuts_out_services_unless_it_exempts_them() -> None:
    perimeter = {
        "Sid": "OnlyOurOrganization",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": TOPIC,
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORG}},
    }
    assert publish(topic_policy(grant(), perimeter), OTHER) is Outcome.DENIED
    perimeter["Condition"] = {
        "StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG},
        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
    }
    assert publish(topic_policy(grant(), perimeter), OTHER) is Outcome.ALLOWED


def test_the_confused_deputy_guard_passes_alarms_of_the_organization() -> None:
    guard = {
        "Sid": "ConfusedDeputy",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": TOPIC,
        "Condition": {
            "StringNotEqualsIfExists": {"aws:SourceOrgID": ORG},
            "Null": {"aws:SourceAccount": "false"},
            "Bool": {"aws:PrincipalIsAWSService": "true"},
        },
    }
    assert publish(topic_policy(grant(), guard), OTHER) is Outcome.ALLOWED
    assert publish(topic_policy(grant(), guard), OTHER, "o-zzzzzzzzzz") is Outcome.DENIED


def test_a_condition_on_what_the_scanner_cannot_know_is_undecided() -> None:
    for key, operator, value in (
        ("aws:SourceIp", "IpAddress", "203.0.113.0/24"),
        ("aws:CurrentTime", "DateLessThan", "2030-01-01T00:00:00Z"),
        ("aws:PrincipalAccount", "StringEquals", OTHER),
        ("aws:PrincipalArn", "ArnLike", "arn:aws:iam::*:role/*"),
    ):
        decision = alarm_may_publish(
            topic_policy(grant({operator: {key: value}})),
            topic_arn=TOPIC,
            alarm_arn=alarm(OTHER),
            alarm_account=OTHER,
            organization_id=ORG,
        )
        assert decision.outcome is Outcome.UNDECIDED, key
        assert decision.undecided_key in (key, f"{operator} {key}")
        assert decision.statement == "AllowAlarms"


def test_what_aws_documents_of_a_service_principals_request() -> None:
    known = {
        "StringEquals": {
            "aws:PrincipalServiceName": "cloudwatch.amazonaws.com",
            "aws:ResourceAccount": OWNER,
            "aws:RequestedRegion": "us-east-1",
        },
        "Bool": {"aws:PrincipalIsAWSService": "true", "aws:ViaAWSService": "false"},
        "Null": {"aws:CalledVia": "true", "aws:PrincipalOrgID": "true"},
    }
    assert publish(topic_policy(grant(known)), OTHER) is Outcome.ALLOWED


def test_a_topic_policy_that_cannot_be_read_is_undecided() -> None:
    assert publish("", OTHER) is Outcome.UNDECIDED
    assert publish("{", OTHER) is Outcome.UNDECIDED


# --- the topic's KMS key --------------------------------------------------------------------

ROOT_STATEMENT = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def key_policy(*statements: Mapping[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Id": "key-policy", "Statement": list(statements)})


def use_key(policy: object, account: str = OWNER) -> tuple[Outcome, str]:
    decision = cloudwatch_may_use_key(
        policy, key_arn=KEY, alarm_arn=alarm(account), alarm_account=account, organization_id=ORG
    )
    return decision.outcome, decision.reason


def cloudwatch_key_statement(*actions: str, **condition: object) -> dict[str, object]:
    statement: dict[str, object] = {
        "Sid": "AllowCloudWatchAlarms",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": list(actions),
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


def test_a_key_policy_with_only_the_root_statement_gives_cloudwatch_nothing() -> None:
    outcome, reason = use_key(key_policy(ROOT_STATEMENT))
    assert outcome is Outcome.NOT_ALLOWED
    assert reason.startswith("no statement allows kms:Decrypt to cloudwatch.amazonaws.com")


def test_a_managed_key_like_policy_grants_the_account_through_sns_only() -> None:
    via_sns = {
        "Sid": "Allow access through SNS for all principals in the account",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:CallerAccount": OWNER,
                "kms:ViaService": "sns.us-east-1.amazonaws.com",
            }
        },
    }
    assert use_key(key_policy(via_sns, ROOT_STATEMENT))[0] is Outcome.NOT_ALLOWED


def test_the_aws_managed_sns_key_policy_shape_is_undecided_not_guessed() -> None:
    # alias/aws/sns grants {"AWS": "*"} under kms:CallerAccount and kms:ViaService, whose values
    # for a call SNS makes for a service principal AWS does not document: the evaluator says so
    # (the chain decides managed keys by their manager, not by this policy).
    managed = {
        "Sid": "Allow access through SNS for all principals in the account",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:CallerAccount": OWNER,
                "kms:ViaService": "sns.us-east-1.amazonaws.com",
            }
        },
    }
    decision = cloudwatch_may_use_key(
        key_policy(managed),
        key_arn=KEY,
        alarm_arn=alarm(OWNER),
        alarm_account=OWNER,
        organization_id=ORG,
    )
    assert decision.outcome is Outcome.UNDECIDED
    assert decision.undecided_key in ("kms:CallerAccount", "kms:ViaService")


def test_a_statement_for_cloudwatch_with_both_actions_lets_it_use_the_key() -> None:
    policy = key_policy(
        ROOT_STATEMENT, cloudwatch_key_statement("kms:Decrypt", "kms:GenerateDataKey*")
    )
    decision = cloudwatch_may_use_key(
        policy, key_arn=KEY, alarm_arn=alarm(OTHER), alarm_account=OTHER, organization_id=None
    )
    assert decision.outcome is Outcome.ALLOWED
    assert decision.statement == "AllowCloudWatchAlarms"
    assert decision.reason == (
        'statement "AllowCloudWatchAlarms" allows kms:Decrypt and kms:GenerateDataKey '
        f"to cloudwatch.amazonaws.com on {KEY}"
    )


def test_decrypt_alone_is_not_enough_and_the_reason_names_generate_data_key() -> None:
    outcome, reason = use_key(key_policy(ROOT_STATEMENT, cloudwatch_key_statement("kms:Decrypt")))
    assert outcome is Outcome.NOT_ALLOWED
    assert "kms:GenerateDataKey" in reason
    assert "kms:Decrypt" not in reason


def test_a_key_statement_narrowed_to_the_alarms_account() -> None:
    narrowed = cloudwatch_key_statement(
        "kms:Decrypt", "kms:GenerateDataKey*", StringEquals={"aws:SourceAccount": OTHER}
    )
    assert use_key(key_policy(narrowed), OTHER)[0] is Outcome.ALLOWED
    assert use_key(key_policy(narrowed), OWNER)[0] is Outcome.NOT_ALLOWED


def test_a_denied_action_outweighs_an_undecided_one() -> None:
    undecided_decrypt = cloudwatch_key_statement(
        "kms:Decrypt", IpAddress={"aws:SourceIp": "203.0.113.0/24"}
    )
    deny_generate = {
        "Sid": "NoNewKeys",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
    }
    outcome, reason = use_key(key_policy(undecided_decrypt, deny_generate))
    assert outcome is Outcome.DENIED
    assert reason.startswith('statement "NoNewKeys" denies kms:GenerateDataKey')
