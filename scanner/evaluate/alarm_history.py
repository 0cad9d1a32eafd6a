"""Reading CloudWatch's alarm history: which alarms to look up, and what their actions say.

Pure. ``scanner scan --confirm`` also asks what AWS did when the alarms of the findings' chains
went off: ``cloudwatch:DescribeAlarmHistory`` with ``HistoryItemType=Action``, for the
:data:`HISTORY_DAYS` days before the collection (what CloudWatch keeps), newest first, at most
:data:`MAX_ITEMS` items. :func:`plan` writes one lookup per distinct alarm a chain uses (its
metric alarm, and the composite alarm that notifies for it), however many findings share it
(the members of an organization trail); :func:`read` turns the items into :class:`Action`
values, and :func:`apply` writes what they mean on the findings.

An Action item's ``HistorySummary`` reads ``Successfully executed action <arn>`` or
``Failed to execute action <arn>. Received error: "..."``; its ``HistoryData`` JSON carries
``actionState`` (``Succeeded`` | ``Failed``) and ``notificationResource`` (the topic).

Invariants:

* Only notifications to the chain's topic count (to any SNS topic when the chain names none).
* A failed notification is a note with AWS's text and time, and counted.
* A PASS whose notifying alarm's latest action to its topic failed (no later success) is a
  disagreement ("AWS's alarm history disagrees: ..."): a note and a count. A success is quiet.
* No verdict changes: the history tells what happened, not what will (a policy may have been
  fixed since), so a person reconciles the two. A lookup that failed is a note too.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scanner.model import Finding, Link, Status
from scanner.model.arns import arn_parts, is_sns_topic

HISTORY_DAYS = 14  # how long CloudWatch keeps an alarm's history
MAX_ITEMS = 100  # history items read per alarm (DescribeAlarmHistory's largest page)

HISTORY = "AWS's alarm history"
DISAGREES = f"{HISTORY} disagrees"
_SUCCEEDED = "Successfully executed action "
_FAILED = "Failed to execute action "
_ALARM_LINKS = (Link.ALARM, Link.ALARM_CONDITION, Link.ACTIONS)


@dataclass(frozen=True, slots=True)
class Lookup:
    """One DescribeAlarmHistory lookup; ``findings`` are the indices of the findings it
    concerns."""

    account_id: str
    region: str
    alarm_name: str
    findings: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Action:
    """One action an alarm executed or failed to: where to (``target``) and AWS's words."""

    alarm_name: str
    timestamp: datetime
    target: str
    succeeded: bool
    summary: str

    @property
    def when(self) -> str:
        return self.timestamp.isoformat(timespec="seconds")


def history_start(collected_at: str | None) -> datetime | None:
    """StartDate of the lookups: :data:`HISTORY_DAYS` before the collection, or ``None`` when
    the inventory does not say when it was collected."""
    if not collected_at:
        return None
    try:
        collected = datetime.fromisoformat(collected_at)
    except ValueError:
        return None
    return _aware(collected) - timedelta(days=HISTORY_DAYS)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _alarm(arn: str) -> tuple[str, str, str] | None:
    """(account, region, name) of an alarm ARN (metric or composite), else ``None``."""
    try:
        _, service, region, account, resource = arn_parts(arn)
    except ValueError:
        return None
    if service != "cloudwatch" or not resource.startswith("alarm:"):
        return None
    name = resource.removeprefix("alarm:")
    return (account, region, name) if name and region and account else None


def _alarms(finding: Finding) -> list[tuple[str, str, str]]:
    """The alarms the finding's chain uses: its metric alarm, and the composite that notifies."""
    found = (_alarm(r.resource) for r in finding.chain if r.link in _ALARM_LINKS)
    return list(dict.fromkeys(a for a in found if a is not None))


def _notifier(finding: Finding) -> tuple[str, str, str] | None:
    link = next((r for r in finding.chain if r.link is Link.ACTIONS), None)
    return _alarm(link.resource) if link is not None else None


def _topic(finding: Finding) -> str | None:
    link = next((r for r in finding.chain if r.link is Link.TOPIC), None)
    return link.resource if link is not None and is_sns_topic(link.resource) else None


def plan(findings: Sequence[Finding]) -> list[Lookup]:
    """One lookup per distinct alarm the findings' chains use, in its account and region."""
    merged: dict[tuple[str, str, str], list[int]] = {}
    for index, finding in enumerate(findings):
        for alarm in _alarms(finding):
            merged.setdefault(alarm, []).append(index)
    return [Lookup(a, r, n, tuple(indices)) for (a, r, n), indices in merged.items()]


def _target(summary: str, prefix: str) -> str:
    """The ARN after the prefix (``...action <arn>. Received error: ...``)."""
    words = summary.removeprefix(prefix).split()
    return words[0].removesuffix(".") if words else ""


