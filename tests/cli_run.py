"""Running the command line in a test: exit code and captured output, one-line errors."""

from __future__ import annotations

import pytest

from scanner.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """The single ``scanner: error: ...`` line a command that cannot run must print."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("scanner: error: ")
    assert "Traceback" not in err
    return lines[0]
