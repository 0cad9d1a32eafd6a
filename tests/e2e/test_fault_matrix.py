"""bench/fault_matrix.py runs and gates: one small case of it, end to end, and its judgement.

The benchmark seeds the demo organization (with three members whose topics use customer managed
KMS keys) into moto's server in this process, scans it calm, then under faults injected through
:mod:`scanner.testing.faults`; its exit status says whether any verdict went from PASS to FAIL or
back (a false verdict). Here it runs on its cheapest telling case, 90% of the data plane
throttled, beside the baseline; the whole matrix is run by hand (bench/README.md has its
figures).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.catalog import load_catalog
from scanner.model import Status
from scanner.testing import emulation

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(emulation.MOTO_ERROR_SHAPE_WARNING)]

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(autouse=True)
def _bench_importable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """bench/ is scripts, not a package: on the path for this module, and moto left empty."""
    monkeypatch.syspath_prepend(str(BENCH))
    yield
    emulation.reset()


def test_heavy_data_plane_throttling_makes_errors_and_no_false_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fault_matrix

    figures = tmp_path / "matrix.json"

    code = fault_matrix.main(["--cases", "baseline,throttle-90", "--json", str(figures)])

    assert code == 0
    document = json.loads(figures.read_text())
    calm = document["calm"]
    organization = fault_matrix.ORGANIZATIONS[document["organization"]]
    active = [a for a in organization.accounts if not a.suspended]
    catalog = load_catalog()
    rules = len(catalog.rules_in(catalog.profile()))
    assert calm["passed"] + calm["failed"] + calm["errors"] == len(active) * rules
    assert calm["passed"] and calm["failed"] and calm["false"] == []
    baseline, throttled = document["rows"]
    assert (baseline["case"], throttled["case"]) == ("baseline", "throttle-90")
    counts = ("passed", "failed", "errors", "missing", "gaps", "faults")
    assert [baseline[k] for k in counts] == [calm[k] for k in counts]
    assert throttled["faults"] > 0 and throttled["errors"] > calm["errors"]
    assert throttled["false"] == [] and throttled["gaps"] == 0
    assert document["false_verdicts"] == 0
    table = capsys.readouterr().out
    assert "| case | PASS | FAIL | ERROR |" in table
    assert f"| throttle-90 | {throttled['passed']} | {throttled['failed']} |" in table


def test_a_pass_turned_fail_is_a_false_verdict_and_an_error_is_not() -> None:
    import fault_matrix

    calm = {("a", "r1"): Status.PASS, ("a", "r2"): Status.FAIL, ("a", "r3"): Status.ERROR}
    pressed = {("a", "r1"): Status.FAIL, ("a", "r2"): Status.ERROR, ("a", "r3"): Status.PASS}

    assert fault_matrix.false_verdicts(calm, pressed) == [
        "a r1: PASS -> FAIL",
        "a r3: ERROR -> PASS",
    ]


def test_an_unknown_case_is_refused_with_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    import fault_matrix

    with pytest.raises(SystemExit):
        fault_matrix.main(["--cases", "baseline,flood"])

    error = capsys.readouterr().err
    assert "unknown case(s) flood" in error and "throttle-90-control" in error
