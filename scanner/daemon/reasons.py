"""A finding's one-line reason reduced to a short code from a fixed list, for a metric label.

The reason itself is free text (names, counts, event lists): as a label it would make a new
series whenever its wording or a count changes, and it can be long. The code is bounded by
construction: it is one of :data:`REASON_CODES`, and ``other`` when no entry matches, so a new
wording in the evaluator can at worst make a code less precise, never add a series. The free
text stays in the findings API.

The table is ordered: the first entry whose phrase occurs in the reason wins (an account that
could not be entered because AssumeRole was denied is ``account_unreachable``, not
``access_denied``).
"""

from __future__ import annotations

from scanner.model import Finding, Status

# (code, phrases): the phrases are the evaluator's own wording (scanner/evaluate/) and AWS's
# error codes, which the reason quotes.
_TABLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("account_unreachable", ("could not be scanned",)),
    (
        "access_denied",
        ("AccessDenied", "UnauthorizedOperation", "AuthorizationError", "AuthFailure"),
    ),
    ("throttled", ("Throttl", "TooManyRequests", "RequestLimitExceeded")),
    ("call_failed", ("cannot list", "cannot read", "failed:")),
    ("undecided_condition", ("cannot decide whether",)),
    ("pattern_gap", ("misses ", "catches any event", "does not parse", "publishes no metric")),
    ("not_logging", ("is not logging",)),
    ("event_selectors", ("management events",)),
    ("single_region", ("records only",)),
    ("unconfirmed_subscription", ("no confirmed subscription",)),
    ("topic_key", ("KMS key", "AWS managed key", "let CloudWatch use the key")),
    ("topic_policy", ("access policy of topic", "has no access policy")),
    ("subscription_filter", ("filter policy",)),
    ("actions_disabled", ("actions disabled",)),
    ("no_topic_action", ("no SNS topic",)),
    ("alarm_threshold", ("fires only when",)),
    (
        "not_found",
        ("does not exist", "or organization trail records", "no alarm", "no metric filter"),
    ),
)

OTHER = "other"
REASON_CODES: tuple[str, ...] = (*(code for code, _ in _TABLE), OTHER)


def reason_code(finding: Finding) -> str:
    """The code of a finding that is not PASS (``""`` for PASS: it has no failure reason)."""
    if finding.status is Status.PASS:
        return ""
    for code, phrases in _TABLE:
        if any(phrase in finding.reason for phrase in phrases):
            return code
    return OTHER


__all__ = ["OTHER", "REASON_CODES", "reason_code"]
