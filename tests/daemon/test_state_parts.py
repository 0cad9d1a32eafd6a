"""The state keeps each distinct verdict, chain and fix once, and reads older files."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from daemon.test_state import rows

from scanner.daemon.config import WebhookConfig
from scanner.daemon.parts import OWN_COLUMNS
from scanner.daemon.state import MIGRATIONS, StateStore
from scanner.daemon.transitions import Kind
from scanner.errors import StateError
from scanner.model import Finding, Link, LinkResult, LinkStatus, Status
from scanner.report.compact import OWN
from scanner.testing import synthetic_finding

RULE = "root-account-usage"
T0 = datetime(2024, 5, 1, tzinfo=UTC)
HOOK = WebhookConfig(name="hook", url="http://127.0.0.1:1/hook", secret_env="UNUSED")
ACCOUNTS = tuple(f"{n:012d}" for n in range(100, 150))  # 50 members
MANY = tuple(f"{n:012d}" for n in range(1000, 1400))
TRAIL = LinkResult(Link.TRAIL, LinkStatus.OK, "arn:aws:cloudtrail:us-east-1:1:trail/org", "1")


def member(account: str, status: Status = Status.FAIL, reason: str = "") -> Finding:
    """A member's finding decided by the organization trail: the chain, fix and reason every
    member shares."""
    alarm = LinkResult(Link.ALARM, LinkStatus.BROKEN, "no alarm", "1", "us-east-1", "missing")
    found = synthetic_finding(
        status, account, RULE, Link.ALARM, remediation={"cli": "aws cloudwatch put-metric-alarm"}
    )
    return dataclasses.replace(
        found,
        chain=(TRAIL, alarm) if status is Status.FAIL else (TRAIL,),
        reason=reason or found.reason,
        controls={"cis-5.0": "4.3"},
        patterns=("{ $.userIdentity.type = Root }",),
    )


def scan(store: StateStore, n: int, findings: list[Finding]) -> list[Kind]:
    transitions = store.record_scan(
        findings,
        {f.account_id: f.account_name for f in findings},
        started=T0 + timedelta(hours=n),
        finished=T0 + timedelta(hours=n, minutes=5),
        error_after_scans=3,
        targets=(HOOK,),
    )
    return [t.kind for t in transitions]


def parts(path: Path) -> dict[str, int]:
    """How many verdicts, chains and fixes the file holds."""
    return {
        str(k): int(str(n))
        for k, n in rows(path, "SELECT kind, COUNT(*) FROM verdict_parts GROUP BY kind")
    }


def test_the_store_keeps_a_findings_own_fields_and_compact_reports_agree() -> None:
    assert OWN_COLUMNS == OWN


def test_findings_that_share_a_verdict_store_it_once_and_read_back_equal_and_shared(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    findings = [member(a) for a in ACCOUNTS]
    findings[0] = dataclasses.replace(findings[0], suppressed=True, suppression="until 2030")
    with StateStore.open(path) as store:
        scan(store, 1, findings)
    assert parts(path) == {"verdict": 1, "chain": 1, "fix": 1}
    assert rows(path, "SELECT COUNT(DISTINCT verdict), COUNT(*) FROM tracks") == [(1, 50)]
    with StateStore.open(path) as store:
        back = store.last_findings()
    assert [back[(a, RULE)] for a in ACCOUNTS] == findings
    first, second, third = (back[(a, RULE)] for a in ACCOUNTS[:3])
    assert (first.suppressed, first.suppression) == (True, "until 2030")
    assert second.chain is third.chain and second.remediation is third.remediation
    assert second.reason is third.reason and second.controls is third.controls
    assert second.rule is third.rule and second.patterns is third.patterns


def test_parts_no_longer_named_are_pruned_and_the_history_keeps_its_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    with StateStore.open(path) as store:
        assert scan(store, 1, [member(a, reason="first reason") for a in ACCOUNTS]) == []
        assert scan(store, 2, [member(a, reason="second reason") for a in ACCOUNTS]) == []
        # the first scan's verdict is named by nothing now; its chain and fix by the second's
        assert parts(path) == {"verdict": 1, "chain": 1, "fix": 1}
        passing = [member(a, Status.PASS) for a in ACCOUNTS]
        resolved = scan(store, 3, passing)
        assert resolved == [Kind.RESOLVED] * 50
        # the history names the failing verdict (each RESOLVED's previous finding): kept
        assert parts(path) == {"verdict": 2, "chain": 2, "fix": 1}
        history = store.history(account_id=ACCOUNTS[0])
        assert [(t.previous, t.finding) for t in history] == [
            (member(ACCOUNTS[0], reason="second reason"), passing[0])
        ]
        (item, *_) = store.pending("hook", now=1e12)
        assert item.transition() == history[0]  # the outbox names the history's, by its key
        assert rows(path, f"SELECT payload FROM outbox WHERE id = {item.id}") == [("{}",)]
        # the history's two and the tracks' one; then that one is replaced, and pruned
        scan(store, 4, [member(a, Status.PASS, reason="still passing") for a in ACCOUNTS])
        assert parts(path) == {"verdict": 3, "chain": 2, "fix": 1}
        scan(store, 5, [member(a, Status.PASS, reason="passing again") for a in ACCOUNTS])
        assert parts(path) == {"verdict": 3, "chain": 2, "fix": 1}
        assert rows(path, "SELECT COUNT(DISTINCT verdict) FROM tracks") == [(1,)]


def test_a_commit_of_some_accounts_leaves_the_pruning_to_the_next_whole_scan(
    tmp_path: Path,
) -> None:
    """An event's commit (no listing) does not read every track to prune; the scan does."""
    path = tmp_path / "state.db"
    changed = [member(a, reason="after the event") for a in ACCOUNTS]
    with StateStore.open(path) as store:
        scan(store, 1, [member(a) for a in ACCOUNTS])
        store.record_scan(
            changed,
            None,
            started=T0 + timedelta(hours=2),
            finished=T0 + timedelta(hours=2),
            error_after_scans=3,
            targets=(),
        )
        assert parts(path) == {"verdict": 2, "chain": 1, "fix": 1}
        scan(store, 3, changed)
        assert parts(path) == {"verdict": 1, "chain": 1, "fix": 1}
    with StateStore.open(path) as store:
        assert store.last_findings() == {(f.account_id, RULE): f for f in changed}


