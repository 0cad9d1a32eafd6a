"""``--stuck-after``: an alarm sitting in ALARM longer than this breaks its chain, in ``evaluate``
and ``remediate`` alike; a bad duration is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import one_error_line, run
from evaluate.stuck_alarm import RULE, alarm_in_alarm_for_three_hours

from scanner.report.compact import expand


def saved(directory: Path) -> str:
    """One account whose alarm has been in ALARM for 3 hours when the scan read it."""
    inventory = alarm_in_alarm_for_three_hours()
    path = directory / "inventory.json"
    path.write_text(json.dumps(inventory.to_json()))
    return str(path)


@pytest.mark.parametrize(("option", "status"), [((), "PASS"), (("--stuck-after", "1h"), "FAIL")])
def test_evaluate_judges_an_alarm_stuck_in_alarm_after_the_given_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: tuple[str, ...], status: str
) -> None:
    inventory = saved(tmp_path)
    code, out, _ = run(
        capsys, "evaluate", "--inventory", inventory, "--rules", RULE, "--format", "json", *option
    )
    (finding,) = expand(json.loads(out))["findings"]
    assert finding["status"] == status
    if status == "FAIL":
        assert finding["broken_link"] == "alarm_condition"
        assert "more than 1 h before the scan" in finding["reason"]
    code, out, _ = run(capsys, "remediate", "--inventory", inventory, *option)
    assert code == 0
    assert (f") {RULE}: " in out) == (status == "FAIL")  # its fix is listed only when it fails


def test_a_bad_duration_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "evaluate", "--inventory", saved(tmp_path), "--stuck-after", "0s")
    assert code == 2
    assert one_error_line(err) == (
        "scanner: error: argument --stuck-after: '0s': must be more than 0 "
        "(see 'scanner evaluate --help')"
    )
