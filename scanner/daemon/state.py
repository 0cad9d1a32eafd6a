"""The daemon's memory: one SQLite file holding what was seen, what changed, and what to deliver.

Invariants:

* **One scan, one transaction.** :meth:`StateStore.record_scan` reads the tracks, computes the
  transitions (:func:`.transitions.advance`, pure), and writes the scan record, the new tracks,
  the history and the outbox rows of every target inside a single ``BEGIN IMMEDIATE`` ...
  ``COMMIT``. A crash at any point leaves either the whole scan or none of it; since the
  transitions and their outbox rows commit together with the state that produced them, a
  restart can neither compute a transition again nor lose one that was computed.
* **At-least-once delivery, exactly-once enqueueing.** An outbox row is the unit of delivery,
  one per (target, idempotency key), ``UNIQUE`` in the schema. It stays ``pending`` until the
  dispatcher marks it ``sent`` (or ``abandoned``); a crash between sending and marking means
  one redelivery with the same idempotency key, which the receiver can drop. A Slack row also
  holds its rendered text (Slack has no key to drop a repeat by): a redelivery says the same.
* **Per-target order.** :meth:`StateStore.pending` returns a target's pending rows in the
  order they were enqueued, and only the prefix that is due: a row waiting for its retry holds
  back the rows behind it, so a receiver never sees "resolved" before "failed".
* **Alertmanager gets the picture, not the history.** An Alertmanager batch still pending when
  the next scan enqueues one is ``superseded``: the new batch carries the current firing set
  plus the old batches' resolutions that are still news, so a long outage ends with one POST.
* **Each distinct verdict once.** A track, and a transition in the history, hold a finding's
  own fields (account, name, rule, status, suppression) and its verdict's id; the verdict, its
  chain and its fix are stored once in ``verdict_parts`` under the compact report's content id
  (:mod:`.parts`), written in the transaction of the first row naming them, and pruned at the
  end of a whole scan once nothing names them. Read back, findings are equal to those recorded
  and share their equal parts, as the evaluator's do (10,000 accounts: 844 MB of full findings
  before, see bench/README.md). A webhook's or Slack's outbox row names its transition in the
  history by its key (the history is kept ``keep_history``, 90 days by default, and a
  transition a pending row names is kept until the row is delivered: it outlives the row).
* **Nothing here reads a clock.** Times come in as arguments (epoch seconds or aware
  datetimes), so tests control them.

Schema changes are appended to :data:`MIGRATIONS` (``PRAGMA user_version`` counts the ones
applied); a file written by a newer scanner is refused rather than misread. A migration is SQL;
the one that needs Python (schema 3: a track's full finding becomes its own fields and parts,
whose ids are hashes) leaves the old rows in ``old_tracks`` for :meth:`StateStore.load` to move
(once, in a worker thread while the probes already answer; then ``VACUUM`` gives the space
back), so opening stays quick. Transitions and outbox rows recorded before it keep their full
findings and are read as they are.

The store is safe to share between the event loop and worker threads (one connection under a
lock): call :meth:`StateStore.record_scan` through ``asyncio.to_thread``; every other call is
small.

Targets are the configuration's own objects (:class:`.config.WebhookConfig`, ``SlackConfig``,
``AlertmanagerConfig``); the outbox is kept per target *name* (unique across kinds).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from scanner.daemon.config import AlertmanagerConfig, SlackConfig, WebhookConfig
from scanner.daemon.messages import slack_text
from scanner.daemon.pairs import ByAccount
from scanner.daemon.parts import OWN_COLUMNS, PartReader, PartWriter, unpack
from scanner.daemon.parts import prune as prune_parts
from scanner.daemon.transitions import (
    AlertmanagerAlert,
    PairKey,
    Track,
    Transition,
    advance,
)
from scanner.errors import StateError
from scanner.evaluate.sharing import Sharing
from scanner.model import Finding, Status, decode, encode_object

Target = WebhookConfig | SlackConfig | AlertmanagerConfig
# An account's metric labels (AccountView.to_json) and the time of its last successful scan.
AccountRecord = tuple[dict[str, Any], float | None]
OutboxKind = Literal["transition", "alertmanager"]

# Delivered messages are not needed for de-duplication (a scan is recorded once, and its keys
# with it), only to look back at recent deliveries: transitions are kept a day, and of the
# Alertmanager batches (each the whole firing set, ~1.7 KB per 1,000 accounts) only the last.
KEEP_DELIVERED_SECONDS = 86400.0
# The transitions (and the scans behind them) are kept this long, the configuration's
# ``state.keep_history``; one that a pending message still names stays until it is delivered.
KEEP_HISTORY_SECONDS = 90 * 86400.0

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE scans (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scan TEXT NOT NULL UNIQUE,
        started REAL NOT NULL,
        finished REAL NOT NULL,
        accounts INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        errored INTEGER NOT NULL,
        transitions INTEGER NOT NULL
    );
    CREATE TABLE tracks (
        account_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        status TEXT NOT NULL,
        streak INTEGER NOT NULL,
        announced TEXT,
        announced_since TEXT,
        finding TEXT NOT NULL,
        PRIMARY KEY (account_id, rule)
    ) WITHOUT ROWID;
    CREATE TABLE accounts (
        account_id TEXT PRIMARY KEY,
        name TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE transitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scan_id INTEGER NOT NULL REFERENCES scans (id),
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        account_id TEXT NOT NULL,
        rule TEXT,
        from_status TEXT,
        to_status TEXT,
        at TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX transitions_by_pair ON transitions (account_id, rule);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        payload TEXT NOT NULL,
        created REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt REAL NOT NULL,
        last_error TEXT,
        state TEXT NOT NULL DEFAULT 'pending',
        done_at REAL,
        UNIQUE (target, key)
    );
    CREATE INDEX outbox_pending ON outbox (target, state, id);
    """,
    # 2: what the metrics need to keep their labels across a restart (name, OU path, scan state,
    # error labels, last success), one row per account.
    """
    CREATE TABLE account_views (
        account_id TEXT PRIMARY KEY,
        view TEXT NOT NULL,
        last_success REAL
    ) WITHOUT ROWID;
    """,
    # 3: each distinct verdict, chain and fix once (.parts); a track and a transition name their
    # findings' verdicts. The tracks of before (a full finding each) wait in old_tracks, which
    # load() moves into the new shape and drops (Python's job: ids are hashes of the content).
    """
    ALTER TABLE tracks RENAME TO old_tracks;
    CREATE TABLE tracks (
        account_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        status TEXT NOT NULL,
        streak INTEGER NOT NULL,
        announced TEXT,
        announced_since TEXT,
        account_name TEXT NOT NULL,
        verdict TEXT NOT NULL,
        suppressed INTEGER NOT NULL,
        suppression TEXT,
        PRIMARY KEY (account_id, rule)
    ) WITHOUT ROWID;
    CREATE TABLE verdict_parts (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        chain TEXT,
        fix TEXT,
        part BLOB NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE transitions ADD COLUMN verdict TEXT;
    ALTER TABLE transitions ADD COLUMN previous_verdict TEXT
    """,
    # 4: the history pruned by age (state.keep_history) at every commit, without reading it all.
    """
    CREATE INDEX transitions_by_time ON transitions (at);
    CREATE INDEX transitions_by_scan ON transitions (scan_id)
    """,
)


