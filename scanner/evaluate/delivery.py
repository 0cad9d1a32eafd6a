"""The notification end of a chain: does the alarm's message get through the topic to a human?

Pure. The walk (:mod:`.chains`) reaches a topic that exists and has a confirmed subscription;
three more links decide whether a notification of *this* alarm is delivered, each from what the
collector read of the topic (:class:`~scanner.model.TopicAccess`, the subscriptions'
:class:`~scanner.model.SubscriptionFilter`):

* ``topic_key``: an encrypted topic needs a key CloudWatch may use. The AWS managed key
  ``alias/aws/sns`` never is (its policy is AWS's and grants no service principal); a customer
  managed key is when it is enabled and its key policy lets ``cloudwatch.amazonaws.com`` use it
  (``kms:Decrypt`` and ``kms:GenerateDataKey*``). Source: the SNS developer guide, "Key
  management" (compatibility with AWS services), and the Knowledge Center article
  ``cloudwatch-configure-alarm-sns``.
* ``topic_policy``: the topic's access policy must let the alarm publish. The default policy
  allows only the owner account (``AWS:SourceOwner``), so an alarm of another account needs a
  grant (Knowledge Center ``cloudwatch-receive-sns-for-alarm-trigger``).
* ``delivery``: some confirmed subscription's filter policy must accept the alarm's
  notification, in its scope (attributes: an alarm's notification carries none; body: the
  alarm's JSON).

Questions the policy evaluators cannot decide (a condition key whose value the scanner cannot
know) make the link ``unknown`` naming the key: the rule is then ERROR, never PASS or FAIL.
"""

from __future__ import annotations

from collections.abc import Callable

from scanner.model import (
    Alarm,
    CompositeAlarm,
    KmsKey,
    Link,
    LinkStatus,
    Subscription,
    Topic,
    TopicAccess,
    arn_account,
    arn_region,
    is_aws_managed_sns_key,
)
from scanner.policy import (
    AlarmFacts,
    Decision,
    Delivery,
    DeliveryVerdict,
    MathQuery,
    Outcome,
    PossibleMessages,
    Scope,
    alarm_may_publish,
    alarm_notification,
    cloudwatch_may_use_key,
    judge_delivery,
    parse_scope,
)

OK, BROKEN, UNKNOWN, MISSING = (
    LinkStatus.OK,
    LinkStatus.BROKEN,
    LinkStatus.UNKNOWN,
    LinkStatus.MISSING,
)

# A link's verdict before it is placed on a resource: (link, status, detail, resource).
Judged = tuple[Link, LinkStatus, str, str]
# Why a datum is unknown, in words: (call kind, resource) -> the failed call quoted.
Why = Callable[[str, str], str]


def notification_links(
    topic: Topic,
    publisher: Alarm | CompositeAlarm,
    organization_id: str | None,
    why: Why,
) -> list[Judged]:
    """The ``topic_key``, ``topic_policy`` and ``delivery`` links of a topic that exists."""
    name = f"topic {topic.arn}"
    access = topic.access
    if access is None:
        reason = f"cannot read the attributes of {name}: {why('topic_access', topic.arn)}"
        links: list[Judged] = [
            (Link.TOPIC_KEY, UNKNOWN, reason, topic.arn),
            (Link.TOPIC_POLICY, UNKNOWN, reason, topic.arn),
        ]
    else:
        links = [
            _key_link(topic, access, publisher, organization_id, why),
            _policy_link(topic, access, publisher, organization_id),
        ]
    links.append(_delivery_link(topic, publisher))
    return links


