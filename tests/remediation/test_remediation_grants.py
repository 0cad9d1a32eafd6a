"""The CloudWatch grants and the policy merge every notification-end fix is written with."""

from __future__ import annotations

import json

import pytest
from remediation.remediation_cases import ACCOUNT, TOPIC

from scanner.remediation.grants import (
    cloudwatch_key_statement,
    cloudwatch_publish_statement,
    with_statement,
)

ROOT = {
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
DENY = {"Sid": "NoOutsiders", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}


def statements(text: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = json.loads(text)["Statement"]
    return found


def test_the_statement_is_added_to_the_current_ones_once() -> None:
    current = json.dumps({"Version": "2012-10-17", "Id": "key-policy", "Statement": [ROOT]})
    merged = with_statement(current, cloudwatch_key_statement())
    assert statements(merged) == [ROOT, cloudwatch_key_statement()]
    assert json.loads(merged)["Id"] == "key-policy"
    # Run again on a policy that has it: still once.
    assert with_statement(merged, cloudwatch_key_statement()) == merged


def test_a_statement_with_the_same_sid_is_replaced_in_place() -> None:
    stale = {**cloudwatch_key_statement(), "Action": "kms:Decrypt"}
    current = json.dumps({"Version": "2012-10-17", "Statement": [stale, ROOT]})
    assert statements(with_statement(current, cloudwatch_key_statement())) == [
        cloudwatch_key_statement(),
        ROOT,
    ]


@pytest.mark.parametrize("name", ["NoOutsiders", "statement 2"])
def test_the_denying_statement_is_dropped_by_sid_or_position(name: str) -> None:
    current = json.dumps({"Version": "2012-10-17", "Statement": [ROOT, DENY]})
    merged = with_statement(current, cloudwatch_key_statement(), drop=name)
    assert statements(merged) == [ROOT, cloudwatch_key_statement()]


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"Statement": "x"}'])
def test_what_is_not_a_policy_gives_a_fresh_one(text: str) -> None:
    assert json.loads(with_statement(text, cloudwatch_key_statement())) == {
        "Version": "2012-10-17",
        "Statement": [cloudwatch_key_statement()],
    }


def test_a_single_statement_object_is_kept_beside_the_new_one() -> None:
    current = json.dumps({"Version": "2012-10-17", "Statement": ROOT})
    assert statements(with_statement(current, cloudwatch_key_statement()))[0] == ROOT


def test_the_publish_grant_is_scoped_to_the_alarms_account_or_the_organization() -> None:
    own = cloudwatch_publish_statement(TOPIC, ACCOUNT)
    assert own["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert (own["Action"], own["Resource"]) == ("sns:Publish", TOPIC)
    assert own["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    org = cloudwatch_publish_statement(TOPIC, organization_id="o-a1b2c3d4e5")
    assert org["Condition"] == {"StringEquals": {"aws:SourceOrgID": "o-a1b2c3d4e5"}}
    with pytest.raises(ValueError, match="one of the two"):
        cloudwatch_publish_statement(TOPIC)
    with pytest.raises(ValueError, match="one of the two"):
        cloudwatch_publish_statement(TOPIC, ACCOUNT, organization_id="o-a1b2c3d4e5")
