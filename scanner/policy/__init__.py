"""Policy: what AWS's policies let a request do, decided from the inventory alone.

The layer is pure (no I/O; the standard library and the core only):

* :mod:`.conditions` evaluates a statement's ``Condition`` block in three values against a
  :class:`Context` of keys known, keys known to be absent, and the rest unknown;
* :mod:`.access` decides one :class:`Request` under one resource policy: ALLOWED, DENIED,
  NOT_ALLOWED (the implicit deny) or UNDECIDED, in a :class:`Decision` whose reason a finding
  quotes;
* :mod:`.publish` asks the two questions of an alarm's notification: may CloudWatch publish to
  the topic (``alarm_may_publish``), and may it use the topic's KMS key
  (``cloudwatch_may_use_key``).

This module only re-exports.
"""

from scanner.policy.access import Decision, Outcome, Request, evaluate
from scanner.policy.conditions import Context, Unknown
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
    "SERVICE_ABSENT",
    "Context",
    "Decision",
    "Outcome",
    "Request",
    "Unknown",
    "alarm_may_publish",
    "cloudwatch_may_use_key",
    "evaluate",
    "service_context",
]
