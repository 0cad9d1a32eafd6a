"""Trying ``evaluate`` and ``remediate`` without AWS: the demo saves its inventory
(``demo --save-inventory``) and ``remediate --demo`` fixes the demo organization."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_run import one_error_line, run

from scanner.cli import main
from scanner.testing import emulation

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(emulation.MOTO_ERROR_SHAPE_WARNING)]

QA_SANDBOX = "210000000012"  # its topic has no confirmed subscriber: nine failing findings


@dataclass(frozen=True)
class Demo:
    code: int
    inventory: Path
    report: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One ``scanner demo --save-inventory FILE --format json --output FILE`` for the module."""
    directory = tmp_path_factory.mktemp("demo")
    inventory, report = directory / "inventory.json", directory / "report.json"
    argv = ["demo", "--save-inventory", str(inventory), "--format", "json", "--output", str(report)]
    return Demo(main(argv), inventory, report)


def test_the_demo_saves_the_inventory_scan_save_inventory_writes(demo: Demo) -> None:
    assert demo.code == 1  # the demo fails on purpose
    saved = json.loads(demo.inventory.read_text())
    reported = json.loads(demo.report.read_text())
    assert {a["id"] for a in saved["accounts"]} >= {f["account_id"] for f in reported["findings"]}
    assert saved["collected_at"]


def test_evaluate_on_the_saved_inventory_gives_the_demos_findings(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "evaluate", "--inventory", str(demo.inventory), "--format", "json")
    assert code == 1
    evaluated = json.loads(out)
    reported = json.loads(demo.report.read_text())
    assert evaluated["findings"] == reported["findings"]
    assert len(evaluated["findings"]) == reported["summary"]["findings"] > 0
    for status in ("PASS", "FAIL", "ERROR"):
        assert evaluated["summary"][status] == reported["summary"][status]


def test_remediate_demo_prints_the_fixes_of_the_saved_demo_inventory(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, saved, err = run(
        capsys, "remediate", "--inventory", str(demo.inventory), "--account", QA_SANDBOX
    )
    assert (code, err) == (0, "")
    code, direct, err = run(capsys, "remediate", "--demo", "--account", QA_SANDBOX)
    assert (code, err) == (0, "")
    assert direct == saved
    assert direct.splitlines()[-1] == "# 9 failing findings to fix"
    assert "aws sns subscribe --region us-east-1" in direct


def test_remediate_takes_the_demo_or_an_inventory_not_both(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "remediate", "--demo", "--inventory", str(demo.inventory))
    assert (code, out) == (2, "")
    assert "argument --inventory: not allowed with argument --demo" in one_error_line(err)


def test_an_unwritable_save_inventory_fails_before_the_demo_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*_: object, **__: object) -> None:
        raise AssertionError("the demo ran")

    monkeypatch.setattr("scanner.testing.demo.run", never)
    code, out, err = run(capsys, "demo", "--save-inventory", str(tmp_path / "no" / "inv.json"))
    assert (code, out) == (2, "")
    assert one_error_line(err) == (
        f"scanner: error: --save-inventory {tmp_path / 'no' / 'inv.json'}: cannot write there"
    )
    code, out, err = run(capsys, "demo", "--serve", "--save-inventory", str(tmp_path / "i.json"))
    assert (code, out) == (2, "")
    assert "--serve reports none" in one_error_line(err)


def test_the_demo_says_what_it_wrote_unless_quiet(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory, report = tmp_path / "inventory.json", tmp_path / "report.txt"
    code, out, err = run(
        capsys, "demo", "--save-inventory", str(inventory), "--output", str(report)
    )
    assert (code, out) == (1, "")
    accounts = len(json.loads(inventory.read_text())["accounts"])
    every = json.loads(demo.report.read_text())["findings"]
    findings = len(every)
    listed = sum(1 for f in every if f["status"] in ("FAIL", "ERROR"))  # the table's default
    assert 0 < listed < findings
    last = report.read_text().splitlines()[-2]  # the last is the demo's "Demo: ..." line
    assert last.startswith(f"{findings} findings in ")
    assert err.splitlines() == [
        f"scanner: wrote the inventory of {accounts} accounts to {inventory}",
        f"scanner: wrote {findings} findings (table, {listed} listed) to {report}",
    ]
    code, out, err = run(
        capsys, "demo", "-q", "--save-inventory", str(inventory), "--output", str(report)
    )
    assert (code, out, err) == (1, "", "")
    assert report.read_text().splitlines() == [last]
