"""Pure policy questions about the alarm's last hop: SNS subscription filter policies.

* :mod:`~scanner.policy.filters`: read a filter policy (either scope) and match one message.
* :mod:`~scanner.policy.delivery`: does a subscription receive a notification some of whose
  fields vary or are unknown (ALL, NONE, SOME, UNDECIDED, with the reason).
* :mod:`~scanner.policy.notification`: the notification a metric alarm sends on going to ALARM.

Pure: no I/O, no clock, standard library only. This module only re-exports.
"""

from __future__ import annotations

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

__all__ = [
    "REGION_NAMES",
    "AlarmFacts",
    "Delivery",
    "DeliveryVerdict",
    "FilterPolicy",
    "FilterPolicyError",
    "KeyTest",
    "MathQuery",
    "Message",
    "MessageAttribute",
    "OneOf",
    "PossibleMessages",
    "Scope",
    "Unknown",
    "alarm_notification",
    "judge_delivery",
    "matches",
    "parse_filter_policy",
    "parse_scope",
]
