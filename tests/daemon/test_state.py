"""The SQLite state: one transaction per scan, restarts that remember, an ordered outbox."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scanner.daemon.config import AlertmanagerConfig, SlackConfig, WebhookConfig
from scanner.daemon.state import MIGRATIONS, StateStore, Target, iso
from scanner.daemon.transitions import Kind, Transition
from scanner.errors import StateError
from scanner.model import Finding, Link, LinkResult, LinkStatus, Status
from scanner.testing import synthetic_finding

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, OTHER = "111111111111", "222222222222"
RULE = "root-account-usage"
T0 = datetime(2024, 5, 1, tzinfo=UTC)
HOOK = WebhookConfig(name="hook", url="http://127.0.0.1:1/hook", secret_env="UNUSED")
CHAT = SlackConfig(name="chat", url="http://127.0.0.1:1/chat")
AM = AlertmanagerConfig(name="am", url="http://127.0.0.1:1")
TARGETS: tuple[Target, ...] = (HOOK, CHAT, AM)


def finding(status: Status, account: str = ACCOUNT, rule: str = RULE) -> Finding:
    return synthetic_finding(status, account, rule, Link.ALARM, remediation={"console": "do this"})


def record(
    store: StateStore, n: int, *statuses: Status, targets: tuple[Target, ...] = TARGETS
) -> list[Transition]:
    """Scan number ``n`` (its times derive from n) with one finding per status, one per account."""
    findings = [finding(s, a) for a, s in zip((ACCOUNT, OTHER), statuses, strict=False)]
    return store.record_scan(
        findings,
        {f.account_id: f.account_name for f in findings},
        started=T0 + timedelta(minutes=30 * n),
        finished=T0 + timedelta(minutes=30 * n + 5),
        error_after_scans=3,
        targets=targets,
    )


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_a_restart_serves_the_last_state_at_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore.open(path) as store:
        assert store.last_scan() is None
        assert store.last_findings() == {}
        record(store, 1, Status.PASS, Status.FAIL)
        before = store.last_findings()
    with StateStore.open(path) as store:
        assert store.last_findings() == before
        assert store.last_findings()[(ACCOUNT, RULE)] == finding(Status.PASS)
        last = store.last_scan()
        assert last is not None
        assert (last.started, last.finished) == (
            T0 + timedelta(minutes=30),
            T0 + timedelta(minutes=35),
        )
        assert (last.accounts, last.passed, last.failed, last.errored) == (2, 1, 1, 0)
        assert set(store.accounts()) == {ACCOUNT, OTHER}


def test_a_restart_holds_what_findings_share_once(tmp_path: Path) -> None:
    """Read back, the findings of the same rule in many accounts share one chain, one fix and
    one set of control numbers, as the evaluator made them (a restart at 1,000 accounts used to
    hold 320 MB where the scan that wrote the state held 90)."""
    path = tmp_path / "state.db"
    trail = LinkResult(Link.TRAIL, LinkStatus.OK, "arn:aws:cloudtrail:us-east-1:1:trail/t", "1")
    alarm = LinkResult(Link.ALARM, LinkStatus.BROKEN, "a", "1", "us-east-1", "no alarm")
    findings = [
        dataclasses.replace(
            finding(Status.FAIL, account), chain=(trail, alarm), controls={"cis-5.0": "4.3"}
        )
        for account in (ACCOUNT, OTHER)
    ]
    with StateStore.open(path) as store:
        store.record_scan(findings, None, started=T0, finished=T0, error_after_scans=3, targets=())
    with StateStore.open(path) as store:
        mine, other = (store.last_findings()[(a, RULE)] for a in (ACCOUNT, OTHER))
        assert [mine, other] == findings
        assert mine.chain is other.chain
        assert mine.remediation is other.remediation and mine.controls is other.controls
        assert mine.rule is other.rule and mine.reason is other.reason


def test_a_restart_does_not_alert_again(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore.open(path) as store:
        assert record(store, 1, Status.PASS) == []  # the baseline
        (t,) = record(store, 2, Status.FAIL)
        assert (t.kind, t.from_status, t.to_status) == (Kind.FAILED, Status.PASS, Status.FAIL)
        hook = store.pending("hook", now=1e12)
        assert [i.key for i in hook] == [t.key]
        assert hook[0].transition() == t
        store.mark_sent(hook[0].id, now=1e10)
    with StateStore.open(path) as store:
        assert record(store, 3, Status.FAIL) == []
        assert store.pending("hook", now=1e12) == []
        assert [i.key for i in store.pending("chat", now=1e12)] == [t.key]  # still owed, once
        assert [h.key for h in store.history()] == [t.key]
    assert rows(path, "SELECT COUNT(*) FROM outbox WHERE target = 'hook'") == [(1,)]


def test_a_failing_write_leaves_the_whole_scan_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    store = StateStore.open(path)
    record(store, 1, Status.PASS)
    before = (store.last_findings(), store.last_scan())
    written = StateStore._write_history

    def half_then_fail(self: StateStore, *args: object, **kwargs: object) -> None:
        written(self, *args, **kwargs)  # type: ignore[arg-type]
        raise OSError("disk full")

    monkeypatch.setattr(StateStore, "_write_history", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        record(store, 2, Status.FAIL)
    assert (store.last_findings(), store.last_scan()) == before
    monkeypatch.undo()
    # the same scan, retried, is news exactly once
    (t,) = record(store, 2, Status.FAIL)
    assert t.kind is Kind.FAILED
    store.close()
    assert rows(path, "SELECT COUNT(*) FROM scans") == [(2,)]
    assert rows(path, "SELECT COUNT(*) FROM transitions") == [(1,)]


CRASHING_SCAN = """
import os, sys
from datetime import timedelta
sys.path.insert(0, {tests!r})
import test_state as t
from scanner.daemon.state import StateStore

