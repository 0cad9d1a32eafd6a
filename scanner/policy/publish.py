"""The two questions an alarm's notification asks of policies: may CloudWatch publish to the topic,
and may it use the topic's KMS key.

CloudWatch publishes an alarm's notification as the service principal ``cloudwatch.amazonaws.com``
on behalf of the alarm (AWS Knowledge Center, "Why didn't I receive an SNS notification for my
CloudWatch alarm trigger?", repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger:
the fix grants ``{"Service": "cloudwatch.amazonaws.com"}`` ``sns:Publish``, optionally narrowed by
``ArnLike aws:SourceArn`` to the alarm). This module builds that request from what the inventory
holds and hands it to :func:`.access.evaluate`.

What the request context holds, and the sources (IAM User Guide, "AWS global condition context
keys", docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):

* known: ``aws:SourceAccount`` and ``aws:SourceArn`` (the alarm's account and ARN: "included in the
  request context only when the call to your resource is being made directly by an AWS service
  principal on behalf of a resource"); ``aws:SourceOrgID`` when the organization is known (the same
  availability, for a resource "owned by an account which is a member of an organization");
  ``aws:PrincipalIsAWSService`` true ("set to true when a service uses a service principal to
  perform a direct action on your resources"); ``aws:PrincipalServiceName``
  ``cloudwatch.amazonaws.com``; ``aws:ViaAWSService`` false ("always included"; "false when the
  principal makes the call directly", and the service principal makes this call itself, not
  through a forward access session); ``aws:ResourceAccount`` and ``aws:RequestedRegion`` from the
  resource ARN (both "always included"; SNS and KMS are not among the listed exceptions); and
  SNS's legacy ``AWS:SourceOwner`` = the alarm's account, which the default topic policy tests and
  by which same-account alarms publish to a default topic.
* absent: ``aws:CalledVia``, ``aws:CalledViaFirst``, ``aws:CalledViaLast`` ("not present when the
  principal makes the call directly"); ``aws:PrincipalOrgID`` and ``aws:PrincipalOrgPaths``
  ("included in the request context only if the principal is a member of an organization"; the
  page's note adds that a policy requiring ``aws:PrincipalOrgID`` shuts out AWS services such as
  CloudTrail writing to a bucket: a service principal belongs to no customer's organization);
  ``aws:referer`` ("not included for programmatic requests").
* unknown, so a condition on them is UNDECIDED: ``aws:PrincipalAccount``, ``aws:PrincipalArn``,
  ``aws:PrincipalType`` and ``aws:userid`` (the page says "included in the request context for all
  (signed) requests", so they are *present*, with values it does not give for a service
  principal), the network keys (``aws:SourceIp``, ``aws:SourceVpc``...: "certain network-specific
  authorization context is redacted" in service-to-service calls, not documented as absent),
  ``aws:SourceOrgPaths``, tags, times, and for the key ``kms:CallerAccount``, ``kms:ViaService``
  and ``kms:EncryptionContext:*``, whose values for a call SNS makes for a service principal are
  not documented.

Account grants: a statement granting the alarm's account (``{"AWS": "A"}`` or
``{"AWS": "arn:aws:iam::A:root"}``) counts as a grant to CloudWatch publishing for an alarm of
account A. No AWS page states this; it is the behaviour the issue this module answers reports
("a grant to cloudwatch.amazonaws.com (or the account) makes a cross-account topic work"), and it
matches the denial CloudWatch reports, which names the alarm's ARN as the requester
("Resource: arn:aws:cloudwatch:...:alarm:NAME is not authorized to perform: SNS:Publish", same
Knowledge Center article). Key policies get no such reading: the key policy's "Enable IAM User
Permissions" statement delegates to the account's IAM policies, which a service principal has
none of; SNS's guide has the key policy name the service principal ("Enable compatibility between
event sources from AWS services and encrypted topics", docs.aws.amazon.com/sns/latest/dg/
sns-key-management.html: ``{"Service": "service.amazonaws.com"}`` with ``kms:GenerateDataKey*``
and ``kms:Decrypt``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from scanner.model.arns import arn_account, arn_region
from scanner.policy.access import Decision, Outcome, Request, evaluate
from scanner.policy.conditions import Context, ContextValue

CLOUDWATCH = "cloudwatch.amazonaws.com"
PUBLISH = "sns:Publish"
# What SNS calls on the key for a publisher: kms:GenerateDataKey* in a policy matches both the
# plain action and its variants, and a policy granting the plain action is enough.
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")

# Keys AWS documents as absent from a request a service principal makes directly (see above).
SERVICE_ABSENT = (
    "aws:CalledVia",
    "aws:CalledViaFirst",
    "aws:CalledViaLast",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:referer",
)


def service_context(
    *,
    resource_arn: str,
    source_arn: str,
    source_account: str,
    organization_id: str | None,
    extra: Mapping[str, ContextValue] | None = None,
) -> Context:
    """The context of a request ``cloudwatch.amazonaws.com`` makes for the resource
    ``source_arn`` (the alarm) of ``source_account`` on ``resource_arn``."""
    known: dict[str, ContextValue] = {
        "aws:SourceAccount": source_account,
        "aws:SourceArn": source_arn,
        "aws:PrincipalIsAWSService": "true",
        "aws:PrincipalServiceName": CLOUDWATCH,
        "aws:ViaAWSService": "false",
    }
    if organization_id:
        known["aws:SourceOrgID"] = organization_id
    if arn_account(resource_arn):
        known["aws:ResourceAccount"] = arn_account(resource_arn)
    if arn_region(resource_arn):
        known["aws:RequestedRegion"] = arn_region(resource_arn)
    known.update(extra or {})
    return Context.of(known, SERVICE_ABSENT)


def alarm_may_publish(
    policy: object,
    *,
    topic_arn: str,
    alarm_arn: str,
    alarm_account: str,
    organization_id: str | None,
) -> Decision:
    """Whether the topic's access policy lets CloudWatch publish the alarm's notification."""
    context = service_context(
        resource_arn=topic_arn,
        source_arn=alarm_arn,
        source_account=alarm_account,
        organization_id=organization_id,
        extra={"AWS:SourceOwner": alarm_account},
    )
    request = Request(CLOUDWATCH, PUBLISH, topic_arn, context, acting_for=alarm_account)
    return evaluate(policy, request)


def cloudwatch_may_use_key(
    policy: object,
    *,
    key_arn: str,
    alarm_arn: str,
    alarm_account: str,
    organization_id: str | None,
) -> Decision:
    """Whether the key policy lets CloudWatch have SNS encrypt the alarm's notification: both
    ``kms:Decrypt`` and ``kms:GenerateDataKey`` must be allowed to the service principal.

    A failing action decides (DENIED before NOT_ALLOWED before UNDECIDED) and its reason names the
    action; when both are allowed the reason names the statements that allow them.
    """
    context = service_context(
        resource_arn=key_arn,
        source_arn=alarm_arn,
        source_account=alarm_account,
        organization_id=organization_id,
    )
    decisions = [
        evaluate(policy, Request(CLOUDWATCH, action, key_arn, context)) for action in KEY_ACTIONS
    ]
    for outcome in (Outcome.DENIED, Outcome.NOT_ALLOWED, Outcome.UNDECIDED):
        for decision in decisions:
            if decision.outcome is outcome:
                return decision
    labels = list(dict.fromkeys(decision.statement or "" for decision in decisions))
    if len(labels) > 1:
        reason = " and ".join(decision.reason for decision in decisions)
        return Decision(Outcome.ALLOWED, reason, ", ".join(labels))
    name = labels[0] if re.fullmatch(r"statement \d+", labels[0]) else f'statement "{labels[0]}"'
    actions = " and ".join(KEY_ACTIONS)
    return Decision(
        Outcome.ALLOWED, f"{name} allows {actions} to {CLOUDWATCH} on {key_arn}", labels[0]
    )
