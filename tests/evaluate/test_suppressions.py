"""Suppressions as data: findings + exceptions + today -> findings marked, statuses untouched."""

from __future__ import annotations

from datetime import date

from scanner.evaluate import ANY_RULE, Listed, Suppression, apply_suppressions, unmatched
from scanner.model import Finding, Status
from scanner.testing import synthetic_finding

TODAY = date(2026, 12, 1)
PATHS = {"111111111111": (), "222222222222": ("Workloads", "Production")}


def _finding(
    account: str = "222222222222", rule: str = "nacl-changes", status: Status = Status.FAIL
) -> Finding:
    return synthetic_finding(account_id=account, rule=rule, status=status)


def test_an_account_or_ou_exception_marks_the_finding_and_keeps_its_status() -> None:
    by_ou = Suppression("nacl-changes", "network team owns it", date(2027, 1, 1), ou=("Workloads",))
    [marked] = apply_suppressions([_finding()], [by_ou], TODAY, PATHS)
    assert (marked.status, marked.suppressed) == (Status.FAIL, True)
    assert marked.suppression == "network team owns it (suppressed until 2027-01-01)"
    by_account = Suppression(ANY_RULE, "sandbox", TODAY, account="222222222222")
    [marked] = apply_suppressions([_finding(rule="vpc-changes")], [by_account], TODAY, PATHS)
    assert marked.suppressed  # in effect through its last day


def test_what_does_not_match_is_left_alone() -> None:
    rules = [
        Suppression("vpc-changes", "r", date(2027, 1, 1), account="222222222222"),
        Suppression("nacl-changes", "r", date(2027, 1, 1), account="111111111111"),
        Suppression("nacl-changes", "r", date(2027, 1, 1), ou=("Workloads", "Staging")),
        Suppression("nacl-changes", "r", date(2027, 1, 1), ou=("Production",)),  # not a prefix
    ]
    [finding] = apply_suppressions([_finding()], rules, TODAY, PATHS)
    assert (finding.suppressed, finding.suppression) == (False, None)
    passing = _finding(status=Status.PASS)
    everything = Suppression(ANY_RULE, "r", date(2027, 1, 1), account="222222222222")
    assert apply_suppressions([passing], [everything], TODAY, PATHS) == [passing]


def test_an_expired_exception_suppresses_nothing_and_says_so() -> None:
    old = Suppression(
        "nacl-changes", "until the migration", date(2026, 11, 30), account="222222222222"
    )
    older = Suppression("nacl-changes", "first try", date(2026, 6, 1), ou=("Workloads",))
    [finding] = apply_suppressions([_finding()], [older, old], TODAY, PATHS)
    assert finding.suppressed is False
    assert finding.suppression == "suppression expired on 2026-11-30: until the migration"


def test_the_first_exception_in_effect_wins() -> None:
    first = Suppression("nacl-changes", "first", date(2027, 1, 1), ou=("Workloads",))
    second = Suppression(ANY_RULE, "second", date(2028, 1, 1), account="222222222222")
    expired = Suppression("nacl-changes", "expired", date(2020, 1, 1), account="222222222222")
    [finding] = apply_suppressions([_finding()], [expired, first, second], TODAY, PATHS)
    assert finding.suppression == "first (suppressed until 2027-01-01)"


def test_an_ou_id_exception_covers_the_accounts_below_that_ou_or_root() -> None:
    ids = {"111111111111": ("r-ab12",), "222222222222": ("r-ab12", "ou-ab12-workload1")}
    by_id = Suppression("nacl-changes", "network team", TODAY, ou_id="ou-ab12-workload1")
    below, beside = apply_suppressions(
        [_finding(), _finding(account="111111111111")], [by_id], TODAY, PATHS, ids
    )
    assert (below.suppressed, beside.suppressed) == (True, False)
    assert by_id.where == "OU ou-ab12-workload1"
    by_root = Suppression(ANY_RULE, "everything, for now", TODAY, ou_id="r-ab12")
    assert all(
        f.suppressed
        for f in apply_suppressions(
            [_finding(), _finding(account="111111111111")], [by_root], TODAY, PATHS, ids
        )
    )
    # without the ids (an inventory saved before they were kept) nothing matches by id
    assert not apply_suppressions([_finding()], [by_id], TODAY, PATHS)[0].suppressed


ORGANIZATION = (
    Listed("111111111111", (), ("r-ab12",)),
    Listed(
        "222222222222",
        ("Workloads", "Production"),
        ("r-ab12", "ou-ab12-workload1", "ou-ab12-prod0001"),
    ),
    Listed("333333333333", ("Sandbox",), ("r-ab12", "ou-ab12-sandbox11")),
)


def test_a_suppression_that_can_match_nothing_is_named_with_the_nearest_valid_name() -> None:
    def at(
        line: int,
        rule: str = ANY_RULE,
        account: str | None = None,
        ou: tuple[str, ...] | None = None,
        ou_id: str | None = None,
    ) -> Suppression:
        return Suppression(rule, "r", TODAY, account, ou, ou_id, origin=f"s.yaml: line {line}")

    exceptions = [
        at(2, ou=("Sandboxx",)),
        at(7, account="333333333330"),
        at(12, ou_id="ou-ab12-sandbox12"),
        at(17, ou=("Workloads",), rule="nacl-chnages"),
        at(22, ou=("Workloads", "Production")),  # fine: every one below matches
        at(27, ou_id="r-ab12", rule="vpc-changes"),
        at(32, account="999999999999"),  # nothing close: no guess
    ]
    rules = {"nacl-changes", "vpc-changes"}
    assert unmatched(exceptions, "cis-1.2", rules, ORGANIZATION) == [
        "s.yaml: line 2: ou 'Sandboxx' holds no account of the organization, so it suppresses "
        "nothing; did you mean 'Sandbox'?",
        "s.yaml: line 7: account 333333333330 is not in the organization, so it suppresses "
        "nothing; did you mean '333333333333'?",
        "s.yaml: line 12: ou_id ou-ab12-sandbox12 holds no account of the organization, so it "
        "suppresses nothing; did you mean 'ou-ab12-sandbox11'?",
        "s.yaml: line 17: rule 'nacl-chnages' is not in profile 'cis-1.2', so it suppresses "
        "nothing; did you mean 'nacl-changes'?",
        "s.yaml: line 32: account 999999999999 is not in the organization, so it suppresses "
        "nothing",
    ]
    # Before the organization is listed, only the rules can be checked.
    assert unmatched(exceptions, "cis-1.2", rules) == [
        "s.yaml: line 17: rule 'nacl-chnages' is not in profile 'cis-1.2', so it suppresses "
        "nothing; did you mean 'nacl-changes'?"
    ]
