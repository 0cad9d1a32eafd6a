"""Pure policy questions about the alarm's last hop: may it publish, and who receives it.

The layer is pure (no I/O, no clock; the standard library and the core only):

* :mod:`~scanner.policy.conditions` evaluates a statement's ``Condition`` block in three values
  against a :class:`Context` of keys known, keys known to be absent, and the rest unknown;
* :mod:`~scanner.policy.access` decides one :class:`Request` under one resource policy: ALLOWED,
  DENIED, NOT_ALLOWED (the implicit deny) or UNDECIDED, in a :class:`Decision` whose reason a
  finding quotes;
* :mod:`~scanner.policy.publish` asks the two questions of an alarm's notification: may
  CloudWatch publish to the topic (``alarm_may_publish``), and may it use the topic's KMS key
  (``cloudwatch_may_use_key``);
* :mod:`~scanner.policy.filters`: read an SNS subscription filter policy (either scope) and
  match one message; built so that the same core can judge EventBridge event patterns;
* :mod:`~scanner.policy.delivery`: does a subscription receive a notification some of whose
  fields vary or are unknown (ALL, NONE, SOME, UNDECIDED, with the reason);
* :mod:`~scanner.policy.notification`: the notification a metric alarm sends on going to ALARM.

This module only re-exports (the condition evaluator's own ``Unknown`` stays in
:mod:`~scanner.policy.conditions`; :class:`Unknown` here is a message field we cannot know).
"""

from __future__ import annotations

from scanner.policy.access import Decision, Outcome, Request, evaluate
from scanner.policy.conditions import Context
from scanner.policy.delivery import (
    Delivery,
    DeliveryVerdict,
    OneOf,
    PossibleMessages,
    Unknown,
    judge_delivery,
)
from scanner.policy.filters import (
    FilterPolicy,
    FilterPolicyError,
    KeyTest,
    Message,
    MessageAttribute,
    Scope,
    matches,
    parse_filter_policy,
    parse_scope,
)
from scanner.policy.notification import (
    REGION_NAMES,
    AlarmFacts,
    MathQuery,
    alarm_notification,
)
from scanner.policy.publish import (
    CLOUDWATCH,
    KEY_ACTIONS,
    SERVICE_ABSENT,
    alarm_may_publish,
    cloudwatch_may_use_key,
    service_context,
)

__all__ = [
    "CLOUDWATCH",
    "KEY_ACTIONS",
    "REGION_NAMES",
    "SERVICE_ABSENT",
    "AlarmFacts",
    "Context",
    "Decision",
    "Delivery",
    "DeliveryVerdict",
    "FilterPolicy",
    "FilterPolicyError",
    "KeyTest",
    "MathQuery",
    "Message",
    "MessageAttribute",
    "OneOf",
    "Outcome",
    "PossibleMessages",
    "Request",
    "Scope",
    "Unknown",
    "alarm_may_publish",
    "alarm_notification",
    "cloudwatch_may_use_key",
    "evaluate",
    "judge_delivery",
    "matches",
    "parse_filter_policy",
    "parse_scope",
    "service_context",
]