store = StateStore.open({path!r})
t.record(store, 1, t.Status.PASS)
enqueue = StateStore._enqueue

def die_halfway(self, db, **kwargs):
    enqueue(self, db, **{{**kwargs, "targets": kwargs["targets"][:1]}})
    os._exit(3)  # the process dies: no rollback, no close, no atexit

StateStore._enqueue = die_halfway
t.record(store, 2, t.Status.FAIL)
"""


def test_a_process_dying_mid_scan_leaves_the_previous_scan(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    code = CRASHING_SCAN.format(tests=str(Path(__file__).parent), path=str(path))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, check=False
    )
    assert result.returncode == 3, result.stderr.decode()
    with StateStore.open(path) as store:
        last = store.last_scan()
        assert last is not None
        assert last.started == T0 + timedelta(minutes=30)
        assert store.last_findings() == {(ACCOUNT, RULE): finding(Status.PASS)}
        assert store.pending("hook", now=1e12) == []
        assert store.history() == []
        (t,) = record(store, 2, Status.FAIL)
        assert t.kind is Kind.FAILED
        assert len(store.pending("hook", now=1e12)) == 1


def test_the_outbox_keeps_order_and_holds_back_behind_a_retry() -> None:
    with StateStore.open(":memory:") as store:
        record(store, 1, Status.PASS)
        record(store, 2, Status.FAIL)
        record(store, 3, Status.PASS)
        first, second = store.pending("hook", now=1e12)
        assert (first.transition().kind, second.transition().kind) == (
            Kind.FAILED,
            Kind.RESOLVED,
        )
        assert first.created == (T0 + timedelta(minutes=65)).timestamp()
        assert store.pending("hook", now=first.created - 1) == []
        assert store.mark_failed(first.id, next_attempt=5e9, error="HTTP 503")
        assert store.pending("hook", now=4e9) == []  # the second waits behind the first
        assert store.next_attempt("hook") == 5e9
        (again, _) = store.pending("hook", now=5e9)
        assert (again.attempts, again.last_error) == (1, "HTTP 503")
        assert store.mark_sent(first.id, now=5e9)
        assert not store.mark_sent(first.id, now=5e9)  # no longer pending
        assert not store.mark_failed(first.id, next_attempt=6e9, error="late")
        assert [i.id for i in store.pending("hook", now=5e9)] == [second.id]
        assert store.mark_abandoned(second.id, now=5e9, error="HTTP 400")
        assert store.pending("hook", now=1e12) == []
        assert store.next_attempt("hook") is None
        assert store.pending_counts() == {"chat": 2, "am": 1}  # the batch resolving it


def test_alertmanager_batches_supersede_and_carry_resolutions() -> None:
    with StateStore.open(":memory:") as store:
        record(store, 1, Status.FAIL, Status.FAIL)  # two failing accounts
        (batch,) = store.pending("am", now=1e12)
        assert [(a.account_id, a.ends_at) for a in batch.alerts()] == [
            (ACCOUNT, None),
            (OTHER, None),
        ]
        record(store, 2, Status.FAIL, Status.PASS)  # the receiver was down meanwhile
        record(store, 3, Status.FAIL, Status.PASS)
        (batch,) = store.pending("am", now=1e12)  # one POST will say it all
        assert [(a.account_id, a.starts_at, a.ends_at) for a in batch.alerts()] == [
            (ACCOUNT, iso(T0 + timedelta(minutes=35)), None),
            (OTHER, iso(T0 + timedelta(minutes=35)), iso(T0 + timedelta(minutes=65))),
        ]
        store.mark_sent(batch.id, now=1e10)
        record(store, 4, Status.PASS, Status.PASS)
        (batch,) = store.pending("am", now=1e12)
        assert [(a.account_id, a.ends_at) for a in batch.alerts()] == [
            (ACCOUNT, iso(T0 + timedelta(minutes=125)))
        ]
        store.mark_sent(batch.id, now=1e10)
        record(store, 5, Status.PASS, Status.PASS)
        assert store.pending("am", now=1e12) == []  # nothing firing, nothing resolved


def test_targets_added_later_get_only_what_comes_after() -> None:
    with StateStore.open(":memory:") as store:
        record(store, 1, Status.PASS, targets=())
        record(store, 2, Status.FAIL, targets=())
        assert store.pending_counts() == {}
        (t,) = record(store, 3, Status.PASS, targets=(HOOK,))
        assert [i.key for i in store.pending("hook", now=1e12)] == [t.key]


def test_the_same_scan_cannot_be_recorded_twice() -> None:
    with StateStore.open(":memory:") as store:
        record(store, 1, Status.PASS)
        with pytest.raises(ValueError, match="already recorded"):
            record(store, 1, Status.FAIL)
        assert store.last_findings() == {(ACCOUNT, RULE): finding(Status.PASS)}


def test_history_filters_by_account_and_rule() -> None:
    with StateStore.open(":memory:") as store:
        record(store, 1, Status.PASS, Status.PASS)
        record(store, 2, Status.FAIL, Status.PASS)
        record(store, 3, Status.FAIL, Status.FAIL)
        assert [t.account_id for t in store.history()] == [OTHER, ACCOUNT]
        assert [t.account_id for t in store.history(account_id=ACCOUNT, rule=RULE)] == [ACCOUNT]
        assert store.history(rule="other-rule") == []
        assert len(store.history(limit=1)) == 1


def test_a_state_file_from_a_newer_scanner_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    StateStore.open(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    db.close()
    newer, known = len(MIGRATIONS) + 1, len(MIGRATIONS)
    with pytest.raises(
        StateError, match=rf"schema version {newer} is newer than this scanner knows \({known}\)"
    ):
        StateStore.open(path)


def test_a_file_that_is_not_a_state_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just text " * 100)
    with pytest.raises(StateError, match=r"notes.txt: file is not a database"):
        StateStore.open(path)


def test_the_schema_is_versioned_and_the_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    StateStore.open(path).close()
    assert rows(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]
    tables = {name for (name,) in rows(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"scans", "tracks", "accounts", "transitions", "outbox"} <= tables


def test_an_unchanged_scan_rewrites_no_track(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore.open(path) as store:
        record(store, 1, Status.PASS, Status.FAIL)
        db = sqlite3.connect(path)
        db.execute("UPDATE tracks SET account_name = 'marker'")
        db.commit()
        db.close()
        record(store, 2, Status.PASS, Status.FAIL)
    assert rows(path, "SELECT account_name FROM tracks") == [("marker",), ("marker",)]
    body = rows(path, "SELECT payload FROM outbox WHERE target = 'am' ORDER BY id DESC LIMIT 1")
    assert json.loads(str(body[0][0]))["alerts"][0]["account_id"] == OTHER


def test_the_state_stays_bounded_scan_after_scan(tmp_path: Path) -> None:
    """Delivered Alertmanager batches: only the last kept; the WAL is folded in after each scan."""
    path = tmp_path / "state.db"
    now = (T0 + timedelta(days=30)).timestamp()
    with StateStore.open(path) as store:
        for n in range(1, 8):
            record(store, n, Status.FAIL, Status.FAIL)
            wal = Path(f"{path}-wal")
            assert not wal.exists() or wal.stat().st_size == 0, n
            kept = rows(path, "SELECT state FROM outbox WHERE target = 'am' ORDER BY id")
            assert kept == ([("sent",)] if n > 1 else []) + [("pending",)], n
            for item in store.pending("am", now=now):
                store.mark_sent(item.id, now=now)


def test_delivered_transitions_are_kept_a_day(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore.open(path) as store:
        assert record(store, 1, Status.PASS, targets=(HOOK,)) == []  # the baseline
        assert len(record(store, 2, Status.FAIL, targets=(HOOK,))) == 1
        (item,) = store.pending("hook", now=1e12)
        store.mark_sent(item.id, now=(T0 + timedelta(hours=1)).timestamp())
        record(store, 3, Status.FAIL, targets=(HOOK,))  # one hour later: still there
        assert rows(path, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'") == [(1,)]
        record(store, 60, Status.FAIL, targets=(HOOK,))  # a day and more later: pruned
        assert rows(path, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'") == [(0,)]


def test_account_views_are_kept_and_restored_and_findings_are_compact(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    view = {"name": "a", "ou": "Workloads/Production", "state": "scanned", "errors": []}
    with StateStore.open(path) as store:
        store.record_scan(
            [finding(Status.FAIL)],
            {ACCOUNT: "a"},
            started=T0,
            finished=T0 + timedelta(minutes=1),
            error_after_scans=3,
            targets=(),
            views={ACCOUNT: (view, 1234.5)},
        )
    with StateStore.open(path) as store:
        assert store.account_views() == {ACCOUNT: (view, 1234.5)}
        assert store.last_findings()[(ACCOUNT, RULE)] == finding(Status.FAIL)
    ((verdict,),) = rows(path, "SELECT verdict FROM tracks")
    parts = {str(kind): part for kind, part in rows(path, "SELECT kind, part FROM verdict_parts")}
    assert set(parts) == {"verdict", "fix"}  # no chain: the finding has none
    stored = [part for part in parts.values() if isinstance(part, bytes)]
    assert len(stored) == 2  # compressed
    assert sum(map(len, stored)) < len(json.dumps(finding(Status.FAIL).to_json()))
    assert rows(path, "SELECT id FROM verdict_parts WHERE kind = 'verdict'") == [(verdict,)]


def test_the_history_is_kept_as_configured_and_what_is_still_owed_stays(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore.open(path, keep_history=86400.0) as store:  # state.keep_history: 1d
        record(store, 1, Status.PASS, targets=(HOOK, CHAT))
        (old,) = record(store, 2, Status.FAIL, targets=(HOOK, CHAT))
        (sent,) = store.pending("hook", now=1e12)
        store.mark_sent(sent.id, now=1e10)
        (new,) = record(store, 100, Status.PASS, targets=(HOOK, CHAT))  # two days on
        # Older than a day, but the chat target has not been sent it yet: kept, and sent whole.
        assert [h.key for h in store.history()] == [new.key, old.key]
        owed = store.pending("chat", now=1e12)
        assert [i.key for i in owed] == [old.key, new.key]
        assert owed[0].transition() == old
        for item in owed:
            store.mark_sent(item.id, now=1e10)
        record(store, 101, Status.PASS, targets=(HOOK, CHAT))
        assert [h.key for h in store.history()] == [new.key]
        assert store.last_scan() is not None
    # The scans behind pruned transitions went with them; the recent ones and the last stay.
    finished = [when for (when,) in rows(path, "SELECT finished FROM scans ORDER BY id")]
    assert finished == [(T0 + timedelta(minutes=30 * n + 5)).timestamp() for n in (100, 101)]
    with StateStore.open(path) as store:  # the default keeps 90 days
        assert store.keep_history == 90 * 86400.0
        assert [h.key for h in store.history()] == [new.key]
