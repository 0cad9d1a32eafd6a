"""The fixes of the notification end (``topic_key``, ``topic_policy``, ``delivery``) in every
format, with the account's own topic, key and subscriptions.

Findings are made by hand (:func:`made`) with the context the evaluator passes, so these tests
need nothing of the evaluator's policy reading.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
from remediation.remediation_cases import (
    ACCOUNT,
    BROKEN,
    FULL,
    KEY_ARN,
    REGION,
    RULE,
    TOPIC,
    UNKNOWN,
    cfn_lint,
    commands,
    documents,
    fix,
    fixed,
    hcl_string,
    imports,
    made,
    only,
    option,
    resources,
    verbs,
)
from tools import require_tool

from scanner.model import Link
from scanner.remediation import Document, plan_accounts, render
from scanner.remediation.grants import cloudwatch_key_statement, cloudwatch_publish_statement

ROOT = {
    "Sid": "EnableIAMUserPermissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
DENY_KEY = {
    "Sid": "DenyServices",
    "Effect": "Deny",
    "Principal": {"Service": "cloudwatch.amazonaws.com"},
    "Action": "kms:*",
    "Resource": "*",
}
OWNER = {
    "Sid": "__default_statement_ID",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["SNS:Subscribe", "SNS:Publish"],
    "Resource": TOPIC,
    "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT}},
}
DENY_PUBLISH = {"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": TOPIC}
SUBSCRIPTIONS = (f"{TOPIC}:0f1e2d3c", f"{TOPIC}:4b5a6978")


def policy(*statements: object) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def key_context(**values: str) -> dict[str, str]:
    return {**FULL, "topic_owner": ACCOUNT, "key_arn": KEY_ARN, **values}


AWS_MANAGED = key_context(key_arn="alias/aws/sns", key_manager="AWS", key_state="Enabled")
CUSTOMER = key_context(key_manager="CUSTOMER", key_state="Enabled")


def publish() -> dict[str, object]:
    return cloudwatch_publish_statement(TOPIC, ACCOUNT)


def jsonencoded(config: str, resource: str) -> object:
    """The document of the first ``jsonencode(...)`` of a Terraform resource, read as JSON."""
    start = config.index(f'resource "{resource}"')
    at = config.index("jsonencode(", start) + len("jsonencode(")
    text = config[at:].replace("$${", "${").replace("%%{", "%{")
    return json.JSONDecoder().raw_decode(text)[0]


def prose(text: str) -> str:
    """The comments of a script or configuration as one line of words."""
    return " ".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))


def templates(found: dict[str, str]) -> dict[str, Any]:
    return {name: json.loads(text) for name, text in found.items() if name.endswith(".json")}


def shell_parses(script: str, tmp_path: Path) -> None:
    bash = require_tool("bash", "apt-get install bash")
    path = tmp_path / "fix.sh"
    path.write_text(script)
    result = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------------------------
# topic_key: the AWS managed key.


def test_a_topic_on_the_aws_managed_key_is_pointed_at_a_customer_key_that_grants_cloudwatch(
    tmp_path: Path,
) -> None:
    fixes = fix(made(Link.TOPIC_KEY), AWS_MANAGED)
    cli = fixes["cli"]
    assert verbs(cli) == ["kms get-key-policy", "kms put-key-policy", "sns set-topic-attributes"]
    attributes = only(cli, "sns", "set-topic-attributes")
    assert option(attributes, "--topic-arn") == TOPIC
    assert option(attributes, "--region") == REGION
    assert option(attributes, "--attribute-name") == "KmsMasterKeyId"
    assert option(attributes, "--attribute-value") == "<KMS_KEY_ARN>"
    # The new key's policy is not known: the statement to merge is given, and so is how.
    assert json.dumps(cloudwatch_key_statement(), separators=(",", ":")) in cli
    assert option(only(cli, "kms", "put-key-policy"), "--key-id") == "<KMS_KEY_ARN>"
    assert "Replace every <PLACEHOLDER> first." in cli
    shell_parses(cli, tmp_path)

    assert "Encryption: the customer\nmanaged key <KMS_KEY_ARN>" in fixes["console"].replace(
        "\n   ", "\n"
    )
    assert '"Sid":"AllowCloudWatchAlarmsToUseTheKey"' in fixes["console"]


def test_terraform_adopts_the_topic_to_change_its_key_and_explains_the_key_policy() -> None:
    config = fix(made(Link.TOPIC_KEY), AWS_MANAGED)["terraform"]
    parsed = hcl2.loads(config)
    declared = resources(parsed)
    assert list(declared) == ["aws_sns_topic.ops"]
    topic = declared["aws_sns_topic.ops"]
    assert hcl_string(topic["name"]) == "ops"
    assert topic["kms_master_key_id"] in ("var.kms_key_arn", "${var.kms_key_arn}")
    variables = {hcl_string(name) for entry in parsed["variable"] for name in entry}
    assert variables == {"kms_key_arn"}
    # The topic exists: an import block adopts it by its ARN, through the topic's provider.
    assert imports(parsed) == {"aws_sns_topic.ops": (TOPIC, "aws.eu_west_1")}
    comments = " ".join(line[2:] for line in config.splitlines() if line.startswith("# "))
    assert "aws_kms_key_policy replaces the whole policy" in comments
    assert "# aws kms put-key-policy --region eu-west-1 --key-id '<KMS_KEY_ARN>'" in config


def test_cloudformation_imports_the_topic_and_scripts_the_key_policy(tmp_path: Path) -> None:
    found = documents(made(Link.TOPIC_KEY), "cloudformation", AWS_MANAGED)
    assert list(found) == [f"{ACCOUNT}-{REGION}.json", f"{ACCOUNT}-commands.sh"]
    template = templates(found)[f"{ACCOUNT}-{REGION}.json"]
    (topic,) = template["Resources"].values()
    assert topic["Type"] == "AWS::SNS::Topic"
    assert topic["Properties"] == {"TopicName": "ops", "KmsMasterKeyId": {"Ref": "KmsKeyArn"}}
    assert topic["DeletionPolicy"] == "Retain"
    assert "import it into the stack first" in topic["Metadata"]["Remediation"]["Import"]
    assert "CloudWatch cannot use" in template["Parameters"]["KmsKeyArn"]["Description"]
    assert f"Run {ACCOUNT}-commands.sh first" in str(template["Description"])
    script = found[f"{ACCOUNT}-commands.sh"]
    assert "CloudFormation cannot set the key policy of a KMS key it did not create." in script
    assert verbs(script) == ["kms get-key-policy", "kms put-key-policy"]
    shell_parses(script, tmp_path)
    assert (
        cfn_lint([Document(n, t) for n, t in found.items() if n.endswith(".json")], tmp_path) == ""
    )


def test_a_key_that_does_not_exist_is_replaced_too() -> None:
    gone = key_context(key_manager="", key_state="")
    cli = fix(made(Link.TOPIC_KEY), gone)["cli"]
    assert option(only(cli, "sns", "set-topic-attributes"), "--attribute-value") == "<KMS_KEY_ARN>"


# --------------------------------------------------------------------------------------------
# topic_key: a customer managed key.


def test_a_disabled_key_is_enabled_and_one_pending_deletion_is_first_kept(tmp_path: Path) -> None:
    disabled = fix(made(Link.TOPIC_KEY), key_context(key_manager="CUSTOMER", key_state="Disabled"))
    assert verbs(disabled["cli"]) == ["kms enable-key"]
    enable = only(disabled["cli"], "kms", "enable-key")
    assert (option(enable, "--key-id"), option(enable, "--region")) == (KEY_ARN, REGION)
    assert "(it is Disabled)" in disabled["cli"]

    pending = key_context(key_manager="CUSTOMER", key_state="PendingDeletion")
    fixes = fix(made(Link.TOPIC_KEY), pending)
    assert verbs(fixes["cli"]) == ["kms cancel-key-deletion", "kms enable-key"]
    assert option(only(fixes["cli"], "kms", "cancel-key-deletion"), "--key-id") == KEY_ARN
    assert "Cancel key\ndeletion" in fixes["console"].replace("\n   ", "\n")
    shell_parses(fixes["cli"], tmp_path)
    # Neither declarative format manages a key's state: the commands, with the reason.
    config = fixes["terraform"]
    assert not resources(hcl2.loads(config))
    assert 'provider "aws"' not in config
    assert "Terraform sets a KMS key's state only by managing the whole key" in config
    assert f"# aws kms enable-key --region {REGION} --key-id {KEY_ARN}" in config
    found = documents(made(Link.TOPIC_KEY), "cloudformation", pending)
    assert list(found) == [f"{ACCOUNT}-commands.sh"]
    assert verbs(found[f"{ACCOUNT}-commands.sh"]) == ["kms cancel-key-deletion", "kms enable-key"]


def test_the_key_policy_is_put_whole_the_current_statements_kept_the_grant_added_once(
    tmp_path: Path,
) -> None:
    context = {**CUSTOMER, "key_policy": policy(ROOT)}
    fixes = fix(made(Link.TOPIC_KEY), context)
    cli = fixes["cli"]
    assert verbs(cli) == ["kms put-key-policy"]
    put = only(cli, "kms", "put-key-policy")
    assert (option(put, "--key-id"), option(put, "--policy-name")) == (KEY_ARN, "default")
    assert json.loads(option(put, "--policy"))["Statement"] == [ROOT, cloudwatch_key_statement()]
    assert "put-key-policy replaces the whole key policy" in cli
    shell_parses(cli, tmp_path)
    # On a policy that has the grant already (fixed, then a later scan), it stays once.
    again = fix(made(Link.TOPIC_KEY), {**context, "key_policy": option(put, "--policy")})["cli"]
    statements = json.loads(option(only(again, "kms", "put-key-policy"), "--policy"))["Statement"]
    assert statements == [ROOT, cloudwatch_key_statement()]

    config = fixes["terraform"]
    assert list(resources(hcl2.loads(config))) == ["aws_kms_key_policy.topic_key"]
    key_policy = resources(hcl2.loads(config))["aws_kms_key_policy.topic_key"]
    assert hcl_string(key_policy["key_id"]) == KEY_ARN
    # Every key has a policy: an import block adopts it, by the key's id.
    key_id = KEY_ARN.rsplit("/", 1)[1]
    assert imports(hcl2.loads(config)) == {
        "aws_kms_key_policy.topic_key": (key_id, "aws.eu_west_1")
    }
    assert jsonencoded(config, "aws_kms_key_policy") == json.loads(option(put, "--policy"))

    script = documents(made(Link.TOPIC_KEY), "cloudformation", context)[f"{ACCOUNT}-commands.sh"]
    assert option(only(script, "kms", "put-key-policy"), "--policy") == option(put, "--policy")


def test_the_key_policy_statement_that_denies_cloudwatch_is_left_out_and_said_so() -> None:
    context = {
        **CUSTOMER,
        "key_policy": policy(ROOT, DENY_KEY),
        "denying_statement": "DenyServices",
    }
    fixes = fix(made(Link.TOPIC_KEY), context)
    put = only(fixes["cli"], "kms", "put-key-policy")
    assert json.loads(option(put, "--policy"))["Statement"] == [ROOT, cloudwatch_key_statement()]
    assert "leaves out statement DenyServices, which explicitly denies" in fixes["cli"]
    assert 'remove statement "DenyServices"' in fixes["console"]


def test_an_unknown_key_policy_gives_the_statement_to_merge() -> None:
    fixes = fix(made(Link.TOPIC_KEY), CUSTOMER)
    cli = fixes["cli"]
    assert verbs(cli) == ["kms get-key-policy", "kms put-key-policy"]
    assert option(only(cli, "kms", "put-key-policy"), "--policy") == "file://key-policy.json"
    assert "add this statement to its key policy, keeping every" in cli
    assert not resources(hcl2.loads(fixes["terraform"]))  # nothing Terraform could replace it by


# --------------------------------------------------------------------------------------------
# topic_policy.


def test_the_topic_policy_gets_the_grant_keeps_the_owners_statement_and_drops_the_deny(
    tmp_path: Path,
) -> None:
    context = {
        **FULL,
        "topic_owner": ACCOUNT,
        "topic_policy": policy(OWNER, DENY_PUBLISH),
        "denying_statement": "statement 2",
    }
    fixes = fix(made(Link.TOPIC_POLICY), context)
    cli = fixes["cli"]
    assert verbs(cli) == ["sns set-topic-attributes"]
    attributes = only(cli, "sns", "set-topic-attributes")
    assert (option(attributes, "--topic-arn"), option(attributes, "--region")) == (TOPIC, REGION)
    assert option(attributes, "--attribute-name") == "Policy"
    new = json.loads(option(attributes, "--attribute-value"))
    assert new["Statement"] == [OWNER, publish()]
    assert "leaves out statement 'statement 2', which explicitly denies" in cli
    assert "set-topic-attributes replaces the whole access policy" in prose(cli)
    shell_parses(cli, tmp_path)

    assert json.dumps(publish(), separators=(",", ":")) in fixes["console"]
    assert 'remove statement "statement 2"' in fixes["console"]

    config = fixes["terraform"]
    topic_policy = resources(hcl2.loads(config))["aws_sns_topic_policy.ops"]
    assert hcl_string(topic_policy["arn"]) == TOPIC
    # Every topic has an access policy: an import block adopts it, by the topic's ARN.
    assert imports(hcl2.loads(config)) == {"aws_sns_topic_policy.ops": (TOPIC, "aws.eu_west_1")}
    assert jsonencoded(config, "aws_sns_topic_policy") == new

    found = documents(made(Link.TOPIC_POLICY), "cloudformation", context)
    (resource,) = templates(found)[f"{ACCOUNT}-{REGION}.json"]["Resources"].values()
    assert resource["Type"] == "AWS::SNS::TopicPolicy"
    assert resource["Properties"] == {"PolicyDocument": new, "Topics": [TOPIC]}
    assert "statement 2" in resource["Metadata"]["Remediation"]["Removes"]
    assert cfn_lint([Document(n, t) for n, t in found.items()], tmp_path) == ""


def test_a_topic_without_a_policy_gets_one_with_the_grant_and_a_foreign_owner_is_named() -> None:
    owner = "444455556666"
    context = {**FULL, "topic_owner": owner, "organization_id": "o-a1b2c3d4e5"}
    fixes = fix(made(Link.TOPIC_POLICY), context)
    value = option(only(fixes["cli"], "sns", "set-topic-attributes"), "--attribute-value")
    assert json.loads(value) == {"Version": "2012-10-17", "Statement": [publish()]}
    assert f"Run with credentials of account {owner}, which owns the topic" in fixes["cli"]
    assert "aws:SourceOrgID o-a1b2c3d4e5 instead" in fixes["cli"]
    assert f"Sign in to account {owner}" in fixes["console"]
    assert f"Apply with a provider of account {owner}" in fixes["terraform"]
    template = json.loads(fixes["cloudformation"])
    (resource,) = template["Resources"].values()
    assert resource["Metadata"]["Remediation"]["Account"] == (
        f"Deploy in account {owner}, which owns the topic."
    )


# --------------------------------------------------------------------------------------------
# delivery.


def test_the_filter_policies_that_drop_the_alarms_are_removed(tmp_path: Path) -> None:
    context = {**FULL, "filtered_subscriptions": ",".join(SUBSCRIPTIONS)}
    fixes = fix(made(Link.DELIVERY), context)
    cli = fixes["cli"]
    assert verbs(cli) == ["sns set-subscription-attributes"] * 2
    for command, arn in zip(commands(cli), SUBSCRIPTIONS, strict=True):
        assert option(command, "--subscription-arn") == arn
        assert option(command, "--region") == REGION
        assert option(command, "--attribute-name") == "FilterPolicy"
        assert option(command, "--attribute-value") == "{}"
    assert "or subscribe another endpoint without a filter policy" in prose(cli)
    shell_parses(cli, tmp_path)
    assert all(arn in fixes["console"] for arn in SUBSCRIPTIONS)
    assert "Subscription filter" in fixes["console"]

    config = fixes["terraform"]
    assert not resources(hcl2.loads(config))
    assert "needs the subscription's protocol and endpoint" in prose(config)
    found = documents(made(Link.DELIVERY), "cloudformation", context)
    assert list(found) == [f"{ACCOUNT}-commands.sh"]
    assert verbs(found[f"{ACCOUNT}-commands.sh"]) == ["sns set-subscription-attributes"] * 2


def test_without_the_filtered_subscriptions_someone_subscribes_without_a_filter() -> None:
    cli = fix(made(Link.DELIVERY))["cli"]
    assert verbs(cli) == ["sns subscribe"]
    assert option(only(cli, "sns", "subscribe"), "--topic-arn") == TOPIC


# --------------------------------------------------------------------------------------------
# Which links call for a fix, and grouping.


def test_links_after_the_broken_one_are_fixed_only_when_broken() -> None:
    context = {**AWS_MANAGED, "filtered_subscriptions": SUBSCRIPTIONS[0]}
    both = made(Link.TOPIC_KEY, also={Link.TOPIC_POLICY: BROKEN, Link.DELIVERY: BROKEN})
    assert verbs(fix(both, context)["cli"]) == [
        "kms get-key-policy",
        "kms put-key-policy",
        "sns set-topic-attributes",
        "sns set-topic-attributes",
        "sns set-subscription-attributes",
    ]
    # Undecided (unknown) is no failure: nothing is changed for it.
    undecided = made(Link.TOPIC_KEY, UNKNOWN)
    assert "sns set-subscription-attributes" not in verbs(fix(undecided, context)["cli"])
    assert verbs(fix(undecided, context)["cli"]).count("sns set-topic-attributes") == 1
    # A topic that is recreated gets no key and the default policy: none of the three.
    recreated = fix(made(Link.TOPIC, also={Link.TOPIC_KEY: BROKEN}), context)["cli"]
    assert verbs(recreated) == ["sns create-topic", "sns subscribe"]


def test_two_rules_failing_at_the_same_topic_policy_change_it_once() -> None:
    context = {**FULL, "topic_policy": policy(OWNER)}
    findings = [
        fixed(made(Link.TOPIC_POLICY, rule_id=rule), context)
        for rule in (RULE, "root-account-usage")
    ]
    (script,) = render("cli", plan_accounts(findings))
    assert verbs(script.text) == ["sns set-topic-attributes"]
    assert "For iam-policy-changes, root-account-usage in account" in script.text
    (config,) = render("terraform", plan_accounts(findings))
    assert list(resources(hcl2.loads(config.text))) == ["aws_sns_topic_policy.ops"]


@pytest.mark.parametrize(
    ("link", "context"),
    [
        (Link.TOPIC_KEY, AWS_MANAGED),
        (Link.TOPIC_KEY, {**CUSTOMER, "key_policy": policy(ROOT)}),
        (Link.TOPIC_POLICY, {**FULL, "topic_policy": policy(OWNER)}),
        (Link.DELIVERY, {**FULL, "filtered_subscriptions": ",".join(SUBSCRIPTIONS)}),
    ],
    ids=["aws-managed-key", "key-policy", "topic-policy", "delivery"],
)
def test_the_fixes_templates_lint_and_scripts_parse(
    link: Link, context: dict[str, str], tmp_path: Path
) -> None:
    found = documents(made(link), "cloudformation", context)
    json_templates = [Document(n, t) for n, t in found.items() if n.endswith(".json")]
    if json_templates:
        assert cfn_lint(json_templates, tmp_path) == ""
    for name, text in found.items():
        if name.endswith(".sh"):
            shell_parses(text, tmp_path)
    shell_parses(fix(made(link), context)["cli"], tmp_path)
