"""The rule for a missing program (tests/tools.py): fail in CI naming its installer, else skip."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tools import PROMETHEUS_SCRIPT, require_tool

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
NOWHERE = "scanner-test-no-such-program"


def test_a_missing_tool_fails_in_ci_naming_the_install_script(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        require_tool(NOWHERE, PROMETHEUS_SCRIPT)
    assert f"{NOWHERE} not found: run .ci/install-prometheus.sh" in str(failed.value)


@pytest.mark.parametrize("ci", [None, "false", ""])
def test_a_missing_tool_skips_elsewhere_with_the_same_message(
    monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_tool(NOWHERE, PROMETHEUS_SCRIPT)
    assert str(skipped.value) == f"{NOWHERE} not found: run .ci/install-prometheus.sh"


def test_a_present_tool_is_found_by_any_of_its_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    found = require_tool(NOWHERE, PROMETHEUS_SCRIPT, "sh")
    assert Path(found).name == "sh"


def test_ci_runs_the_tests_with_ci_set() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    exported = script.index("\nexport CI=true\n")
    assert exported < script.index("python -m pytest")


def test_no_test_looks_for_a_program_or_at_ci_on_its_own() -> None:
    """One rule for every test: a per-file check would skip in CI where the rule fails."""
    own = re.compile(r"shutil\.which\(|environ\.get\(\"CI\"|skipif\(|importorskip\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name not in ("tools.py", "test_tools.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if own.search(line)
    ]
    assert offenders == []
