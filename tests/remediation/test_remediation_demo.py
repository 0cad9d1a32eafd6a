"""The demo organization's whole remediation is valid: Terraform parses with every resource
declared once, every CloudFormation template is cfn-lint clean, no CLI command is written twice.

Before fixes were grouped by cause, the same demo gave 27 copies of ``aws_cloudtrail.main``, 51
CloudFormation templates in one stream, and ``start-logging`` 9 times for one trail.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import hcl2
import pytest
from cli_run import run
from remediation.remediation_cases import cfn_lint, commands, resources

from scanner.model import Finding, Status
from scanner.remediation import AccountRemediation, Document, plan_accounts, render
from scanner.testing import demo, emulation

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(emulation.MOTO_ERROR_SHAPE_WARNING)]


@pytest.fixture(scope="module")
def result() -> demo.DemoResult:
    return demo.run()


@pytest.fixture(scope="module")
def accounts(result: demo.DemoResult) -> tuple[AccountRemediation, ...]:
    return plan_accounts(result.findings)


def failing(result: demo.DemoResult) -> list[Finding]:
    return [f for f in result.findings if f.status is Status.FAIL]


def test_every_failing_finding_is_fixed_in_some_account(
    result: demo.DemoResult, accounts: tuple[AccountRemediation, ...]
) -> None:
    fixed = [(f.account_id, f.rule) for a in accounts for f in a.findings]
    assert sorted(fixed) == sorted((f.account_id, f.rule) for f in failing(result))
    assert len(accounts) < len(fixed)  # grouped: fewer accounts to fix than findings


def test_terraform_is_one_configuration_per_account_declaring_each_resource_once(
    accounts: tuple[AccountRemediation, ...],
) -> None:
    documents = render("terraform", accounts)
    assert [d.name for d in documents] == [f"{a.account_id}.tf" for a in accounts]
    for document in documents:
        parsed = hcl2.loads(document.text)
        addresses = [
            f"{kind}.{label}"
            for entry in parsed.get("resource", [])
            for kind, by_label in entry.items()
            for label in by_label
        ]
        # A fix Terraform cannot declare (a subscription's filter policy) is written as the
        # commands to run, commented: such a configuration may declare nothing.
        assert addresses or "# aws " in document.text, document.name
        assert len(addresses) == len(set(addresses)), document.name
        assert len(resources(parsed)) == len(addresses)
        declared = {name for entry in parsed.get("variable", []) for name in entry}
        for variable in declared:
            assert f"var.{variable.strip(chr(34))}" in document.text
    trails = Counter(
        name.split(".")[0] for d in documents for name in resources(hcl2.loads(d.text))
    )["aws_cloudtrail"]
    assert trails <= len(accounts)


def test_cloudformation_is_one_cfn_lint_clean_template_per_account_and_region(
    accounts: tuple[AccountRemediation, ...], tmp_path: Path
) -> None:
    documents = render("cloudformation", accounts)
    names = [d.name for d in documents]
    assert len(names) == len(set(names))
    possible = {f"{a.account_id}-{c.region}.json" for a in accounts for c in a.resources()}
    templates = [d for d in documents if d.name.endswith(".json")]
    scripts = {d.name for d in documents if d.name.endswith("-commands.sh")}
    # What CloudFormation cannot change (a key's state, a subscription's filter policy) is a
    # script of commands beside the templates; every account gets one or the other.
    assert {d.name for d in templates} <= possible
    assert set(names) == {d.name for d in templates} | scripts
    assert {n.split("-")[0] for n in names} == {a.account_id for a in accounts}
    for document in templates:
        assert json.loads(document.text)["Resources"]
    assert cfn_lint(templates, tmp_path) == ""


def test_no_cli_command_or_console_step_is_written_twice_for_an_account(
    accounts: tuple[AccountRemediation, ...],
) -> None:
    for document in render("cli", accounts):
        found = [tuple(c) for c in commands(document.text)]
        assert found and len(found) == len(set(found)), document.name
    for document in render("console", accounts):
        steps = [line for line in document.text.splitlines() if line[:1].isdigit()]
        assert len(steps) == len(set(steps)), document.name


def sections(out: str) -> list[Document]:
    """The documents ``scanner remediate`` prints, each under ``# ==== <name>``, before the
    closing count."""
    listing = out.rstrip("\n").rsplit("\n\n", 1)[0]
    found = []
    for part in listing.split("\n\n# ==== ")[1:]:
        name, _, text = part.partition("\n")
        found.append(Document(name, text + "\n"))
    return found


def test_scanner_remediate_prints_each_accounts_documents(
    result: demo.DemoResult,
    accounts: tuple[AccountRemediation, ...],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps(result.collected.inventory.to_json()))
    code, out, err = run(
        capsys, "remediate", "--inventory", str(inventory), "--format", "cloudformation"
    )
    assert (code, err) == (0, "")
    printed = sections(out)
    assert printed == list(render("cloudformation", accounts))
    assert out.rstrip().splitlines()[-1].startswith(f"# {len(failing(result))} failing findings")
