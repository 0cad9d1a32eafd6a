"""The notification end judged from inventories alone: the cases moto cannot set up, and the
unknowns that must give ERROR (never PASS or FAIL)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from evaluate.iam_chain import ALARM, RULE, TOPIC

from scanner.evaluate import evaluate
from scanner.model import (
    Account,
    CollectionError,
    CompositeAlarm,
    Finding,
    KmsKey,
    Link,
    LinkStatus,
    Status,
    Subscription,
    SubscriptionFilter,
    Topic,
    TopicAccess,
)
from scanner.testing import (
    MEMBER_ACCOUNT_ID,
    healthy_account,
    single_account,
    with_alarm,
    with_errors,
    with_region,
    with_topic,
)
from scanner.testing.builders import default_topic_policy, healthy_topic

KEY_ARN = f"arn:aws:kms:us-east-1:{MEMBER_ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GRANT = {
    "Sid": "AllowCloudWatchAlarms",
    "Effect": "Allow",
    "Principal": {"Service": "cloudwatch.amazonaws.com"},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "Resource": "*",
}


def with_the_topic(account: Account, topic: Topic) -> Account:
    return with_region(account, "us-east-1", topics={TOPIC: topic})


def judged(topic: Topic) -> Finding:
    account = with_the_topic(healthy_account(rules=[RULE]), topic)
    return next(f for f in evaluate(single_account(account)) if f.rule == RULE)


def link(finding: Finding, which: Link) -> tuple[LinkStatus, str]:
    found = next(r for r in finding.chain if r.link is which)
    return found.status, found.detail


def encrypted(key: KmsKey) -> Topic:
    topic = healthy_topic(TOPIC)
    assert topic.access is not None
    return dataclasses.replace(topic, access=dataclasses.replace(topic.access, key=key))


def key_policy(*statements: Mapping[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_the_healthy_chain_holds_on_every_notification_link() -> None:
    finding = judged(healthy_topic(TOPIC))
    assert finding.status is Status.PASS
    for which in (Link.TOPIC_KEY, Link.TOPIC_POLICY, Link.DELIVERY):
        assert link(finding, which)[0] is LinkStatus.OK


def test_topic_attributes_never_read_are_an_error_not_a_verdict() -> None:
    """An inventory saved before the scanner read topic attributes holds none."""
    finding = judged(dataclasses.replace(healthy_topic(TOPIC), access=None))
    assert finding.status is Status.ERROR
    assert f"cannot read the attributes of topic {TOPIC}" in finding.reason


def test_a_failed_get_topic_attributes_is_quoted() -> None:
    error = CollectionError(
        "sns", "GetTopicAttributes", "Throttling", "Rate exceeded", "us-east-1", TOPIC
    )
    account = with_errors(
        with_topic(healthy_account(rules=[RULE]), TOPIC, access=None),
        error,
    )
    finding = next(f for f in evaluate(single_account(account)) if f.rule == RULE)
    assert finding.status is Status.ERROR
    assert "sns GetTopicAttributes" in finding.reason and "Throttling" in finding.reason


def test_a_key_that_does_not_exist_notifies_nobody() -> None:
    finding = judged(encrypted(KmsKey("alias/alarms", exists=False)))
    assert (finding.status, finding.broken_link) == (Status.FAIL, Link.TOPIC_KEY)
    assert "alias/alarms, which does not exist" in finding.reason


def test_a_key_that_could_not_be_described_is_an_error() -> None:
    finding = judged(encrypted(KmsKey("alias/alarms")))
    assert finding.status is Status.ERROR
    assert "cannot describe the KMS key alias/alarms" in finding.reason


def test_a_key_without_a_known_state_is_an_error() -> None:
    key = KmsKey("alias/alarms", arn=KEY_ARN, manager="CUSTOMER", policy=key_policy(GRANT))
    assert judged(encrypted(key)).status is Status.ERROR


def test_a_key_pending_deletion_notifies_nobody() -> None:
    key = KmsKey(
        KEY_ARN, arn=KEY_ARN, manager="CUSTOMER", state="PendingDeletion", policy=key_policy(GRANT)
    )
    finding = judged(encrypted(key))
    assert (finding.status, finding.broken_link) == (Status.FAIL, Link.TOPIC_KEY)
    assert "PendingDeletion" in finding.reason


def test_an_unreadable_key_policy_is_an_error() -> None:
    key = KmsKey(KEY_ARN, arn=KEY_ARN, manager="CUSTOMER", state="Enabled")
    finding = judged(encrypted(key))
    assert finding.status is Status.ERROR
    assert "cannot read the key policy" in finding.reason


def test_a_customer_key_that_grants_cloudwatch_holds() -> None:
    key = KmsKey(
        KEY_ARN, arn=KEY_ARN, manager="CUSTOMER", state="Enabled", policy=key_policy(GRANT)
    )
    finding = judged(encrypted(key))
    assert finding.status is Status.PASS
    assert link(finding, Link.TOPIC_KEY)[0] is LinkStatus.OK


def test_a_topic_without_any_access_policy_refuses_the_alarm() -> None:
    finding = judged(dataclasses.replace(healthy_topic(TOPIC), access=TopicAccess(policy=None)))
    assert (finding.status, finding.broken_link) == (Status.FAIL, Link.TOPIC_POLICY)
    assert "has no access policy" in finding.reason


def filtered(*subscriptions: Subscription) -> Topic:
    return dataclasses.replace(healthy_topic(TOPIC), subscriptions=subscriptions)


def subscription(name: str, policy: str | None, scope: str = "MessageBody") -> Subscription:
    return Subscription(
        f"{TOPIC}:{name}", "email", f"{name}@example.com", True, SubscriptionFilter(policy, scope)
    )


def test_a_subscription_whose_filter_was_not_read_is_an_error() -> None:
    unread = dataclasses.replace(subscription("a", None), filter=None)
    finding = judged(filtered(unread))
    assert finding.status is Status.ERROR
    assert "cannot read the filter policy" in finding.reason


def test_one_subscription_without_a_filter_is_enough() -> None:
    finding = judged(
        filtered(
            subscription("a", '{"severity": ["high"]}', "MessageAttributes"),
            subscription("b", None),
        )
    )
    assert finding.status is Status.PASS
    assert (
        f"subscription {TOPIC}:b of topic {TOPIC} has no filter policy"
        in (link(finding, Link.DELIVERY)[1])
    )


def test_a_filter_that_depends_on_the_previous_state_drops_some_notifications() -> None:
    finding = judged(filtered(subscription("a", '{"OldStateValue": ["OK"]}')))
    assert (finding.status, finding.broken_link) == (Status.FAIL, Link.DELIVERY)
    assert "OldStateValue" in finding.reason


def test_two_filters_that_each_take_part_of_the_notifications_are_not_a_fail() -> None:
    """One takes the alarms coming from OK, the other those from INSUFFICIENT_DATA: together
    they may receive every notification, so the scanner does not say FAIL."""
    finding = judged(
        filtered(
            subscription("a", '{"OldStateValue": ["OK"]}'),
            subscription("b", '{"OldStateValue": ["INSUFFICIENT_DATA"]}'),
        )
    )
    assert finding.status is Status.ERROR
    assert "each receive some of the notifications" in finding.reason


def test_a_filter_on_a_field_the_scanner_cannot_know_is_an_error_naming_it() -> None:
    finding = judged(filtered(subscription("a", '{"NewStateReason": [{"prefix": "Threshold"}]}')))
    assert finding.status is Status.ERROR
    assert "NewStateReason" in finding.reason


def test_a_composite_alarms_body_filter_is_an_error_and_its_attribute_filter_a_fail() -> None:
    account = healthy_account(rules=[RULE])
    alarm_arn = f"arn:aws:cloudwatch:us-east-1:{MEMBER_ACCOUNT_ID}:alarm:{ALARM}"
    composite = CompositeAlarm(
        "roll-up",
        f"arn:aws:cloudwatch:us-east-1:{MEMBER_ACCOUNT_ID}:alarm:roll-up",
        f'ALARM("{alarm_arn}")',
        alarm_actions=(TOPIC,),
    )
    account = with_alarm(account, ALARM, alarm_actions=())
    account = with_region(account, "us-east-1", composite_alarms=(composite,))
    for policy, scope, status in (
        ('{"AlarmName": ["roll-up"]}', "MessageBody", Status.ERROR),
        ('{"severity": ["high"]}', "MessageAttributes", Status.FAIL),
    ):
        changed = with_the_topic(account, filtered(subscription("a", policy, scope)))
        finding = next(f for f in evaluate(single_account(changed)) if f.rule == RULE)
        assert finding.status is status, finding.reason


def test_the_default_topic_policy_is_what_sns_writes() -> None:
    policy = json.loads(default_topic_policy(TOPIC))
    statement = policy["Statement"][0]
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceOwner": MEMBER_ACCOUNT_ID}}
    assert "SNS:Publish" in statement["Action"]