def _action(item: Mapping[str, Any]) -> Action | None:
    if item.get("HistoryItemType") != "Action":
        return None
    summary = item.get("HistorySummary")
    summary = summary if isinstance(summary, str) else ""
    try:
        data = json.loads(item.get("HistoryData") or "{}")
    except (TypeError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    state = data.get("actionState")
    if state in ("Succeeded", "Failed"):
        succeeded = state == "Succeeded"
    elif summary.startswith((_SUCCEEDED, _FAILED)):
        succeeded = summary.startswith(_SUCCEEDED)
    else:
        return None  # neither says: no claim either way
    target = data.get("notificationResource")
    if not isinstance(target, str) or not target:
        target = _target(summary, _SUCCEEDED if succeeded else _FAILED)
    stamp = item.get("Timestamp")
    if isinstance(stamp, str):
        try:
            stamp = datetime.fromisoformat(stamp)
        except ValueError:
            return None
    if not isinstance(stamp, datetime):
        return None
    name = item.get("AlarmName")
    return Action(str(name or ""), _aware(stamp), target, succeeded, summary)


def read(items: Iterable[Mapping[str, Any]]) -> tuple[Action, ...]:
    """The Action items of a DescribeAlarmHistory answer that say what happened, newest first."""
    actions = (_action(item) for item in items)
    known = (a for a in actions if a is not None)
    return tuple(sorted(known, key=lambda a: a.timestamp, reverse=True))


@dataclass(frozen=True, slots=True)
class Evidence:
    findings: list[Finding]
    lookups: int  # DescribeAlarmHistory lookups made
    disagreements: int  # (alarm, topic) pairs whose latest action failed on a PASS path
    failed_actions: int  # failed notifications found in the history
    failures: int  # lookups that failed


def _notes(
    finding: Finding,
    alarm: tuple[str, str, str],
    actions: Sequence[Action],
    disagreeing: set[tuple[tuple[str, str, str], str]],
    failed: set[Action],
) -> list[str]:
    topic = _topic(finding)
    notifies = finding.status is Status.PASS and alarm == _notifier(finding)
    _, region, name = alarm
    by_target: dict[str, list[Action]] = {}
    for action in actions:  # newest first
        if action.target == topic or (topic is None and is_sns_topic(action.target)):
            by_target.setdefault(action.target, []).append(action)
    notes = []
    for target, done in by_target.items():
        failures = [a for a in done if not a.succeeded]
        if not failures:
            continue
        failed.update(failures)
        latest, last_failure = done[0], failures[0]
        where = f"DescribeAlarmHistory in {region}"
        if notifies and target == topic and not latest.succeeded:
            disagreeing.add((alarm, target))
            notes.append(
                f'{DISAGREES}: alarm "{name}" failed to notify topic {target} at '
                f"{latest.when}, its latest action to that topic ({where}): {latest.summary}; "
                "the scanner says the path works"
            )
            continue
        text = (
            f'{HISTORY}: alarm "{name}" failed to notify topic {target} at '
            f"{last_failure.when} ({where}): {last_failure.summary}"
        )
        if len(failures) > 1:
            text += (
                f"; {len(failures)} failed actions to that topic in the {HISTORY_DAYS} days "
                "before the scan"
            )
        if latest.succeeded:
            text += f"; a later action, at {latest.when}, succeeded"
        notes.append(text)
    return notes


def apply(
    findings: Sequence[Finding],
    lookups: Sequence[Lookup],
    answers: Mapping[int, Sequence[Action] | str],
) -> Evidence:
    """Add what the alarms' histories say to the findings as notes; never change a verdict.

    ``answers`` maps a lookup's index to the alarm's actions (:func:`read`), or to why the
    lookup failed."""
    known: dict[tuple[str, str, str], Sequence[Action] | str] = {}
    failures = 0
    for index, lookup in enumerate(lookups):
        answer = answers.get(index)
        if answer is None:
            continue
        known[(lookup.account_id, lookup.region, lookup.alarm_name)] = answer
        failures += isinstance(answer, str)
    disagreeing: set[tuple[tuple[str, str, str], str]] = set()
    failed: set[Action] = set()
    out = []
    for finding in findings:
        notes: list[str] = []
        for alarm in _alarms(finding):
            answer = known.get(alarm)
            if isinstance(answer, str):
                notes.append(f'the history of alarm "{alarm[2]}" could not be read: {answer}')
            elif answer is not None:
                notes.extend(_notes(finding, alarm, answer, disagreeing, failed))
        out.append(
            dataclasses.replace(finding, notes=tuple(dict.fromkeys((*finding.notes, *notes))))
            if notes
            else finding
        )
    return Evidence(out, len(answers), len(disagreeing), len(failed), failures)
