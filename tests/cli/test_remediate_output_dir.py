"""``scanner remediate --output-dir DIR``: the fixes as files, a directory per account, the same
texts the command prints without it, a script ready to run; a place that cannot hold them is
refused before any work. And what ``scanner remediate --help`` says of the formats."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from cli_run import nacl_gaps_inventory, one_error_line, run
from tools import require_tool

from scanner.testing.builders import MANAGEMENT_ACCOUNT_ID as MANAGEMENT


def test_the_fixes_are_written_a_directory_per_account_as_they_would_be_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = nacl_gaps_inventory(tmp_path)
    code, printed, _ = run(capsys, "remediate", "--inventory", inventory, "--format", "terraform")
    assert code == 0
    out_dir = tmp_path / "fixes"
    for _ in range(2):  # a second run replaces the files
        code, out, _ = run(
            capsys, "remediate", "--inventory", inventory, "--format", "terraform",
            "--output-dir", str(out_dir),
        )  # fmt: skip
        assert code == 0
    files = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
    assert files == [f"{MANAGEMENT}/{MANAGEMENT}.tf"]  # the fix acts in the management account
    text = (out_dir / files[0]).read_text()
    assert f"# ==== {MANAGEMENT}.tf\n{text.rstrip()}\n" in printed  # the same document
    assert not (out_dir / files[0]).stat().st_mode & 0o111  # a configuration, not a program
    assert f"# wrote {out_dir / files[0]}" in out
    assert "nacl-changes" in out and out.rstrip().endswith("failing findings to fix")
    assert "resource " not in out  # the documents went to the files


def test_cloudformation_templates_go_one_per_region_into_the_accounts_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "new" / "fixes"  # made as needed
    inventory = nacl_gaps_inventory(tmp_path)
    args = ("--format", "cloudformation", "--output-dir", str(out_dir))
    code, _, _ = run(capsys, "remediate", "--inventory", inventory, *args)
    assert code == 0
    written = sorted(p.name for p in (out_dir / MANAGEMENT).iterdir())
    assert written == [f"{MANAGEMENT}-us-east-1.json"]


def test_an_output_dir_that_is_a_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    code, _, err = run(
        capsys, "remediate", "--inventory", nacl_gaps_inventory(tmp_path),
        "--output-dir", str(taken),
    )  # fmt: skip
    assert code == 2
    assert one_error_line(err) == f"scanner: error: --output-dir {taken}: not a directory"


def test_the_default_script_is_written_executable_and_runs_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "fixes"
    args = ("--inventory", nacl_gaps_inventory(tmp_path), "--output-dir", str(out_dir))
    code, _, _ = run(capsys, "remediate", *args)  # the default format: cli
    assert code == 0
    script = out_dir / MANAGEMENT / f"{MANAGEMENT}.sh"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert script.read_text().splitlines()[:2] == ["#!/usr/bin/env bash", "set -euo pipefail"]
    # Run as a program (its shebang, its mode) against an aws that fails: it stops there.
    require_tool("bash", "apt-get install bash")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "aws.log"
    (bin_dir / "aws").write_text(f'#!/usr/bin/env bash\necho "$*" >> {log}\nexit 3\n')
    (bin_dir / "aws").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(script)], env=env, check=False, timeout=60)
    assert result.returncode == 3
    (ran,) = log.read_text().splitlines()  # one command, not the ones after it
    assert ran.startswith("logs put-metric-filter")


def test_help_says_the_formats_and_that_cli_is_the_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "remediate", "--help")
    assert code == 0
    about = " ".join(out[out.index("\n  --format FORMAT") :].split())  # its option's line
    assert about.startswith(
        "--format FORMAT console, cli, terraform, cloudformation (default: cli, a bash script"
    )
