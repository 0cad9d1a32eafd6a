"""One request under one resource policy: principals, actions, resources and IAM's order of
decision, with the undecided statement as a fourth answer."""

from __future__ import annotations

import json

import pytest

from scanner.policy import Context, Decision, Outcome, Request, evaluate

TOPIC = "arn:aws:sns:us-east-1:111111111111:alerts"
ROLE = "arn:aws:iam::222222222222:role/publisher"


def statement(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": TOPIC,
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def decide(
    document: object,
    *,
    principal: str = "cloudwatch.amazonaws.com",
    action: str = "sns:Publish",
    resource: str = TOPIC,
    context: Context | None = None,
    acting_for: str | None = None,
) -> Decision:
    request = Request(principal, action, resource, context or Context(), acting_for)
    return evaluate(document, request)


def test_an_explicit_deny_wins_over_an_allow_and_is_named_by_its_sid() -> None:
    document = policy(statement(Sid="Open"), statement(Sid="DenyPublish", Effect="Deny"))
    decision = decide(document)
    assert decision.outcome is Outcome.DENIED
    assert decision.statement == "DenyPublish"
    assert decision.reason == (
        f'statement "DenyPublish" denies sns:Publish to cloudwatch.amazonaws.com on {TOPIC}'
    )


def test_a_statement_without_a_sid_is_named_by_its_position() -> None:
    decision = decide(policy(statement(Action="s3:GetObject"), statement()))
    assert decision.outcome is Outcome.ALLOWED
    assert decision.statement == "statement 2"
    assert decision.reason.startswith("statement 2 allows sns:Publish")


def test_no_matching_statement_is_the_implicit_deny() -> None:
    decision = decide(policy(statement(Action="sns:Subscribe")))
    assert decision.outcome is Outcome.NOT_ALLOWED
    assert decision.statement is None
    assert (
        decision.reason == f"no statement allows sns:Publish to cloudwatch.amazonaws.com on {TOPIC}"
    )


def test_an_empty_statement_list_allows_nothing() -> None:
    assert decide(policy()).outcome is Outcome.NOT_ALLOWED


@pytest.mark.parametrize(
    ("principal", "matches_service", "matches_role"),
    [
        ("*", True, True),
        ({"AWS": "*"}, True, True),
        ({"Service": "cloudwatch.amazonaws.com"}, True, False),
        ({"Service": ["events.amazonaws.com", "CloudWatch.amazonaws.com"]}, True, False),
        ({"Service": "events.amazonaws.com"}, False, False),
        ({"AWS": "222222222222"}, False, True),
        ({"AWS": "arn:aws:iam::222222222222:root"}, False, True),
        ({"AWS": ["arn:aws:iam::333333333333:root", ROLE]}, False, True),
        ({"AWS": "arn:aws:iam::222222222222:role/other"}, False, False),
        ({"Federated": "cognito-identity.amazonaws.com"}, False, False),
    ],
)
def test_principal_forms(principal: object, matches_service: bool, matches_role: bool) -> None:
    document = policy(statement(Principal=principal))
    expected = {True: Outcome.ALLOWED, False: Outcome.NOT_ALLOWED}
    assert decide(document).outcome is expected[matches_service]
    assert decide(document, principal=ROLE).outcome is expected[matches_role]


def test_an_account_grant_covers_a_service_only_when_it_acts_for_that_account() -> None:
    document = policy(statement(Principal={"AWS": "arn:aws:iam::222222222222:root"}))
    assert decide(document).outcome is Outcome.NOT_ALLOWED
    assert decide(document, acting_for="222222222222").outcome is Outcome.ALLOWED
    assert decide(document, acting_for="333333333333").outcome is Outcome.NOT_ALLOWED


def test_not_principal_applies_to_everyone_else() -> None:
    deny_others = statement(
        Effect="Deny", Principal=None, NotPrincipal={"Service": "cloudwatch.amazonaws.com"}
    )
    document = policy(statement(), deny_others)
    assert decide(document).outcome is Outcome.ALLOWED
    assert decide(document, principal=ROLE).outcome is Outcome.DENIED


def test_actions_match_case_insensitively_with_wildcards() -> None:
    for action in ("SNS:Publish", "sns:*", "*", "sns:Pub*", "SNS:PUBLIS?"):
        assert decide(policy(statement(Action=action))).outcome is Outcome.ALLOWED, action
    for action in ("sns:Publis", "sns:Subscribe", "sqs:*"):
        assert decide(policy(statement(Action=action))).outcome is Outcome.NOT_ALLOWED, action


def test_not_action_covers_every_other_action() -> None:
    document = policy(statement(Action=None, NotAction=["sns:Subscribe", "sns:Delete*"]))
    assert decide(document).outcome is Outcome.ALLOWED
    assert decide(document, action="sns:DeleteTopic").outcome is Outcome.NOT_ALLOWED


def test_resources_match_with_wildcards_and_case() -> None:
    for resource in ("*", "arn:aws:sns:*:111111111111:*", "arn:aws:sns:us-east-1:*:alert?"):
        assert decide(policy(statement(Resource=resource))).outcome is Outcome.ALLOWED
    for resource in ("arn:aws:sns:*:111111111111:Alerts", "arn:aws:sns:*:222222222222:*"):
        assert decide(policy(statement(Resource=resource))).outcome is Outcome.NOT_ALLOWED


def test_not_resource_covers_every_other_resource() -> None:
    document = policy(statement(Effect="Deny", Resource=None, NotResource=TOPIC), statement())
    assert decide(document).outcome is Outcome.ALLOWED
    other = "arn:aws:sns:us-east-1:111111111111:other"
    assert decide(document, resource=other).outcome is Outcome.DENIED


def test_a_policy_variable_in_the_resource_is_substituted_when_known() -> None:
    document = policy(statement(Resource="arn:aws:sns:*:${aws:SourceAccount}:*"))
    known = Context.of({"aws:SourceAccount": "111111111111"})
    assert decide(document, context=known).outcome is Outcome.ALLOWED
    undecided = decide(document)
    assert undecided.outcome is Outcome.UNDECIDED
    assert undecided.undecided_key == "aws:SourceAccount"


def test_an_undecided_deny_outweighs_a_matching_allow() -> None:
    deny = statement(Sid="OnlyFromOffice", Effect="Deny")
    deny["Condition"] = {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    decision = decide(policy(statement(Sid="Open"), deny))
    assert decision.outcome is Outcome.UNDECIDED
    assert decision.statement == "OnlyFromOffice"
    assert decision.undecided_key == "NotIpAddress aws:SourceIp"
    assert "may deny sns:Publish" in decision.reason


def test_a_matching_deny_outweighs_an_undecided_one() -> None:
    unsure = statement(Effect="Deny", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020"}})
    decision = decide(policy(unsure, statement(Sid="Shut", Effect="Deny")))
    assert (decision.outcome, decision.statement) == (Outcome.DENIED, "Shut")


def test_an_undecided_allow_is_undecided_unless_another_allow_matches() -> None:
    unsure = statement(Sid="Tagged", Condition={"StringEquals": {"aws:PrincipalTag/team": "ops"}})
    decision = decide(policy(unsure))
    assert (decision.outcome, decision.undecided_key) == (
        Outcome.UNDECIDED,
        "aws:PrincipalTag/team",
    )
    assert decision.reason.startswith('statement "Tagged" may allow sns:Publish')
    assert decide(policy(unsure, statement(Sid="Open"))).outcome is Outcome.ALLOWED


def test_a_statement_known_not_to_match_is_not_undecided_by_its_conditions() -> None:
    unsure = statement(Action="sns:Subscribe", Condition={"IpAddress": {"aws:SourceIp": "::/0"}})
    assert decide(policy(unsure)).outcome is Outcome.NOT_ALLOWED
    also = statement(
        Condition={
            "IpAddress": {"aws:SourceIp": "::/0"},
            "StringEquals": {"aws:SourceAccount": "999999999999"},
        }
    )
    known = Context.of({"aws:SourceAccount": "111111111111"})
    assert decide(policy(also), context=known).outcome is Outcome.NOT_ALLOWED


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ("{not json", "it is not JSON"),
        ("[]", "it is not a JSON object"),
        ('{"Version": "2012-10-17"}', "it has no Statement"),
        ({"Statement": "Allow"}, "its Statement is neither an object nor a list"),
        (None, "it is not a JSON object"),
    ],
)
def test_a_policy_that_cannot_be_read_is_undecided(document: object, why: str) -> None:
    decision = decide(document)
    assert decision.outcome is Outcome.UNDECIDED
    assert decision.reason.startswith(f"the policy cannot be read: {why}")


def test_a_single_statement_object_and_json_text_are_read() -> None:
    text = json.dumps({"Statement": statement(Sid="One")})
    assert decide(text).statement == "One"


@pytest.mark.parametrize(
    "broken",
    [
        statement(Effect="Maybe"),
        statement(Effect="Deny", Action=None),
        statement(Effect="Deny", Resource=None, NotResource="x", Action=["sns:Publish", 3]),
        {**statement(Effect="Deny"), "NotAction": "sns:Publish"},
        statement(Effect="Deny", Principal=["*"]),
        statement(Effect="Deny", Condition=["StringEquals"]),
    ],
)
def test_a_statement_that_cannot_be_read_may_deny_so_the_answer_is_undecided(
    broken: dict[str, object],
) -> None:
    decision = decide(policy(statement(Sid="Open"), broken))
    assert decision.outcome is Outcome.UNDECIDED
    assert decision.statement == "statement 2"
    assert decision.undecided_key is not None


def test_an_allow_that_cannot_be_read_does_not_hide_one_that_matches() -> None:
    broken = statement(Action=["sns:Publish", 3])
    assert decide(policy(broken)).outcome is Outcome.UNDECIDED
    assert decide(policy(broken, statement(Sid="Open"))).statement == "Open"


def test_equal_requests_are_one_key_so_a_caller_can_cache_decisions() -> None:
    def request() -> Request:
        return Request("cloudwatch.amazonaws.com", "sns:Publish", TOPIC, Context.of({"a": "b"}))

    assert request() == request()
    assert len({request(), request()}) == 1