def _key_link(
    topic: Topic,
    access: TopicAccess,
    publisher: Alarm | CompositeAlarm,
    organization_id: str | None,
    why: Why,
) -> Judged:
    name = f"topic {topic.arn}"
    key = access.key
    if key is None:
        return Link.TOPIC_KEY, OK, f"{name} is not encrypted", topic.arn
    resource = key.arn or key.id
    if key.manager == "AWS" or is_aws_managed_sns_key(key.id):
        detail = (
            f"{name} is encrypted with the AWS managed key {key.id}{_arn_of(key)}, which "
            "CloudWatch cannot use (its policy is AWS's): every alarm notification is lost"
        )
        return Link.TOPIC_KEY, BROKEN, detail, resource
    if not key.exists:
        detail = f"{name} is encrypted with KMS key {key.id}, which does not exist"
        return Link.TOPIC_KEY, BROKEN, detail, resource
    if key.arn is None:
        detail = f"cannot describe the KMS key {key.id} of {name}: {why('key', key.id)}"
        return Link.TOPIC_KEY, UNKNOWN, detail, resource
    if key.state is None:
        detail = f"DescribeKey gave no state for the KMS key {key.arn} of {name}"
        return Link.TOPIC_KEY, UNKNOWN, detail, resource
    if key.state != "Enabled":
        detail = (
            f"the KMS key {key.arn} of {name} is {key.state}: SNS cannot encrypt the alarm's "
            "message with it, so the notification is lost"
        )
        return Link.TOPIC_KEY, BROKEN, detail, resource
    if key.policy is None:
        detail = f"cannot read the key policy of {key.arn} ({name}): {why('key', key.arn)}"
        return Link.TOPIC_KEY, UNKNOWN, detail, resource
    decision = _key_decision(key.arn, key.policy, publisher, organization_id)
    what = f"the key policy of {key.arn} ({name})"
    if decision.outcome is Outcome.ALLOWED:
        detail = f"{what} lets CloudWatch use the key: {decision.reason}"
        return Link.TOPIC_KEY, OK, detail, resource
    status, detail = _refused(decision, what, "let CloudWatch use the key")
    return Link.TOPIC_KEY, status, detail, resource


def _key_decision(
    key_arn: str, policy: str, publisher: Alarm | CompositeAlarm, organization_id: str | None
) -> Decision:
    """May CloudWatch, notifying for ``publisher``, use the key under its key policy?"""
    return cloudwatch_may_use_key(
        policy,
        key_arn=key_arn,
        alarm_arn=publisher.arn,
        alarm_account=arn_account(publisher.arn),
        organization_id=organization_id,
    )


def _publish_decision(
    topic_arn: str,
    policy: str | None,
    publisher: Alarm | CompositeAlarm,
    organization_id: str | None,
) -> Decision:
    """May ``publisher`` publish to the topic under its access policy (none: nothing allows)?"""
    return alarm_may_publish(
        policy or '{"Version": "2012-10-17", "Statement": []}',
        topic_arn=topic_arn,
        alarm_arn=publisher.arn,
        alarm_account=arn_account(publisher.arn),
        organization_id=organization_id,
    )


def _arn_of(key: KmsKey) -> str:
    return f" ({key.arn})" if key.arn else ""


def _policy_link(
    topic: Topic,
    access: TopicAccess,
    publisher: Alarm | CompositeAlarm,
    organization_id: str | None,
) -> Judged:
    name = f"topic {topic.arn}"
    alarm_account = arn_account(publisher.arn)
    decision = _publish_decision(topic.arn, access.policy, publisher, organization_id)
    what = f"the access policy of {name}" if access.policy else f"{name} has no access policy: it"
    if decision.outcome is Outcome.ALLOWED:
        detail = f'{what} lets alarm "{publisher.name}" publish: {decision.reason}'
        return Link.TOPIC_POLICY, OK, detail, topic.arn
    elsewhere = ""
    if arn_account(topic.arn) != alarm_account:
        elsewhere = (
            f" (the alarm is in account {alarm_account}, the topic in account "
            f"{arn_account(topic.arn)}: a topic of another account needs a grant to "
            "cloudwatch.amazonaws.com or to the alarm's account)"
        )
    if decision.outcome is Outcome.NOT_ALLOWED:  # its reason would only say so again
        detail = (
            f'no statement of the access policy of {name} lets alarm "{publisher.name}" publish'
        )
        if not access.policy:
            detail = f'{name} has no access policy: nothing lets alarm "{publisher.name}" publish'
        return Link.TOPIC_POLICY, BROKEN, detail + elsewhere, topic.arn
    status, detail = _refused(decision, what, f'let alarm "{publisher.name}" publish')
    return Link.TOPIC_POLICY, status, detail + elsewhere, topic.arn


