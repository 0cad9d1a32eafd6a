"""What changed between two scans, and what Alertmanager must be told: pure, no I/O, no clock.

Everything that decides *whether* to alert lives here; :mod:`.state` only persists what this
module returns and :mod:`.alerts` only renders and delivers it. Times and the scan's identity
come in as arguments, so the same inputs always give the same transitions and the same keys.

Theory of operation. For every (account, rule) the store keeps a :class:`Track`: the last
finding, how many consecutive scans it has been ERROR (``streak``) and the *announced* status,
the one receivers were last told about (or that was settled silently). A scan's status becomes
the *settled* status at once, except ERROR, which settles only once it has lasted
``error_after_scans`` consecutive scans (a transient failure to read an account is not news);
until then the announced status stays what it was. A transition is emitted when the settled
status differs from the announced one and the pair is in :data:`RULE_KINDS`; either way the
announced status then becomes the settled one. So ``PASS -> ERROR (transient) -> PASS`` says
nothing, ``PASS -> ERROR (transient) -> FAIL`` says FAILED once, and nothing ever repeats.

Accounts appear and disappear as the organization listing says (``accounts``); when the listing
is unknown (``None``: it failed), no account is judged, and accounts without findings keep their
tracks untouched. The first scan of an empty store is the *baseline*: it settles every status
silently (no one wants thousands of messages on installation) but ERROR still needs its streak
before it is announced, and Alertmanager still receives every failing control.

Alertmanager is stateful, so it is not fed transitions but the whole picture every scan
(:func:`alertmanager_batch`): one firing alert per (account, rule) whose announced status is
FAIL and whose finding is not suppressed, ``startsAt`` the time it was announced, and one
resolved alert (``endsAt``) per pair that stopped firing in this scan (it passed, its ERROR
settled, it is suppressed, or it is gone).

A suppressed finding (an accepted exception) settles nothing: its track keeps the status
receivers were told, so nothing is sent while it lasts, and if the control still fails when the
exception expires the usual transition (FAILED) is sent then.

Idempotency keys are sha256 of the account, rule, from, to, kind and the scan's identity (its
start time, unique across state files): a redelivered message carries the same key, and a new
transition always a new one.
"""

from __future__ import annotations

import enum
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scanner.daemon.pairs import ByAccount, by_account
from scanner.model import Finding, Status, decode, encode_object

PairKey = tuple[str, str]  # (account_id, rule)


class Kind(enum.StrEnum):
    FAILED = "failed"  # the control now fails (it passed, or it is new and failing)
    RESOLVED = "resolved"  # it failed and now passes
    ERRORED = "errored"  # it could not be judged for error_after_scans scans in a row
    RECOVERED = "recovered"  # after an announced ERROR, it can be judged again (PASS or FAIL)
    ACCOUNT_APPEARED = "account_appeared"
    ACCOUNT_DISAPPEARED = "account_disappeared"


# (announced, settled) -> the transition; a pair absent from the table settles silently:
# (None, PASS) is a new control that works, (s, s) is no change.
RULE_KINDS: dict[tuple[Status | None, Status], Kind] = {
    (None, Status.FAIL): Kind.FAILED,
    (Status.PASS, Status.FAIL): Kind.FAILED,
    (Status.FAIL, Status.PASS): Kind.RESOLVED,
    (None, Status.ERROR): Kind.ERRORED,
    (Status.PASS, Status.ERROR): Kind.ERRORED,
    (Status.FAIL, Status.ERROR): Kind.ERRORED,
    (Status.ERROR, Status.PASS): Kind.RECOVERED,
    (Status.ERROR, Status.FAIL): Kind.RECOVERED,
}


@dataclass(frozen=True, slots=True)
class Track:
    """What the store remembers of one (account, rule) between scans."""

    finding: Finding
    streak: int  # consecutive scans with an ERROR finding; 0 when the finding is not ERROR
    announced: Status | None  # the status receivers know; None: nothing settled yet
    announced_since: str | None  # ISO time ``announced`` took its value (Alertmanager startsAt)


