"""The change-event templates (deploy/events): the member rule forwards exactly the catalog's
events, the central bus takes them from the organization only, and each shard's queue from its
own rule only.

The member rule's pattern is the catalog's (``scanner.catalog.load_changes().pattern()``),
written into member-events.yaml by ``python tests/deploy/test_events.py``: a test holds them
equal, so a new change event cannot be listed without being forwarded.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from deploy.test_iam import _CfnLoader, _unquote, terraform, tf_resource
from tools import TEST_EXTRA, require_tool

from scanner.catalog import load_changes

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "deploy" / "events"
TEMPLATES = ("member-events.yaml", "member-events-stackset.yaml", "central.yaml")
MEMBER = EVENTS / "member-events.yaml"
BEGIN, END = "      # BEGIN generated", "      # END generated"


def template(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((EVENTS / name).read_text(encoding="utf-8"), _CfnLoader)
    return loaded


def resources(name: str, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template(name)["Resources"].items() if v["Type"] == kind}


# --- the member rule -------------------------------------------------------------------------


def test_the_member_rule_forwards_exactly_the_catalogs_events() -> None:
    (rule,) = resources("member-events.yaml", "AWS::Events::Rule").values()
    properties = rule["Properties"]
    assert properties["EventPattern"] == load_changes().pattern(), (
        "deploy/events/member-events.yaml is stale: run `python tests/deploy/test_events.py`"
    )
    assert properties["Name"] == load_changes().forwarding_rule
    assert properties["EventBusName"] == "default"
    assert properties["State"] == "ENABLED"
    (target,) = properties["Targets"]
    assert target["Arn"] == {"Ref": "CentralBusArn"}
    assert target["RoleArn"] == {"Fn::GetAtt": "ForwardRole.Arn"}


def test_the_forwarding_role_may_only_put_events_on_the_central_bus() -> None:
    (role,) = resources("member-events.yaml", "AWS::IAM::Role").values()
    properties = role["Properties"]
    assert "RoleName" not in properties  # one role per region: names must not collide
    assert "ManagedPolicyArns" not in properties
    (trust,) = properties["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (policy,) = properties["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement == {
        "Sid": "PutOnTheCentralBus",
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": {"Ref": "CentralBusArn"},
    }


def test_the_member_rules_are_an_auto_deployed_stackset_in_every_listed_region() -> None:
    (stackset,) = resources("member-events-stackset.yaml", "AWS::CloudFormation::StackSet").values()
    properties = stackset["Properties"]
    assert properties["PermissionModel"] == "SERVICE_MANAGED"
    assert properties["AutoDeployment"]["Enabled"] is True
    assert properties["Capabilities"] == ["CAPABILITY_IAM"]
    (group,) = properties["StackInstancesGroup"]
    assert group["Regions"] == {"Ref": "Regions"}
    assert group["DeploymentTargets"] == {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}}
    passed = {p["ParameterKey"] for p in properties["Parameters"]}
    assert passed == set(template("member-events.yaml")["Parameters"])


# --- the central bus and queues --------------------------------------------------------------


def _holds(condition: Any, conditions: dict[str, Any], shards: int) -> bool:
    """CloudFormation's condition functions, as central.yaml uses them, for ShardCount."""
    ((function, arguments),) = condition.items()
    if function in ("Condition", "Fn::Condition"):  # a named one: {"Condition": name}, !Condition
        return _holds(conditions[arguments], conditions, shards)
    if function == "Fn::Not":
        return not _holds(arguments[0], conditions, shards)
    if function == "Fn::And":
        return all(_holds(a, conditions, shards) for a in arguments)
    assert function == "Fn::Equals", function
    left, right = (shards if a == {"Ref": "ShardCount"} else a for a in arguments)
    return int(left) == int(right)


def present(kind: str, shards: int) -> list[str]:
    """The logical ids of ``kind`` central.yaml creates with ShardCount = ``shards``."""
    central = template("central.yaml")
    conditions = central.get("Conditions", {})
    return sorted(
        name
        for name, resource in resources("central.yaml", kind).items()
        if "Condition" not in resource
        or _holds({"Condition": resource["Condition"]}, conditions, shards)
    )


def test_one_queue_rule_and_queue_policy_per_shard() -> None:
    central = template("central.yaml")
    allowed = central["Parameters"]["ShardCount"]["AllowedValues"]
    assert allowed == list(range(1, len(allowed) + 1))
    for shards in allowed:
        queues = [f"Queue{i}" for i in range(shards)]
        assert present("AWS::SQS::Queue", shards) == sorted(["DeadLetterQueue", *queues])
        assert present("AWS::Events::Rule", shards) == [f"Rule{i}" for i in range(shards)]
        policies = present("AWS::SQS::QueuePolicy", shards)
        assert policies == sorted(
            ["DeadLetterQueuePolicy", *(f"QueuePolicy{i}" for i in range(shards))]
        )
        outputs = [
            name
            for name, output in central["Outputs"].items()
            if name.startswith("QueueUrl")
            and (
                "Condition" not in output
                or _holds({"Condition": output["Condition"]}, central["Conditions"], shards)
            )
        ]
        assert outputs == [f"QueueUrl{i}" for i in range(shards)]