def _refused(decision: Decision, what: str, question: str) -> tuple[LinkStatus, str]:
    """A decision other than ALLOWED, as a link's status and detail; ``question`` is what the
    policy should do, in the infinitive ("let CloudWatch use the key")."""
    if decision.outcome is Outcome.UNDECIDED:
        key = f" (condition {decision.undecided_key})" if decision.undecided_key else ""
        return UNKNOWN, f"cannot decide whether {what} does {question}{key}: {decision.reason}"
    if decision.outcome is Outcome.DENIED:
        return BROKEN, f"{what} does not {question}, a statement denies it: {decision.reason}"
    return BROKEN, f"{what} does not {question}: {decision.reason}"


def _delivery_link(topic: Topic, publisher: Alarm | CompositeAlarm) -> Judged:
    name = f"topic {topic.arn}"
    confirmed = [s for s in topic.subscriptions or () if s.confirmed]
    if not confirmed:
        return Link.DELIVERY, MISSING, "not reached", topic.arn
    return _receives(name, topic.arn, confirmed, publisher)


def _receives(
    name: str, arn: str, confirmed: list[Subscription], publisher: Alarm | CompositeAlarm
) -> Judged:
    """OK when some confirmed subscription receives every notification the alarm can send;
    UNKNOWN when none is known to but one might; BROKEN with each filter's reason otherwise."""
    messages = notification_of(publisher)
    unknown: list[str] = []
    refused: list[str] = []
    partly = 0
    for subscription in confirmed:
        if subscription.filter is None:
            unknown.append(f"cannot read the filter policy of subscription {subscription.arn}")
            continue
        if subscription.filter.policy is None:
            detail = f"subscription {subscription.arn} of {name} has no filter policy"
            return Link.DELIVERY, OK, detail, subscription.arn
        verdict = _judge(subscription, messages)
        if verdict.outcome is Delivery.ALL:
            detail = (
                f"the filter policy of subscription {subscription.arn} accepts every "
                f'notification of alarm "{publisher.name}"'
            )
            return Link.DELIVERY, OK, detail, subscription.arn
        if verdict.outcome is Delivery.UNDECIDED:
            unknown.append(f"subscription {subscription.arn}: {verdict.reason}")
        else:
            refused.append(f"subscription {subscription.arn}: {verdict.reason}")
            partly += verdict.outcome is Delivery.SOME
    if partly > 1:
        # Each takes some of the notifications: together they might take them all.
        unknown.append(f"{partly} subscriptions each receive some of the notifications")
    if unknown:
        detail = (
            f"cannot decide whether a subscription of {name} receives the notifications of "
            f'alarm "{publisher.name}": {"; ".join(unknown)}'
        )
        return Link.DELIVERY, UNKNOWN, detail, arn
    count = len(confirmed)
    every = "its confirmed subscription" if count == 1 else f"each of its {count} confirmed"
    detail = (
        f'{name} drops the notifications of alarm "{publisher.name}": the filter policy of '
        f"{every} {'' if count == 1 else 'subscriptions '}refuses them ({'; '.join(refused)})"
    )
    return Link.DELIVERY, BROKEN, detail, arn


def _judge(subscription: Subscription, messages: PossibleMessages | None) -> DeliveryVerdict:
    found = subscription.filter
    assert found is not None and found.policy is not None
    if messages is None:
        # A composite alarm's message body is not modelled: only the attribute scope, which
        # never looks at the body, can be judged.
        if parse_scope(found.scope) is Scope.MESSAGE_ATTRIBUTES:
            return judge_delivery(found.policy, found.scope, PossibleMessages(body={}))
        return DeliveryVerdict(
            Delivery.UNDECIDED,
            "its policy filters the message body, and the body of a composite alarm's "
            "notification is not known to the scanner",
        )
    return judge_delivery(found.policy, found.scope, messages)


