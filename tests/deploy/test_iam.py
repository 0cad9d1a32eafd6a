"""The IAM templates grant exactly the calls the collector makes, to exactly the right principals.

The operations are derived from the code, not listed by hand: every ``Caller.call`` and
``Caller.paginate`` in scanner/aws/*.py names its operation, and the client it is called on was
made by ``pool.client(identity, region, "<service>")`` in the same function or, for a function
that receives the client as a parameter, at its call sites. A call whose service cannot be
resolved fails the test, so a new call cannot slip past the policies.
"""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path
from typing import Any

import botocore.session
import hcl2
import pytest
import yaml
from tools import TEST_EXTRA, require_tool

ROOT = Path(__file__).resolve().parents[2]
IAM = ROOT / "deploy" / "iam"
TEMPLATES = ("member-role.yaml", "member-stackset.yaml", "hub-role.yaml")

# IAM authorizes these for every principal; a policy can neither grant nor deny them.
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})
# Called by the caller identity (the hub) only: listing the organization, entering accounts,
# reading the change event queues.
HUB_SERVICES = frozenset({"organizations", "sts", "sqs"})
# The daemon's consumer of change events (scanner/aws) reads deploy/events/central.yaml's queues
# with the hub's credentials: these, on the queues' ARNs only (hub-role.yaml EventQueueArns).
EVENT_QUEUE_ACTIONS = frozenset(
    {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
)
# botocore client name -> IAM service prefix, where they differ (none of today's services).
IAM_PREFIX: dict[str, str] = {}


# --- the operations the collector calls ------------------------------------------------------

# The gateway's methods that make AWS calls: Caller.<method>(client, "Operation", ...).
CALLER_METHODS = frozenset({"call", "paginate", "paginate_keys", "pages"})


class _Function:
    def __init__(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        self.params += [a.arg for a in node.args.kwonlyargs]
        self.clients: dict[str, str] = {}  # local name -> service
        self.calls: list[tuple[str, str]] = []  # (client name, operation)
        self.invocations: list[tuple[str, ast.Call]] = []  # (callee name, the call)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                service = _client_service(sub.value)
                if service and isinstance(sub.targets[0], ast.Name):
                    self.clients[sub.targets[0].id] = service
            if not isinstance(sub, ast.Call):
                continue
            func = sub.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in CALLER_METHODS and _on_caller(func) and len(sub.args) >= 2:
                client, operation = sub.args[0], sub.args[1]
                assert isinstance(client, ast.Name), ast.unparse(sub)
                assert isinstance(operation, ast.Constant), ast.unparse(sub)
                self.calls.append((client.id, str(operation.value)))
            elif name:
                self.invocations.append((name, sub))


def _on_caller(func: ast.expr) -> bool:
    """``caller.call`` / ``self.caller.paginate``: the receiver is named caller."""
    if not isinstance(func, ast.Attribute):
        return False
    receiver = func.value
    name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
    return name == "caller"


def _client_service(value: ast.expr) -> str | None:
    """``await <pool>.client(identity, region, "service")`` -> "service"."""
    if isinstance(value, ast.Await):
        value = value.value
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "client"
        and value.args
        and isinstance(value.args[-1], ast.Constant)
    ):
        return str(value.args[-1].value)
    return None


def collector_operations() -> set[tuple[str, str]]:
    """(service, Operation) for every call the collector makes."""
    functions: list[tuple[str, _Function]] = []
    for path in sorted((ROOT / "scanner" / "aws").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.append((node.name, _Function(node)))

    def services_of(name: str, function: _Function, client: str) -> set[str]:
        if client in function.clients:
            return {function.clients[client]}
        assert client in function.params, f"{name}: cannot tell what {client} is"
        position = function.params.index(client) - (function.params[:1] == ["self"])
        found: set[str] = set()
        for caller_name, caller in functions:
            for callee, call in caller.invocations:
                if callee != name:
                    continue
                passed = [k.value for k in call.keywords if k.arg == client]
                passed = passed or call.args[position : position + 1]
                assert passed and isinstance(passed[0], ast.Name), ast.unparse(call)
                found |= services_of(caller_name, caller, passed[0].id)
        assert found, f"{name} is never called: the service of {client} is unknown"
        return found

    return {
        (service, operation)
        for name, function in functions
        for client, operation in function.calls
        for service in services_of(name, function, client)
    }


def iam_actions(operations: set[tuple[str, str]]) -> set[str]:
    models = botocore.session.get_session()
    actions = set()
    for service, operation in operations:
        assert operation in models.get_service_model(service).operation_names, operation
        actions.add(f"{IAM_PREFIX.get(service, service)}:{operation}")
    return actions


OPERATIONS = collector_operations()
CALLED = iam_actions(OPERATIONS)
HUB_ONLY = {a for a in CALLED if a.split(":")[0] in HUB_SERVICES}
ACCOUNT_READS = CALLED - HUB_ONLY


# --- the templates ---------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short intrinsic tags (!Ref, !Sub, !GetAtt...)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def template(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((IAM / name).read_text(encoding="utf-8"), _CfnLoader)
    return loaded


def _document(value: Any) -> dict[str, Any]:
    """A policy document, written inline or as a !Sub of JSON text."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        parsed: dict[str, Any] = json.loads(value["Fn::Sub"])
        return parsed
    assert isinstance(value, dict)
    return value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role(name: str, logical_id: str) -> dict[str, Any]:
    resource = template(name)["Resources"][logical_id]
    assert resource["Type"] == "AWS::IAM::Role"
    properties: dict[str, Any] = resource["Properties"]
    return properties


def policies(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """The role's inline policies, a conditional one (``!If [cond, policy, NoValue]``) as if
    its condition held."""
    found = []
    for written in properties["Policies"]:
        if "Fn::If" in written:
            _, policy, absent = written["Fn::If"]
            assert absent == {"Ref": "AWS::NoValue"}
            found.append(policy)
        else:
            found.append(written)
    return found


def granted(properties: dict[str, Any]) -> list[str]:
    """Every action the role's inline policies allow (a list: duplicates show)."""
    actions: list[str] = []
    for policy in policies(properties):
        for statement in _document(policy["PolicyDocument"])["Statement"]:
            assert statement["Effect"] == "Allow"
            actions += _as_list(statement["Action"])
    return actions


def test_every_collector_call_is_found() -> None:
    # The derivation sees through a client passed as a parameter (the organization listing
    # receives its client from the scan) and through every paging method of the gateway.
    assert ("organizations", "ListAccountsForParent") in OPERATIONS
    assert ("cloudwatch", "DescribeAlarms") in OPERATIONS
    assert ("cloudtrail", "DescribeTrails") in OPERATIONS
    # Trails are listed once per account (shadow trails): regions are not enumerated.
    assert ("ec2", "DescribeRegions") not in OPERATIONS
    assert ALWAYS_ALLOWED <= CALLED


def test_member_role_grants_exactly_the_account_reads() -> None:
    member = role("member-role.yaml", "MemberRole")
    actions = granted(member)
    assert sorted(actions) == sorted(ACCOUNT_READS)
    assert "ManagedPolicyArns" not in member


def test_hub_role_grants_organization_reads_assume_role_and_its_own_account_reads() -> None:
    hub = role("hub-role.yaml", "HubRole")
    actions = granted(hub)
    assert sorted(actions) == sorted((CALLED - ALWAYS_ALLOWED) | EVENT_QUEUE_ACTIONS)
    assert "ManagedPolicyArns" not in hub
    statements = [s for p in policies(hub) for s in _document(p["PolicyDocument"])["Statement"]]
    (assume,) = [s for s in statements if "sts:AssumeRole" in _as_list(s["Action"])]
    assert assume["Action"] == "sts:AssumeRole"
    assert assume["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}


def test_hub_role_reads_the_change_event_queues_only_when_given_them() -> None:
    # Every SQS call of the code is one of the three; the daemon's consumer makes them.
    assert {a for a in CALLED if a.startswith("sqs:")} == EVENT_QUEUE_ACTIONS
    hub = template("hub-role.yaml")
    assert hub["Parameters"]["EventQueueArns"]["Default"] == ""
    (conditional,) = [
        p for p in hub["Resources"]["HubRole"]["Properties"]["Policies"] if "Fn::If" in p
    ]
    condition, policy, _ = conditional["Fn::If"]
    assert hub["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "EventQueueArns"}]}, ""]}]
    }
    (statement,) = _document(policy["PolicyDocument"])["Statement"]
    assert set(statement["Action"]) == EVENT_QUEUE_ACTIONS
    assert statement["Resource"] == {"Ref": "EventQueueArns"}
    # No role of a member account touches a queue.
    assert not {a for a in granted(role("member-role.yaml", "MemberRole")) if a.startswith("sqs:")}


def test_no_wildcard_action_anywhere() -> None:
    for name in TEMPLATES:
        text = (IAM / name).read_text(encoding="utf-8")
        assert "ReadOnlyAccess" not in text
        for line in text.splitlines():
            if ":" in line and line.strip().startswith("- ") and "*" in line.split(":", 1)[1]:
                pytest.fail(f"{name}: a wildcard action: {line.strip()}")


def test_member_role_trusts_only_the_hub_role_with_the_external_id() -> None:
    (statement,) = role("member-role.yaml", "MemberRole")["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": {"Ref": "HubRoleArn"}}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}


def _trust_variants(value: Any) -> dict[bool, dict[str, Any]]:
    """The hub's trust document with Pod Identity off (False) and on (True): a !Sub whose
    variable ``PodIdentity`` is an !If between an extra statement and nothing."""
    text, variables = value["Fn::Sub"]
    condition, extra, nothing = variables["PodIdentity"]["Fn::If"]
    assert condition == "TrustPodIdentity" and nothing == ""
    return {
        on: json.loads(text.replace("${PodIdentity}", extra["Fn::Sub"] if on else ""))
        for on in (False, True)
    }


def test_hub_role_trusts_only_the_charts_service_account_through_irsa() -> None:
    variants = _trust_variants(role("hub-role.yaml", "HubRole")["AssumeRolePolicyDocument"])
    (statement,) = variants[False]["Statement"]
    assert variants[True]["Statement"][0] == statement
    pod_identity = variants[True]["Statement"][1]
    assert pod_identity["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert pod_identity["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert pod_identity["Condition"] == {
        "StringEquals": {
            "aws:RequestTag/kubernetes-namespace": "${Namespace}",
            "aws:RequestTag/kubernetes-service-account": "${ServiceAccountName}",
        }
    }
    federated = "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/${OidcProvider}"
    assert statement["Principal"] == {"Federated": federated}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "${OidcProvider}:sub": "system:serviceaccount:${Namespace}:${ServiceAccountName}",
            "${OidcProvider}:aud": "sts.amazonaws.com",
        }
    }


def test_member_roles_are_a_service_managed_auto_deployed_stackset() -> None:
    stackset = template("member-stackset.yaml")["Resources"]["MemberRoles"]
    properties = stackset["Properties"]
    assert stackset["Type"] == "AWS::CloudFormation::StackSet"
    assert properties["PermissionModel"] == "SERVICE_MANAGED"
    assert properties["AutoDeployment"]["Enabled"] is True
    (group,) = properties["StackInstancesGroup"]
    assert group["DeploymentTargets"] == {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}}
    passed = {p["ParameterKey"] for p in properties["Parameters"]}
    assert passed == set(template("member-role.yaml")["Parameters"])