def test_only_the_organization_may_put_events_on_the_central_bus() -> None:
    (policy,) = resources("central.yaml", "AWS::Events::EventBusPolicy").values()
    statement = policy["Properties"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == {"Fn::GetAtt": "Bus.Arn"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    }


def test_each_shard_queue_takes_events_from_its_own_rule_and_dead_letters_them() -> None:
    queues = resources("central.yaml", "AWS::SQS::Queue")
    rules = resources("central.yaml", "AWS::Events::Rule")
    policies = resources("central.yaml", "AWS::SQS::QueuePolicy")
    dead_letter = {"Fn::GetAtt": "DeadLetterQueue.Arn"}
    for name, rule in rules.items():
        shard = name.removeprefix("Rule")
        queue = queues[f"Queue{shard}"]["Properties"]
        assert queue["RedrivePolicy"]["deadLetterTargetArn"] == dead_letter
        assert queue["ReceiveMessageWaitTimeSeconds"] == 20  # long polling
        assert queue["SqsManagedSseEnabled"] is True
        properties = rule["Properties"]
        assert properties["EventBusName"] == {"Ref": "Bus"}
        (target,) = properties["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": f"Queue{shard}.Arn"}
        assert target["DeadLetterConfig"] == {"Arn": dead_letter}
        document = policies[f"QueuePolicy{shard}"]["Properties"]["PolicyDocument"]
        (statement,) = document["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"] == {
            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": f"{name}.Arn"}}
        }
        # The rule's name is what the dead-letter queue's policy admits.
        assert properties["Name"] == {"Fn::Sub": f"${{BusName}}-shard-{shard}"}
    (dlq_statement,) = policies["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert dlq_statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(
        ":rule/${BusName}/${BusName}-shard-*"
    )


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run(
        [require_tool("cfn-lint", TEST_EXTRA), *(str(EVENTS / name) for name in TEMPLATES)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the Terraform modules -------------------------------------------------------------------


def test_terraform_deploys_the_same_member_template_to_every_region() -> None:
    module = terraform(EVENTS / "terraform" / "member")
    stackset = tf_resource(module, "aws_cloudformation_stack_set", "events")
    assert _unquote(stackset["permission_model"]) == "SERVICE_MANAGED"
    assert "../../member-events.yaml" in stackset["template_body"]
    assert stackset["auto_deployment"][0]["enabled"] is True
    assert {_unquote(k) for k in stackset["parameters"]} == set(
        template("member-events.yaml")["Parameters"]
    )
    instance = tf_resource(module, "aws_cloudformation_stack_set_instance", "events")
    assert "var.regions" in instance["for_each"]
    assert "each.value" in instance["stack_set_instance_region"]
    assert (
        "var.organizational_unit_ids"
        in instance["deployment_targets"][0]["organizational_unit_ids"]
    )


def test_terraform_central_is_the_same_bus_and_a_queue_per_shard() -> None:
    module = terraform(EVENTS / "terraform" / "central")
    policy = str(tf_resource(module, "aws_cloudwatch_event_bus_policy", "central")["policy"])
    assert "aws:PrincipalOrgID" in policy and "var.organization_id" in policy
    assert "events:PutEvents" in policy
    for kind in ("aws_sqs_queue", "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target"):
        assert "var.shard_count" in str(tf_resource(module, kind, "shard")["count"]), kind
    queue = tf_resource(module, "aws_sqs_queue", "shard")
    assert "aws_sqs_queue.dead_letter.arn" in str(queue["redrive_policy"])
    assert queue["receive_wait_time_seconds"] == 20
    target = tf_resource(module, "aws_cloudwatch_event_target", "shard")
    assert "aws_sqs_queue.dead_letter.arn" in str(target["dead_letter_config"])
    queue_policy = str(tf_resource(module, "aws_sqs_queue_policy", "shard")["policy"])
    assert "ArnEquals" in queue_policy
    assert "aws_cloudwatch_event_rule.shard[count.index].arn" in queue_policy
    outputs = {_unquote(k) for block in module["output"] for k in block}
    assert {"bus_arn", "queue_urls", "queue_arns"} <= outputs


# --- writing the pattern into the member template --------------------------------------------


def rendered_member_template(text: str) -> str:
    """member-events.yaml with the catalog's pattern between the generated markers."""
    pattern = yaml.safe_dump({"EventPattern": load_changes().pattern()}, sort_keys=False, width=100)
    body = "".join(f"      {line}\n" for line in pattern.splitlines())
    found = re.search(f"^({re.escape(BEGIN)}[^\n]*\n).*?^({re.escape(END)}\n)", text, re.M | re.S)
    assert found, "member-events.yaml lost its generated markers"
    return text[: found.start()] + found[1] + body + found[2] + text[found.end() :]


def test_writing_the_pattern_again_changes_nothing() -> None:
    text = MEMBER.read_text(encoding="utf-8")
    assert rendered_member_template(text) == text


if __name__ == "__main__":  # rewrite member-events.yaml's pattern from the catalog
    MEMBER.write_text(rendered_member_template(MEMBER.read_text(encoding="utf-8")), "utf-8")
