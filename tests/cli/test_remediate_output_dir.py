"""``scanner remediate --output-dir DIR``: the fixes as files, a directory per account, the same
texts the command prints without it; a place that cannot hold them is refused before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import nacl_gaps_inventory, one_error_line, run

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
