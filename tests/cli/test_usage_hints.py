"""A mistyped option or choice: one line naming the command's own help and the nearest valid
spelling; and shell completion that knows the catalog's names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_run import one_error_line, run
from tools import require_tool

from scanner.catalog import load_catalog


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ("scan", "--fromat", "json"),
            "unrecognized arguments: --fromat json; did you mean --format? "
            "(see 'scanner scan --help')",
        ),
        (
            ("evaluate", "--inventory", "i.json", "--severty=high"),
            "unrecognized arguments: --severty=high; did you mean --severity? "
            "(see 'scanner evaluate --help')",
        ),
        (
            ("rules", "list", "--xyz"),
            "unrecognized arguments: --xyz (see 'scanner rules list --help')",
        ),
        (
            ("demo", "--format", "jsn"),
            "argument --format: invalid choice: 'jsn' (choose from 'table', 'json', 'csv', "
            "'jsonl', 'ocsf', 'asff', 'junit', 'html'); did you mean 'json'? "
            "(see 'scanner demo --help')",
        ),
        (
            ("scna",),
            "did you mean 'scan'? (see 'scanner --help')",
        ),
    ],
    ids=["option", "option=value", "nothing-close", "choice", "command"],
)
def test_a_mistyped_argument_names_the_commands_help_and_the_nearest_spelling(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], line: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert one_error_line(err).endswith(line)


def _bash_completion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, script, _ = run(capsys, "completion", "bash")
    assert code == 0
    path = tmp_path / "scanner.bash"
    path.write_text(script)
    return path


def test_the_bash_script_offers_rule_ids_control_ids_and_profiles(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = _bash_completion(tmp_path, capsys).read_text()
    catalog = load_catalog()
    profiles = " ".join(p.name for p in catalog.profiles)
    assert f"_shtab_scanner_scan__r_choices=({profiles})" in script
    assert f"_shtab_scanner_evaluate___rules_profile_choices=({profiles})" in script
    for name in ("rules_show_pos_0", "rules_check_pattern_pos_0", "demo___rules"):
        candidates = script.split(f"_shtab_scanner_{name}_choices=(", 1)[1].split(")", 1)[0]
        words = candidates.split()
        assert [rule.id for rule in catalog.rules] == words[: len(catalog.rules)]
        assert {"4.4", "CloudWatch.4", "D9.AWS.MON.04"} <= set(words)


def test_bash_completes_a_rule_a_profile_and_a_severity(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bash = require_tool("bash", "apt-get install bash")
    path = _bash_completion(tmp_path, capsys)

    def complete(*words: str) -> list[str]:
        probe = (
            f"source {path}; COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; "
            "_shtab_scanner; printf '%s\\n' \"${COMPREPLY[@]}\""
        )
        done = subprocess.run([bash, "-c", probe], capture_output=True, text=True, check=True)
        return done.stdout.split()

    assert complete("scanner", "rules", "show", "iam-p") == ["iam-policy-changes"]
    assert complete("scanner", "scan", "-r", "secur") == ["securityhub"]
    assert complete("scanner", "evaluate", "--severity", "hi") == ["high", "high+"]
    assert complete("scanner", "demo", "--rules", "CloudWatch.1") == [
        "CloudWatch.1",
        "CloudWatch.10",
        "CloudWatch.11",
        "CloudWatch.12",
        "CloudWatch.13",
        "CloudWatch.14",
    ]