def test_an_account_gone_takes_its_parts_along(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    own = synthetic_finding(Status.PASS, "999999999999", RULE)
    with StateStore.open(path) as store:
        scan(store, 1, [member(ACCOUNTS[0], Status.PASS), own])
        assert parts(path) == {"verdict": 2, "chain": 1, "fix": 1}
        assert scan(store, 2, [member(ACCOUNTS[0], Status.PASS)]) == [Kind.ACCOUNT_DISAPPEARED]
        assert parts(path) == {"verdict": 1, "chain": 1, "fix": 1}


def test_a_track_naming_a_part_the_file_lacks_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore.open(path) as store:
        scan(store, 1, [member(ACCOUNTS[0])])
    db = sqlite3.connect(path)
    db.execute("DELETE FROM verdict_parts WHERE kind = 'chain'")
    db.commit()
    db.close()
    with pytest.raises(StateError, match=r"names a chain '[0-9a-f]{16}' it does not hold"):
        StateStore.open(path)


def schema_2_file(path: Path, findings: list[Finding]) -> None:
    """A state file as the scanner of schema 2 wrote it: a full finding per track (zlib JSON,
    or JSON text as written before compression), full findings in the history."""
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:2]:
        for statement in filter(str.strip, script.split(";")):
            db.execute(statement)
    db.execute("PRAGMA user_version=2")
    db.execute("BEGIN")
    db.execute(
        "INSERT INTO scans (scan, started, finished, accounts, passed, failed, errored,"
        " transitions) VALUES ('2024-05-01T00:00:00.000000Z', ?, ?, ?, 0, ?, 0, 1)",
        (T0.timestamp(), T0.timestamp(), len(findings), len(findings)),
    )
    for number, found in enumerate(findings):
        text = json.dumps(found.to_json())
        stored = text if number == 0 else zlib.compress(text.encode())
        db.execute(
            "INSERT INTO tracks (account_id, rule, status, streak, announced, announced_since,"
            " finding) VALUES (?, ?, 'FAIL', 0, 'FAIL', '2024-05-01T00:05:00.000000Z', ?)",
            (found.account_id, found.rule, stored),
        )
        db.execute("INSERT INTO accounts VALUES (?, ?)", (found.account_id, found.account_name))
    body = {
        "kind": "failed",
        "key": "k1",
        "scan": "2024-05-01T00:00:00.000000Z",
        "at": "2024-05-01T00:05:00.000000Z",
        "account_id": findings[0].account_id,
        "account_name": findings[0].account_name,
        "rule": RULE,
        "from_status": None,
        "to_status": "FAIL",
        "finding": findings[0].to_json(),
        "previous": None,
        "detail": "",
    }
    db.execute(
        "INSERT INTO transitions (scan_id, key, kind, account_id, rule, from_status, to_status,"
        " at, body) VALUES (1, 'k1', 'failed', ?, ?, NULL, 'FAIL', ?, ?)",
        (findings[0].account_id, RULE, body["at"], json.dumps(body)),
    )
    db.execute(
        "INSERT INTO outbox (target, kind, key, payload, created, next_attempt)"
        " VALUES ('hook', 'transition', 'k1', ?, 0, 0)",
        (json.dumps({"transition": body}),),
    )
    db.execute("COMMIT")
    db.close()


def test_a_file_of_the_schema_before_is_moved_to_the_parts_and_shrinks(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    findings = [member(a) for a in MANY]
    schema_2_file(path, findings)
    before = path.stat().st_size
    with StateStore.open(path) as store:
        assert path.stat().st_size < before / 2  # the full findings' pages given back
        back = store.last_findings()
        assert [back[(a, RULE)] for a in MANY] == findings
        assert back[(MANY[0], RULE)].chain is back[(MANY[1], RULE)].chain
        (old,) = store.history()
        assert (old.kind, old.finding) == (Kind.FAILED, findings[0])
        (owed,) = store.pending("hook", now=1e12)  # enqueued by the scanner before, still owed
        assert owed.transition() == old
        # the tracks carry on as they were: announced FAIL, so a PASS resolves
        assert scan(store, 2, [member(a, Status.PASS) for a in MANY]) == [Kind.RESOLVED] * len(MANY)
    tables = {name for (name,) in rows(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert "old_tracks" not in tables
    assert rows(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    with StateStore.open(path) as store:
        assert store.last_findings() == {(a, RULE): member(a, Status.PASS) for a in MANY}
        assert len(store.history(limit=1000)) == len(MANY) + 1