# A track's columns: its finding's own fields (the rest is its verdict's, in verdict_parts), then
# what the state machine keeps.
_TRACK_COLUMNS = ", ".join((*OWN_COLUMNS, "streak", "announced", "announced_since"))
_TRACK_VALUES = ", ".join("?" * (len(OWN_COLUMNS) + 3))
_STATUS = {status.value: status for status in Status}


@dataclass(frozen=True, slots=True)
class ScanSummary:
    """The last scan the store recorded: when, and how many accounts, verdicts, transitions."""

    scan: str  # the scan's identity (its start time, ISO 8601)
    started: datetime
    finished: datetime
    accounts: int
    passed: int
    failed: int
    errored: int
    transitions: int


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message for one target; ``payload`` is a transition or an Alertmanager batch."""

    id: int
    target: str  # the target's name
    kind: OutboxKind
    key: str  # the idempotency key
    payload: dict[str, Any]
    created: float
    attempts: int
    next_attempt: float
    last_error: str | None

    def transition(self) -> Transition:
        return Transition.from_json(self.payload["transition"])

    def alerts(self) -> list[AlertmanagerAlert]:
        return [decode(AlertmanagerAlert, a) for a in self.payload["alerts"]]


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: ``2024-05-01T12:00:00.000000Z``."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime: give the time zone (UTC)")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class StateStore:
    """The SQLite state; open with :meth:`open`, close with :meth:`close` (or ``with``)."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: str,
        keep_history: float = KEEP_HISTORY_SECONDS,
    ) -> None:
        self._db = connection
        self.path = path
        self.keep_history = keep_history  # seconds of transitions kept (see _prune)
        self._lock = threading.RLock()
        self._tracks: ByAccount[Track] = ByAccount((), {})
        self._accounts: dict[str, str] = {}
        self._views: dict[str, AccountRecord] = {}
        self._last: ScanSummary | None = None

    # ----------------------------------------------------------------------------------------
    # Opening.

    @classmethod
    def open(cls, path: str | Path, keep_history: float = KEEP_HISTORY_SECONDS) -> StateStore:
        """Open (creating or migrating) the state at ``path``; ``":memory:"`` keeps nothing."""
        store = cls.connect(path, keep_history)
        store.load()
        return store

    @classmethod
    def connect(cls, path: str | Path, keep_history: float = KEEP_HISTORY_SECONDS) -> StateStore:
        """Open and migrate, without reading the state yet (:meth:`load`): quick at any size."""
        name = str(path)
        try:
            db = sqlite3.connect(name, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as err:
            raise StateError(f"state {name}: cannot open: {err}") from None
        store = cls(db, name, keep_history)
        try:
            store._prepare()
        except (sqlite3.Error, ValueError) as err:
            db.close()
            raise StateError(f"state {name}: {err}") from None
        return store

    def load(self) -> None:
        """Read the tracks, accounts and last scan (seconds for a large organization: a worker
        thread's job in the daemon)."""
        try:
            with self._lock:
                self._load()
        except (sqlite3.Error, ValueError, zlib.error) as err:
            self.close()
            raise StateError(f"state {self.path}: {err}") from None

    def _prepare(self) -> None:
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise ValueError(
                f"schema version {version} is newer than this scanner knows ({len(MIGRATIONS)});"
                " upgrade the scanner or use another state path"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._transaction():
                for statement in filter(str.strip, script.split(";")):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={number}")

    def _load(self) -> None:
        tracks: dict[PairKey, Track] = {}
        sharing = Sharing()
        reader = PartReader(self._db, sharing)
        rows = self._db.execute(f"SELECT {_TRACK_COLUMNS} FROM tracks")
        for *own, streak, announced, since in rows:
            finding = reader.row(own)
            tracks[(finding.account_id, finding.rule)] = Track(
                finding, streak, _STATUS[announced] if announced else None, since
            )
        self._tracks = ByAccount.of(self._move_old_tracks(tracks, sharing).items())
        self._accounts = dict(self._db.execute("SELECT account_id, name FROM accounts"))
        self._views = {
            account_id: (json.loads(view), last_success)
            for account_id, view, last_success in self._db.execute(
                "SELECT account_id, view, last_success FROM account_views"
            )
        }
        self._last = self._read_last_scan()

    def _move_old_tracks(
        self, tracks: dict[PairKey, Track], sharing: Sharing
    ) -> dict[PairKey, Track]:
        """``tracks`` and those a file of schema 2 or older held (``old_tracks``: a full finding
        each), these moved into the new shape in one transaction, the old table dropped and
        the space it held given back (``VACUUM``): once, at the first load after the upgrade."""
        if not self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'old_tracks'"
        ).fetchone():
            return tracks
        old: dict[PairKey, Track] = {}
        rows = self._db.execute(
            "SELECT account_id, rule, streak, announced, announced_since, finding FROM old_tracks"
        )
        for account_id, rule, streak, announced, since, stored in rows:
            if (account_id, rule) in tracks:  # written since the upgrade: the newer one
                continue
            finding = sharing.read_back(Finding.from_json(unpack(stored)))
            old[(finding.account_id, finding.rule)] = Track(
                finding, streak, Status(announced) if announced else None, since
            )
        with self._transaction() as db:
            writer = PartWriter(db)
            for pair, track in old.items():
                self._put_track(db, writer, pair, track)
            db.execute("DROP TABLE old_tracks")
        if old:
            self._db.execute("VACUUM")
            self._checkpoint()
        return {**old, **tracks}

    def _read_last_scan(self) -> ScanSummary | None:
        row = self._db.execute(
            "SELECT scan, started, finished, accounts, passed, failed, errored, transitions"
            " FROM scans ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        scan, started, finished, *counts = row
        return ScanSummary(scan, _from_epoch(started), _from_epoch(finished), *counts)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ----------------------------------------------------------------------------------------
    # What was seen.

    def last_findings(self) -> dict[PairKey, Finding]:
        """The last finding per (account_id, rule), as of the last recorded scan."""
        with self._lock:
            return {pair: track.finding for pair, track in self._tracks.items()}

    def tracks(self) -> dict[PairKey, Track]:
        with self._lock:
            return dict(self._tracks)

    def accounts(self) -> dict[str, str]:
        """Every account known after the last scan: id -> name."""
        with self._lock:
            return dict(self._accounts)

    def last_scan(self) -> ScanSummary | None:
        with self._lock:
            return self._last

    def account_views(self) -> dict[str, AccountRecord]:
        """Per account, as of the last scan: its view (name, OU, state, errors) and last success."""
        with self._lock:
            return dict(self._views)

    def history(
        self, account_id: str | None = None, rule: str | None = None, limit: int = 100
    ) -> list[Transition]:
        """The transitions recorded, newest first, optionally for one account and/or rule."""
        clauses, params = [], []
        for column, value in (("account_id", account_id), ("rule", rule)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT body FROM transitions {where} ORDER BY id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
            reader = PartReader(self._db)
            return [Transition.from_json(_transition_json(reader, body)) for (body,) in rows]

    # ----------------------------------------------------------------------------------------
    # Recording a scan.

    def record_scan(
        self,
        findings: Sequence[Finding],
        accounts: Mapping[str, str] | None,
        *,
        started: datetime,
        finished: datetime,
        error_after_scans: int,
        targets: Iterable[Target],
        views: Mapping[str, AccountRecord] | None = None,
    ) -> list[Transition]:
        """Record one scan in one transaction and enqueue its messages; return its transitions.

        Everything after ``accounts`` is keyword-only.

        ``accounts``: id -> name of every account the organization listing returned for this
        shard (active ones), or ``None`` when the listing failed (then no account appears or
        disappears). ``error_after_scans``: ERROR is announced once it lasted that many scans.
        ``targets``: the configured alert targets (``AlertsConfig.targets``). ``views``: the
        accounts' metric labels and last success (replacing the stored ones; None keeps them).
        """
        scan, at = iso(started), iso(finished)
        targets = list(targets)
        with self._transaction() as db:
            writer = PartWriter(db)
            baseline = db.execute("SELECT 1 FROM scans LIMIT 1").fetchone() is None
            outcome = advance(
                self._tracks,
                self._accounts,
                findings,
                accounts,
                scan=scan,
                at=at,
                error_after_scans=error_after_scans,
                baseline=baseline,
                alertmanager=any(isinstance(t, AlertmanagerConfig) for t in targets),
            )
            counts = dict.fromkeys(Status, 0)
            for finding in findings:
                counts[finding.status] += 1
            try:
                cursor = db.execute(
                    "INSERT INTO scans (scan, started, finished, accounts, passed, failed, errored,"
                    " transitions) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        scan,
                        started.timestamp(),
                        finished.timestamp(),
                        len(outcome.accounts),
                        counts[Status.PASS],
                        counts[Status.FAIL],
                        counts[Status.ERROR],
                        len(outcome.transitions),
                    ),
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"scan {scan} is already recorded") from None
            scan_id = int(cursor.lastrowid or 0)
            self._write_tracks(db, writer, outcome.tracks)
            self._write_accounts(db, outcome.accounts)
            self._write_history(db, writer, scan_id, outcome.transitions)
            self._enqueue(
                db,
                targets=targets,
                transitions=outcome.transitions,
                alerts=outcome.alerts,
                scan=scan,
                finished=finished,
            )
            if views is not None:
                self._write_views(db, views)
            self._prune(db, finished.timestamp())
            if accounts is not None:  # a whole scan; see the module's docstring
                prune_parts(db)
        self._checkpoint()
        if views is not None:
            self._views = dict(views)
        self._tracks = outcome.tracks
        self._accounts = outcome.accounts
        self._last = ScanSummary(
            scan,
            started,
            finished,
            len(outcome.accounts),
            counts[Status.PASS],
            counts[Status.FAIL],
            counts[Status.ERROR],
            len(outcome.transitions),
        )
        return outcome.transitions

    def _write_tracks(
        self, db: sqlite3.Connection, writer: PartWriter, tracks: ByAccount[Track]
    ) -> None:
        """Write only what changed: a quiet organization rewrites almost nothing per scan, and
        an event's commit looks only at the accounts it re-judged."""
        for account_id in tracks.differing(self._tracks):
            before = dict(self._tracks.account(account_id))
            after = dict(tracks.account(account_id))
            for rule in before.keys() - after.keys():
                db.execute(
                    "DELETE FROM tracks WHERE account_id = ? AND rule = ?", (account_id, rule)
                )
            for rule, track in after.items():
                old = before.get(rule)
                if old is track or old == track:  # kept tracks are the very same objects
                    continue
                self._put_track(db, writer, (account_id, rule), track)

    @staticmethod
    def _put_track(db: sqlite3.Connection, writer: PartWriter, pair: PairKey, track: Track) -> None:
        own = writer.own(track.finding)
        own["account_id"], own["rule"] = pair
        db.execute(
            f"INSERT OR REPLACE INTO tracks ({_TRACK_COLUMNS}) VALUES ({_TRACK_VALUES})",
            (
                *(own[name] for name in OWN_COLUMNS),
                track.streak,
                track.announced.value if track.announced else None,
                track.announced_since,
            ),
        )

    def _write_views(self, db: sqlite3.Connection, views: Mapping[str, AccountRecord]) -> None:
        for account_id in self._views.keys() - views.keys():
            db.execute("DELETE FROM account_views WHERE account_id = ?", (account_id,))
        for account_id, (view, last_success) in views.items():
            if self._views.get(account_id) != (view, last_success):
                db.execute(
                    "INSERT OR REPLACE INTO account_views (account_id, view, last_success)"
                    " VALUES (?, ?, ?)",
                    (account_id, json.dumps(view, sort_keys=True), last_success),
                )

    def _prune(self, db: sqlite3.Connection, now: float) -> None:
        """Delivered rows kept only as long as :data:`KEEP_DELIVERED_SECONDS` says; the history
        as long as :attr:`keep_history` says, but for a transition a pending message still names
        (it is read from the history when sent) and the last scan. The verdict parts only old
        transitions named go at the next whole scan's prune of the parts."""
        cutoff = now - self.keep_history
        db.execute(
            "DELETE FROM transitions WHERE at < ? AND key NOT IN"
            " (SELECT key FROM outbox WHERE kind = 'transition' AND state = 'pending')",
            (iso(_from_epoch(cutoff)),),
        )
        db.execute(
            "DELETE FROM scans WHERE finished < ? AND id != (SELECT MAX(id) FROM scans)"
            " AND id NOT IN (SELECT scan_id FROM transitions)",
            (cutoff,),
        )
        db.execute(
            "DELETE FROM outbox WHERE state != 'pending' AND done_at < ?",
            (now - KEEP_DELIVERED_SECONDS,),
        )
        db.execute(
            "DELETE FROM outbox WHERE kind = 'alertmanager' AND state != 'pending' AND id NOT IN"
            " (SELECT MAX(id) FROM outbox WHERE kind = 'alertmanager' AND state != 'pending'"
            " GROUP BY target)"
        )

    def _checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it, so it does not grow scan after scan."""
        if self.path == ":memory:":
            return
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _write_accounts(self, db: sqlite3.Connection, accounts: Mapping[str, str]) -> None:
        for account_id in self._accounts.keys() - accounts.keys():
            db.execute("DELETE FROM accounts WHERE account_id = ?", (account_id,))
        for account_id, name in accounts.items():
            if self._accounts.get(account_id) != name:
                db.execute(
                    "INSERT OR REPLACE INTO accounts (account_id, name) VALUES (?, ?)",
                    (account_id, name),
                )

    def _write_history(
        self,
        db: sqlite3.Connection,
        writer: PartWriter,
        scan_id: int,
        transitions: Sequence[Transition],
    ) -> None:
        """Each transition's findings by their own fields and verdict (the parts), as tracks."""
        for t in transitions:
            body = dataclasses.replace(t, finding=None, previous=None).to_json()
            named: dict[str, str | None] = {}
            for name in ("finding", "previous"):
                finding: Finding | None = getattr(t, name)
                own = None if finding is None else writer.own(finding)
                body[name] = own
                named[name] = None if own is None else own["verdict"]
            db.execute(
                "INSERT INTO transitions (scan_id, key, kind, account_id, rule, from_status,"
                " to_status, at, body, verdict, previous_verdict)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scan_id,
                    t.key,
                    t.kind.value,
                    t.account_id,
                    t.rule,
                    t.from_status.value if t.from_status else None,
                    t.to_status.value if t.to_status else None,
                    t.at,
                    json.dumps(body, sort_keys=True),
                    named["finding"],
                    named["previous"],
                ),
            )

    def _enqueue(
        self,
        db: sqlite3.Connection,
        *,
        targets: Sequence[Target],
        transitions: Sequence[Transition],
        alerts: Sequence[AlertmanagerAlert],
        scan: str,
        finished: datetime,
    ) -> None:
        now = finished.timestamp()
        for target in targets:
            if isinstance(target, AlertmanagerConfig):
                self._enqueue_batch(db, target.name, alerts, scan, now)
                continue
            for t in transitions:
                payload: dict[str, Any] = {}  # the transition: the history's, by its key
                if isinstance(target, SlackConfig):  # no key to drop a repeat by: one text
                    payload["text"] = slack_text(t)
                db.execute(
                    "INSERT OR IGNORE INTO outbox (target, kind, key, payload, created,"
                    " next_attempt) VALUES (?, 'transition', ?, ?, ?, ?)",
                    (target.name, t.key, json.dumps(payload), now, now),
                )

    def _enqueue_batch(
        self,
        db: sqlite3.Connection,
        target: str,
        alerts: Sequence[AlertmanagerAlert],
        scan: str,
        now: float,
    ) -> None:
        batch = [encode_object(a) for a in alerts]
        named = {(a.account_id, a.rule) for a in alerts}
        older = db.execute(
            "SELECT id, payload FROM outbox WHERE target = ? AND state = 'pending'"
            " AND kind = 'alertmanager' ORDER BY id",
            (target,),
        ).fetchall()
        for row_id, payload in older:
            for alert in json.loads(payload)["alerts"]:
                pair = (alert["account_id"], alert["rule"])
                if alert["ends_at"] is not None and pair not in named:
                    batch.append(alert)
                    named.add(pair)
            db.execute(
                "UPDATE outbox SET state = 'superseded', done_at = ? WHERE id = ?", (now, row_id)
            )
        if batch:
            key = f"alertmanager:{scan}"
            db.execute(
                "INSERT OR IGNORE INTO outbox (target, kind, key, payload, created, next_attempt)"
                " VALUES (?, 'alertmanager', ?, ?, ?, ?)",
                (target, key, json.dumps({"alerts": batch}), now, now),
            )

    # ----------------------------------------------------------------------------------------
    # The outbox.

    def pending(self, target: str, now: float) -> list[OutboxItem]:
        """The target's pending messages in enqueue order, up to the first one not yet due."""
        items: list[OutboxItem] = []
        with self._lock:
            rows = self._db.execute(
                "SELECT o.id, o.target, o.kind, o.key, o.payload, o.created, o.attempts,"
                " o.next_attempt, o.last_error, t.body FROM outbox AS o LEFT JOIN transitions AS t"
                " ON o.kind = 'transition' AND t.key = o.key"
                " WHERE o.target = ? AND o.state = 'pending' ORDER BY o.id",
                (target,),
            ).fetchall()
            reader = PartReader(self._db)
            for row_id, name, kind, key, stored, created, attempts, due, error, body in rows:
                if due > now:
                    break
                payload = json.loads(stored)
                if kind == "transition" and "transition" not in payload:  # schema 3 on
                    if body is None:
                        raise StateError(f"state {self.path}: no transition {key} in the history")
                    payload["transition"] = _transition_json(reader, body)
                items.append(
                    OutboxItem(
                        id=row_id,
                        target=name,
                        kind=kind,
                        key=key,
                        payload=payload,
                        created=created,
                        attempts=attempts,
                        next_attempt=due,
                        last_error=error,
                    )
                )
        return items

    def next_attempt(self, target: str) -> float | None:
        """When the target's first pending message is due (None: nothing pending)."""
        with self._lock:
            row = self._db.execute(
                "SELECT next_attempt FROM outbox WHERE target = ? AND state = 'pending'"
                " ORDER BY id LIMIT 1",
                (target,),
            ).fetchone()
        return None if row is None else float(row[0])

    def pending_counts(self) -> dict[str, int]:
        """How many messages wait, per target name (for a gauge)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT target, COUNT(*) FROM outbox WHERE state = 'pending' GROUP BY target"
            ).fetchall()
        return {target: int(count) for target, count in rows}

    def mark_sent(self, item_id: int, now: float) -> bool:
        """The receiver accepted it; False if it was no longer pending (e.g. superseded)."""
        return self._finish(item_id, "sent", now, None)

    def mark_abandoned(self, item_id: int, now: float, error: str) -> bool:
        """It will never be delivered (refused for good, or retried for too long)."""
        return self._finish(item_id, "abandoned", now, error)

    def mark_failed(self, item_id: int, next_attempt: float, error: str) -> bool:
        """One more failed attempt; try again at ``next_attempt`` (epoch seconds)."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?"
                " WHERE id = ? AND state = 'pending'",
                (next_attempt, error, item_id),
            )
        return cursor.rowcount == 1

    def _finish(self, item_id: int, state: str, now: float, error: str | None) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE outbox SET state = ?, done_at = ?, attempts = attempts + 1,"
                " last_error = COALESCE(?, last_error) WHERE id = ? AND state = 'pending'",
                (state, now, error, item_id),
            )
        return cursor.rowcount == 1


def _transition_json(reader: PartReader, body: str) -> dict[str, Any]:
    """A transition as the history holds it, its findings in the full shape (rows written
    before schema 3 hold them so already)."""
    data: dict[str, Any] = json.loads(body)
    for name in ("finding", "previous"):
        if data.get(name) is not None:
            data[name] = reader.expand(data[name])
    return data


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