@dataclass(frozen=True, slots=True)
class Transition:
    """One change worth telling a receiver; ``rule`` is None for an account's own transitions."""

    kind: Kind
    key: str  # the idempotency key
    scan: str  # the scan's identity (its start time, ISO 8601)
    at: str  # when it was observed: the scan's end, ISO 8601
    account_id: str
    account_name: str
    rule: str | None = None
    from_status: Status | None = None
    to_status: Status | None = None
    finding: Finding | None = None  # the finding now (None when the account disappeared)
    previous: Finding | None = None  # the finding the announced status came from
    detail: str = ""  # one line in plain words

    def to_json(self) -> dict[str, Any]:
        return encode_object(self)

    @classmethod
    def from_json(cls, data: object) -> Transition:
        return decode(cls, data)


@dataclass(frozen=True, slots=True)
class AlertmanagerAlert:
    """One alert of an Alertmanager batch; ``ends_at`` is set only when it is resolved."""

    account_id: str
    account_name: str
    rule: str
    title: str
    severity: str
    reason: str
    starts_at: str
    ends_at: str | None = None
    broken_link: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The state after a scan and what to tell receivers about it."""

    tracks: ByAccount[Track]
    accounts: dict[str, str]  # account id -> name, every account known after this scan
    transitions: list[Transition]
    alerts: list[AlertmanagerAlert] = field(default_factory=list)


def idempotency_key(
    account_id: str,
    *,
    rule: str | None,
    from_status: Status | None,
    to_status: Status | None,
    kind: Kind,
    scan: str,
) -> str:
    parts = (account_id, rule or "", from_status or "", to_status or "", kind, scan)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def settle(
    status: Status, streak: int, announced: Status | None, error_after_scans: int
) -> Status | None:
    """The status to announce: ``status``, unless it is an ERROR still too young to tell."""
    if status is Status.ERROR and streak < error_after_scans:
        return announced
    return status


def advance(
    tracks: Mapping[PairKey, Track],
    known_accounts: Mapping[str, str],
    findings: Iterable[Finding],
    accounts: Mapping[str, str] | None,
    *,
    scan: str,
    at: str,
    error_after_scans: int,
    baseline: bool,
    alertmanager: bool = True,
) -> Outcome:
    """Fold one scan's findings into the tracks; see the module docstring for the rules.

    ``accounts`` maps the account ids the organization listing returned (in this shard's scope)
    to their names, or is ``None`` when the listing failed. ``scan`` identifies the scan (its
    start time), ``at`` is when it finished; both are ISO 8601 text. ``alertmanager``: whether
    to draw the Alertmanager batch (only a receiver of it needs the whole picture's alerts).
    """
    current: dict[PairKey, Finding] = {}
    for finding in findings:
        current[(finding.account_id, finding.rule)] = finding
    names = {f.account_id: f.account_name for f in current.values()}
    if accounts is not None:
        names = {**accounts, **names}
        present = set(names)
    else:
        present = set(names) | set(known_accounts)
    transitions: list[Transition] = []

    def emit(
        kind: Kind,
        account_id: str,
        name: str,
        *,
        rule: str | None = None,
        from_status: Status | None = None,
        to_status: Status | None = None,
        finding: Finding | None = None,
        previous: Finding | None = None,
        detail: str = "",
    ) -> None:
        key = idempotency_key(
            account_id,
            rule=rule,
            from_status=from_status,
            to_status=to_status,
            kind=kind,
            scan=scan,
        )
        transitions.append(
            Transition(
                kind=kind,
                key=key,
                scan=scan,
                at=at,
                account_id=account_id,
                account_name=name,
                rule=rule,
                from_status=from_status,
                to_status=to_status,
                finding=finding,
                previous=previous,
                detail=detail,
            )
        )

    judged_accounts = accounts is not None and not baseline
    if judged_accounts:
        for account_id in sorted(present - set(known_accounts)):
            mine = [f for f in current.values() if f.account_id == account_id]
            emit(
                Kind.ACCOUNT_APPEARED,
                account_id,
                names[account_id],
                detail=f"account appeared: {_summary(mine)}",
            )

    new_tracks: dict[PairKey, Track] = {}
    for pair, finding in current.items():
        old = tracks.get(pair)
        streak = (old.streak if old else 0) + 1 if finding.status is Status.ERROR else 0
        announced = old.announced if old else None
        since = old.announced_since if old else None
        settled = settle(finding.status, streak, announced, error_after_scans)
        if finding.suppressed:  # an accepted exception: receivers hear nothing until it expires
            settled = None
        if settled is not None and settled != announced:
            kind = RULE_KINDS.get((announced, settled))
            if kind is not None and not baseline:
                emit(
                    kind,
                    finding.account_id,
                    finding.account_name,
                    rule=finding.rule,
                    from_status=announced,
                    to_status=settled,
                    finding=finding,
                    previous=old.finding if old else None,
                    detail=_rule_detail(kind, announced, settled, finding, streak),
                )
            announced, since = settled, at
        if (
            old is not None
            and old.finding is finding
            and (old.streak, old.announced, old.announced_since) == (streak, announced, since)
        ):
            new_tracks[pair] = old  # unchanged (the daemon hands back unchanged findings)
        else:
            new_tracks[pair] = Track(finding, streak, announced, since)

    kept = (
        _kept(tracks, new_tracks, present) if accounts is None else ByAccount.of(new_tracks.items())
    )

    gone = sorted(set(known_accounts) - present) if accounts is not None else []
    if judged_accounts:
        for account_id in gone:
            emit(
                Kind.ACCOUNT_DISAPPEARED,
                account_id,
                known_accounts[account_id],
                detail="account disappeared from the organization listing (or this shard)",
            )

    known = {a: names.get(a) or known_accounts.get(a, "") for a in present}
    return Outcome(
        tracks=kept,
        accounts=known,
        transitions=transitions,
        alerts=alertmanager_batch(tracks, kept, at) if alertmanager else [],
    )


def _kept(
    tracks: Mapping[PairKey, Track], new: Mapping[PairKey, Track], present: set[str]
) -> ByAccount[Track]:
    """The tracks after a scan that did not judge the listing (it failed, or the event path
    re-judged some accounts): the new ones, and what was known of every other pair of an
    account still present. Only the accounts judged get new rows; the others are shared."""
    old = tracks if isinstance(tracks, ByAccount) else ByAccount.of(tracks.items())
    rows = by_account(new.items())
    for account_id, row in rows.items():
        for rule, track in old.account(account_id):
            row.setdefault(rule, track)
    for account_id in old.accounts():
        if account_id not in present:
            rows.setdefault(account_id, {})  # its rows go
    return old.replaced(rows)


def alertmanager_batch(
    before: Mapping[PairKey, Track], after: Mapping[PairKey, Track], at: str
) -> list[AlertmanagerAlert]:
    """Every pair announced FAIL now (firing), and every pair that stopped being so (resolved)."""
    alerts = [
        _am_alert(track, track.announced_since or at, None)
        for _, track in sorted(after.items())
        if _firing(track)
    ]
    for pair, track in sorted(before.items()):
        now = after.get(pair)
        if _firing(track) and (now is None or not _firing(now)):
            alerts.append(_am_alert(track, track.announced_since or at, at))
    return alerts


def _firing(track: Track) -> bool:
    """Announced FAIL and not suppressed: a suppression silences Alertmanager too."""
    return track.announced is Status.FAIL and not track.finding.suppressed


def _am_alert(track: Track, starts_at: str, ends_at: str | None) -> AlertmanagerAlert:
    f = track.finding
    return AlertmanagerAlert(
        account_id=f.account_id,
        account_name=f.account_name,
        rule=f.rule,
        title=f.title,
        severity=f.severity,
        reason=f.reason,
        starts_at=starts_at,
        ends_at=ends_at,
        broken_link=f.broken_link.value if f.broken_link else None,
    )


def _summary(findings: list[Finding]) -> str:
    counts = Counter(f.status for f in findings)
    parts = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])
    return f"{len(findings)} rules evaluated" + (f": {parts}" if parts else "")


def _rule_detail(
    kind: Kind, announced: Status | None, settled: Status, finding: Finding, streak: int
) -> str:
    was = f"was {announced.value}" if announced else "first seen"
    if kind is Kind.ERRORED:
        return f"cannot be judged for {streak} scans in a row ({was}): {finding.reason}"
    return f"now {settled.value} ({was}): {finding.reason}"
