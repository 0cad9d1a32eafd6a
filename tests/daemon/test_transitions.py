"""Transitions between scans: a table of status sequences and the alerts each scan must raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

from scanner.daemon.transitions import (
    RULE_KINDS,
    AlertmanagerAlert,
    Kind,
    Outcome,
    PairKey,
    Track,
    Transition,
    advance,
)
from scanner.model import Finding, Link, Status
from scanner.testing import synthetic_finding

P, F, E = Status.PASS, Status.FAIL, Status.ERROR
ACCOUNT, OTHER = "111111111111", "222222222222"
RULE = "root-account-usage"


def finding(status: Status, account: str = ACCOUNT, rule: str = RULE) -> Finding:
    return synthetic_finding(status, account, rule, Link.FILTER)


def at(n: int) -> str:
    return f"2024-05-01T00:{n:02d}:00.000000Z"


@dataclass
class Run:
    """Feeds scans one after another the way the store does."""

    error_after_scans: int = 3
    tracks: Mapping[PairKey, Track] | None = None
    accounts: Mapping[str, str] | None = None
    n: int = 0

    def scan(
        self, findings: Sequence[Finding], accounts: Mapping[str, str] | bool = True
    ) -> Outcome:
        listing: Mapping[str, str] | None
        if accounts is True:
            listing = {f.account_id: f.account_name for f in findings}
        elif accounts is False:
            listing = None
        else:
            listing = accounts
        self.n += 1
        outcome = advance(
            self.tracks or {},
            self.accounts or {},
            findings,
            listing,
            scan=at(self.n) + "/start",
            at=at(self.n),
            error_after_scans=self.error_after_scans,
            baseline=self.tracks is None,
        )
        self.tracks, self.accounts = outcome.tracks, outcome.accounts
        return outcome


def kinds(transitions: Sequence[Transition]) -> list[tuple[Kind, Status | None, Status | None]]:
    return [(t.kind, t.from_status, t.to_status) for t in transitions]


# name, error_after_scans, the statuses of one (account, rule) scan after scan (the first is the
# baseline), and per scan the transitions expected.
CASES: list[tuple[str, int, list[Status], list[list[tuple[Kind, Status | None, Status]]]]] = [
    ("pass stays pass", 3, [P, P, P], [[], [], []]),
    ("pass to fail", 3, [P, F], [[], [(Kind.FAILED, P, F)]]),
    ("fail to pass", 3, [F, P], [[], [(Kind.RESOLVED, F, P)]]),
    ("fail stays fail: said once", 3, [P, F, F, F], [[], [(Kind.FAILED, P, F)], [], []]),
    (
        "flapping is every change",
        3,
        [P, F, P, F],
        [[], [(Kind.FAILED, P, F)], [(Kind.RESOLVED, F, P)], [(Kind.FAILED, P, F)]],
    ),
    ("baseline failure is silent", 3, [F, F], [[], []]),
    ("transient error is not news", 3, [P, E, E, P], [[], [], [], []]),
    ("a new error streak starts from zero", 3, [P, E, E, P, E, E], [[]] * 6),
    (
        "error lasting K scans, once",
        3,
        [P, E, E, E, E],
        [[], [], [], [(Kind.ERRORED, P, E)], []],
    ),
    ("K=1: error at once", 1, [P, E], [[], [(Kind.ERRORED, P, E)]]),
    ("error while failing", 2, [F, E, E], [[], [], [(Kind.ERRORED, F, E)]]),
    ("error from the start", 2, [E, E, E], [[], [(Kind.ERRORED, None, E)], []]),
    (
        "announced error back to pass",
        2,
        [P, E, E, P],
        [[], [], [(Kind.ERRORED, P, E)], [(Kind.RECOVERED, E, P)]],
    ),
    (
        "announced error back to fail",
        2,
        [P, E, E, F],
        [[], [], [(Kind.ERRORED, P, E)], [(Kind.RECOVERED, E, F)]],
    ),
    ("transient error then fail", 3, [P, E, F], [[], [], [(Kind.FAILED, P, F)]]),
    ("transient error while failing, then pass", 3, [F, E, P], [[], [], [(Kind.RESOLVED, F, P)]]),
]


@pytest.mark.parametrize(
    ("k", "statuses", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_status_sequences(
    k: int, statuses: list[Status], expected: list[list[tuple[Kind, Status | None, Status]]]
) -> None:
    run = Run(error_after_scans=k)
    seen = [kinds(run.scan([finding(s)]).transitions) for s in statuses]
    assert seen == expected


def test_the_table_covers_every_rule_kind_and_the_cases_exercise_it() -> None:
    exercised = {kind for case in CASES for scan in case[3] for kind, _, _ in scan}
    assert exercised == set(RULE_KINDS.values())
    account_kinds = {Kind.ACCOUNT_APPEARED, Kind.ACCOUNT_DISAPPEARED}
    assert set(RULE_KINDS.values()) | account_kinds == set(Kind)


def test_a_new_rule_failing_on_a_known_account_is_announced() -> None:
    run = Run()
    run.scan([finding(P)])
    outcome = run.scan([finding(P), finding(F, rule="iam-policy-changes")])
    assert kinds(outcome.transitions) == [(Kind.FAILED, None, F)]
    assert outcome.transitions[0].previous is None
    assert outcome.transitions[0].finding == finding(F, rule="iam-policy-changes")


def test_a_new_account_appears_with_its_failing_rules() -> None:
    run = Run()
    run.scan([finding(P)])
    outcome = run.scan([finding(P), finding(P, OTHER), finding(F, OTHER, "iam-policy-changes")])
    assert kinds(outcome.transitions) == [
        (Kind.ACCOUNT_APPEARED, None, None),
        (Kind.FAILED, None, F),
    ]
    appeared = outcome.transitions[0]
    assert (appeared.account_id, appeared.rule) == (OTHER, None)
    assert appeared.detail == "account appeared: 2 rules evaluated: 1 PASS, 1 FAIL"


def test_an_account_leaving_the_listing_disappears_and_its_tracks_go() -> None:
    run = Run()
    run.scan([finding(P), finding(F, OTHER)])
    outcome = run.scan([finding(P)])
    assert kinds(outcome.transitions) == [(Kind.ACCOUNT_DISAPPEARED, None, None)]
    assert outcome.transitions[0].account_name == f"name-{OTHER}"
    assert set(outcome.tracks) == {(ACCOUNT, RULE)}
    assert set(outcome.accounts) == {ACCOUNT}
    # its failing control is resolved in Alertmanager
    assert [(a.account_id, a.ends_at) for a in outcome.alerts] == [(OTHER, at(2))]


def test_the_baseline_announces_no_account() -> None:
    outcome = Run().scan([finding(P), finding(F, OTHER)])
    assert outcome.transitions == []
    assert outcome.accounts == {ACCOUNT: f"name-{ACCOUNT}", OTHER: f"name-{OTHER}"}


def test_an_account_listed_without_findings_still_counts_as_present() -> None:
    run = Run()
    run.scan([finding(P)], accounts={ACCOUNT: "a", OTHER: "b"})
    outcome = run.scan([finding(P)], accounts={ACCOUNT: "a", OTHER: "b"})
    assert outcome.transitions == []
    assert set(outcome.accounts) == {ACCOUNT, OTHER}


def test_when_the_listing_failed_nobody_disappears_and_tracks_stand() -> None:
    run = Run()
    run.scan([finding(P), finding(F, OTHER)])
    outcome = run.scan([], accounts=False)
    assert outcome.transitions == []
    assert set(outcome.tracks) == {(ACCOUNT, RULE), (OTHER, RULE)}
    assert [(a.account_id, a.ends_at) for a in outcome.alerts] == [(OTHER, None)]


def test_a_rule_dropped_from_the_profile_goes_silently() -> None:
    run = Run()
    run.scan([finding(P), finding(P, rule="iam-policy-changes")])
    outcome = run.scan([finding(P)])
    assert outcome.transitions == []
    assert set(outcome.tracks) == {(ACCOUNT, RULE)}


def test_keys_are_stable_for_the_same_scan_and_new_for_another() -> None:
    first, again = Run(), Run()
    for run in (first, again):
        run.scan([finding(P), finding(P, OTHER)])
    a = first.scan([finding(F), finding(F, OTHER)]).transitions
    b = again.scan([finding(F), finding(F, OTHER)]).transitions
    assert [t.key for t in a] == [t.key for t in b]
    assert len({t.key for t in a}) == 2
    assert all(len(t.key) == 64 for t in a)
    first.scan([finding(P), finding(P, OTHER)])
    later = first.scan([finding(F), finding(F, OTHER)]).transitions
    assert not {t.key for t in later} & {t.key for t in a}


def test_transitions_round_trip_through_json() -> None:
    run = Run()
    run.scan([finding(P)])
    (t,) = run.scan([finding(F)]).transitions
    assert Transition.from_json(t.to_json()) == t
    assert t.previous == finding(P)


def alerts(outcome: Outcome) -> list[tuple[str, str, str | None]]:
    return [(a.rule, a.starts_at, a.ends_at) for a in outcome.alerts]


def test_alertmanager_fires_every_scan_while_failing_and_resolves_once() -> None:
    run = Run()
    assert alerts(run.scan([finding(P)])) == []
    assert alerts(run.scan([finding(F)])) == [(RULE, at(2), None)]
    assert alerts(run.scan([finding(F)])) == [(RULE, at(2), None)]
    assert alerts(run.scan([finding(E)])) == [(RULE, at(2), None)]  # transient: still failing
    assert alerts(run.scan([finding(P)])) == [(RULE, at(2), at(5))]
    assert alerts(run.scan([finding(P)])) == []


def test_alertmanager_gets_the_failures_of_the_baseline() -> None:
    outcome = Run().scan([finding(F), finding(P, OTHER)])
    assert outcome.alerts == [
        AlertmanagerAlert(
            account_id=ACCOUNT,
            account_name=f"name-{ACCOUNT}",
            rule=RULE,
            title=f"title of {RULE}",
            severity="high",
            reason=f"{RULE} is FAIL",
            starts_at=at(1),
            broken_link="filter",
        )
    ]


def test_an_announced_error_resolves_the_failure_alert() -> None:
    run = Run(error_after_scans=1)
    run.scan([finding(F)])
    assert alerts(run.scan([finding(E)])) == [(RULE, at(1), at(2))]