def notification_of(publisher: Alarm | CompositeAlarm) -> PossibleMessages | None:
    """The notifications a metric alarm sends when an event sends it to ALARM (``None`` for
    a composite alarm, whose message the scanner does not model)."""
    if isinstance(publisher, CompositeAlarm):
        return None
    queries = tuple(
        MathQuery(
            id=q.id,
            expression=q.expression,
            return_data=q.return_data,
            metric_name=q.metric_stat.metric_name if q.metric_stat else None,
            namespace=q.metric_stat.namespace if q.metric_stat else None,
            dimensions=dict(q.metric_stat.dimensions) if q.metric_stat else {},
            period=q.metric_stat.period if q.metric_stat else None,
            stat=q.metric_stat.stat if q.metric_stat else None,
            unit=q.metric_stat.unit if q.metric_stat else None,
        )
        for q in publisher.metrics
    )
    return alarm_notification(
        AlarmFacts(
            name=publisher.name,
            arn=publisher.arn,
            account_id=arn_account(publisher.arn),
            region=arn_region(publisher.arn),
            comparison_operator=publisher.comparison_operator,
            evaluation_periods=publisher.evaluation_periods,
            threshold=publisher.threshold,
            metric_name=publisher.metric_name,
            namespace=publisher.namespace,
            statistic=publisher.statistic,
            extended_statistic=publisher.extended_statistic,
            dimensions=dict(publisher.dimensions),
            period=publisher.period,
            datapoints_to_alarm=publisher.datapoints_to_alarm,
            treat_missing_data=publisher.treat_missing_data,
            evaluate_low_sample_count_percentile=publisher.evaluate_low_sample_count_percentile,
            unit=publisher.unit,
            alarm_actions=publisher.alarm_actions,
            ok_actions=publisher.ok_actions,
            insufficient_data_actions=publisher.insufficient_data_actions,
            metrics=queries,
        )
    )


def remedy_facts(
    topic: Topic,
    publisher: Alarm | CompositeAlarm,
    organization_id: str | None,
    broken: Link,
) -> dict[str, str]:
    """What the fix of a broken notification link needs to know of the topic, as
    :class:`~scanner.remediation.RemediationContext` fields: the key and the policies as they
    are, the statement that denies, the subscriptions whose filter drops the alarm."""
    facts: dict[str, str] = {"topic_owner": arn_account(topic.arn)}
    access = topic.access
    if access is not None:
        facts["topic_policy"] = access.policy or ""
        key = access.key
        if key is not None:
            facts |= {
                "key_arn": key.arn or key.id,
                "key_manager": "AWS" if is_aws_managed_sns_key(key.id) else key.manager or "",
                "key_state": key.state or "",
                "key_policy": key.policy or "",
            }
        decision: Decision | None = None
        if broken is Link.TOPIC_POLICY:
            decision = _publish_decision(topic.arn, access.policy, publisher, organization_id)
        elif broken is Link.TOPIC_KEY and key is not None and key.arn and key.policy:
            decision = _key_decision(key.arn, key.policy, publisher, organization_id)
        if decision is not None and decision.outcome is Outcome.DENIED and decision.statement:
            facts["denying_statement"] = decision.statement
    if broken is Link.DELIVERY:
        messages = notification_of(publisher)
        filtered = [
            s.arn
            for s in topic.subscriptions or ()
            if s.confirmed
            and s.filter is not None
            and s.filter.policy is not None
            and _judge(s, messages).outcome in (Delivery.NONE, Delivery.SOME)
        ]
        facts["filtered_subscriptions"] = ",".join(filtered)
    return facts


__all__ = ["notification_links", "notification_of", "remedy_facts"]
