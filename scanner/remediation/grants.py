"""The policy statements that let CloudWatch alarms notify an SNS topic, and how one is merged in.

Why one place. The fix of the ``topic_key`` and ``topic_policy`` links writes these statements in
every format, and the test builders and the demo create topics and keys with the same grants: a
statement spelled twice drifts. Pure functions of strings, no I/O.

The grants:

* :func:`cloudwatch_publish_statement`: ``sns:Publish`` on the topic for the service principal
  ``cloudwatch.amazonaws.com``, scoped by ``aws:SourceAccount`` to the alarm's account (least
  privilege: the remediation always uses this form, since it knows the alarm's account), or by
  ``aws:SourceOrgID`` to an organization when one is given instead (an organization-wide topic).
* :func:`cloudwatch_key_statement`: ``kms:Decrypt`` and ``kms:GenerateDataKey*`` on the key for
  the same principal, as the SNS developer guide asks of a topic's customer managed key.

:func:`with_statement` merges a statement into a policy's JSON text, which is total: the current
statements are kept (one may be dropped: the one that denies), a statement with the same ``Sid``
is replaced rather than repeated, and a text that is not a policy gives a fresh policy.
"""

from __future__ import annotations

import json

CLOUDWATCH = "cloudwatch.amazonaws.com"
PUBLISH_SID = "AllowCloudWatchAlarmsToPublish"
KEY_SID = "AllowCloudWatchAlarmsToUseTheKey"

Statement = dict[str, object]


def cloudwatch_publish_statement(
    topic_arn: str, source_account: str | None = None, *, organization_id: str | None = None
) -> Statement:
    """Lets CloudWatch alarms of ``source_account`` (or of ``organization_id``) publish.

    Exactly one of the two scopes: a grant to the service principal without a source condition
    would let any account's alarm publish (the confused deputy)."""
    if (source_account is None) == (organization_id is None):
        raise ValueError("give the alarm's account or the organization id, one of the two")
    condition = (
        {"aws:SourceAccount": source_account}
        if source_account is not None
        else {"aws:SourceOrgID": organization_id}
    )
    return {
        "Sid": PUBLISH_SID,
        "Effect": "Allow",
        "Principal": {"Service": CLOUDWATCH},
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": {"StringEquals": condition},
    }


def cloudwatch_key_statement() -> Statement:
    """Lets CloudWatch use the topic's key to encrypt the notifications it publishes."""
    return {
        "Sid": KEY_SID,
        "Effect": "Allow",
        "Principal": {"Service": CLOUDWATCH},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }


def fresh_policy(statement: Statement) -> dict[str, object]:
    """A policy holding only ``statement``."""
    return {"Version": "2012-10-17", "Statement": [statement]}


def _statements(policy: dict[str, object]) -> list[object] | None:
    found = policy.get("Statement")
    if isinstance(found, dict):
        return [found]
    return list(found) if isinstance(found, list) else None


def _names(statement: object, position: int) -> set[str]:
    """How a statement may be named: its ``Sid`` and ``statement N`` (1-based)."""
    names = {f"statement {position}"}
    if isinstance(statement, dict) and isinstance(statement.get("Sid"), str):
        names.add(statement["Sid"])
    return names


def with_statement(policy_text: str, statement: Statement, drop: str | None = None) -> str:
    """The policy's JSON text with ``statement`` in it once, and without the ``drop`` statement.

    ``drop`` names a statement by its ``Sid`` or as ``statement N`` (1-based, in the current
    policy). A statement with ``statement``'s ``Sid``, or equal to it, is replaced in place; else
    it is appended. A text that is empty or not a policy gives a fresh policy (compact JSON).
    A policy in the 2008-10-17 language without policy variables is written as 2012-10-17."""
    try:
        policy = json.loads(policy_text)
    except ValueError:
        policy = None
    current = _statements(policy) if isinstance(policy, dict) else None
    if not isinstance(policy, dict) or current is None:
        return json.dumps(fresh_policy(statement), separators=(",", ":"))
    kept = [s for i, s in enumerate(current, 1) if not drop or drop not in _names(s, i)]
    sid = statement.get("Sid")
    same = [
        i
        for i, s in enumerate(kept)
        if s == statement or (sid and isinstance(s, dict) and s.get("Sid") == sid)
    ]
    if same:
        kept[same[0]] = statement
        kept = [s for i, s in enumerate(kept) if i not in same[1:]]
    else:
        kept.append(statement)
    updated = {**policy, "Statement": kept}
    if policy.get("Version") == "2008-10-17" and "${" not in json.dumps(kept):
        # SNS writes its default policy in the old language version; the current one reads the
        # same statements alike when they hold no policy variable (nothing to reinterpret).
        updated["Version"] = "2012-10-17"
    return json.dumps(updated, separators=(",", ":"))


__all__ = [
    "CLOUDWATCH",
    "KEY_SID",
    "PUBLISH_SID",
    "cloudwatch_key_statement",
    "cloudwatch_publish_statement",
    "fresh_policy",
    "with_statement",
]