def _cfn_lint() -> str:
    return require_tool("cfn-lint", TEST_EXTRA)


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run(
        [_cfn_lint(), *(str(IAM / name) for name in TEMPLATES)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the Terraform module --------------------------------------------------------------------


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals; drop them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    return value


def terraform(module: Path | None = None) -> dict[str, Any]:
    """A Terraform module's blocks (every ``.tf`` file of it merged): the IAM module by default."""
    merged: dict[str, Any] = {}
    for path in sorted((module or IAM / "terraform").glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            for key, blocks in hcl2.load(handle).items():
                merged.setdefault(key, []).extend(blocks)
    return merged


def tf_resource(module: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    for block in module["resource"]:
        labels = {_unquote(k): v for k, v in block.items()}
        named = {_unquote(k): v for k, v in labels.get(kind, {}).items()}
        if name in named:
            found: dict[str, Any] = named[name]
            return found
    raise AssertionError(f"no {kind}.{name}")


def test_terraform_grants_the_same_actions() -> None:
    module = terraform()
    local = {k: _unquote(v) for block in module["locals"] for k, v in block.items()}
    assert sorted(local["account_read_actions"]) == sorted(ACCOUNT_READS)
    organizations = {a for a in HUB_ONLY if a.startswith("organizations:")}
    assert sorted(local["organization_read_actions"]) == sorted(organizations)
    hub = str(tf_resource(module, "aws_iam_role_policy", "hub")["policy"])
    assert "local.organization_read_actions" in hub
    assert '"sts:AssumeRole"' in hub
    assert "role/${var.member_role_name}" in hub
    assert "local.account_read_actions" in str(
        tf_resource(module, "aws_iam_role_policy", "hub_read")["policy"]
    )
    assert sorted(local["event_queue_actions"]) == sorted(EVENT_QUEUE_ACTIONS)
    events = tf_resource(module, "aws_iam_role_policy", "hub_events")
    assert "local.event_queue_actions" in str(events["policy"])
    assert "var.event_queue_arns" in str(events["policy"])
    assert "length(var.event_queue_arns)" in str(events["count"])
    trust = str(tf_resource(module, "aws_iam_role", "hub")["assume_role_policy"])
    assert "sts:AssumeRoleWithWebIdentity" in trust
    assert "var.eks_pod_identity" in trust and "pods.eks.amazonaws.com" in trust
    assert "system:serviceaccount:${var.namespace}:${var.service_account_name}" in trust
    kinds = {_unquote(k) for block in module["resource"] for k in block}
    policies = kinds & {"aws_iam_role_policy_attachment", "aws_iam_policy_attachment"}
    assert not policies, "no managed policy is attached"


def test_terraform_deploys_the_cloudformation_member_role_as_a_stackset() -> None:
    module = terraform()
    stackset = tf_resource(module, "aws_cloudformation_stack_set", "member")
    assert _unquote(stackset["permission_model"]) == "SERVICE_MANAGED"
    assert "../member-role.yaml" in stackset["template_body"]
    assert stackset["auto_deployment"][0]["enabled"] is True
    parameters = stackset["parameters"]
    assert {_unquote(k) for k in parameters} == set(template("member-role.yaml")["Parameters"])
    instance = tf_resource(module, "aws_cloudformation_stack_set_instance", "member")
    targets = instance["deployment_targets"][0]["organizational_unit_ids"]
    assert "var.organizational_unit_ids" in targets
