"""What ``--confirm`` reads of the alarms' history, and how failed notifications become notes
(never verdicts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evaluate.alarm_history_items import action_item, failed_summary
from evaluate.iam_chain import ALARM, RULE, TOPIC

from scanner.evaluate import evaluate
from scanner.evaluate.alarm_history import (
    DISAGREES,
    HISTORY,
    apply,
    history_start,
    plan,
    read,
)
from scanner.model import CompositeAlarm, Finding, Inventory, Status
from scanner.testing import (
    MEMBER_ACCOUNT_ID,
    alarm_arn,
    healthy_account,
    organization,
    single_account,
    with_alarm,
    with_region,
    with_topic,
)

ALARM_ARN = alarm_arn(MEMBER_ACCOUNT_ID, "us-east-1", ALARM)
EARLY = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
LATE = EARLY + timedelta(hours=2)


def findings_of(inventory: Inventory) -> list[Finding]:
    return [f for f in evaluate(inventory) if f.rule == RULE]


def passing() -> list[Finding]:
    (finding,) = findings_of(single_account(healthy_account(rules=[RULE])))
    assert finding.status is Status.PASS
    return [finding]


def test_awss_action_items_are_read_newest_first_and_other_items_are_left_out() -> None:
    failed = action_item(ALARM_ARN, TOPIC, EARLY, succeeded=False)
    succeeded = action_item(ALARM_ARN, TOPIC, LATE, succeeded=True)
    state = {**succeeded, "HistoryItemType": "StateUpdate", "HistorySummary": "Alarm updated"}
    # Without HistoryData the summary still says what happened and to which topic.
    fifo = "arn:aws:sns:us-east-1:222222222222:alerts.fifo"
    bare = {**action_item(ALARM_ARN, fifo, EARLY, succeeded=False), "HistoryData": None}
    bare["HistorySummary"] = failed_summary(ALARM_ARN, fifo)
    actions = read([failed, state, succeeded, bare])
    assert [(a.succeeded, a.target, a.when) for a in actions] == [
        (True, TOPIC, LATE.isoformat()),
        (False, TOPIC, EARLY.isoformat()),
        (False, fifo, EARLY.isoformat()),
    ]
    assert actions[1].summary.startswith(f"Failed to execute action {TOPIC}. Received error:")
    assert actions[1].alarm_name == ALARM


def test_the_lookups_start_fourteen_days_before_the_collection() -> None:
    assert history_start("2026-12-07T06:00:00+00:00") == datetime(2026, 11, 23, 6, tzinfo=UTC)
    assert history_start(None) is None


def test_one_lookup_per_alarm_however_many_findings_share_it() -> None:
    inventory = organization(3, rules=[RULE])
    findings = findings_of(inventory)
    assert len(findings) == 4 and all(f.status is Status.PASS for f in findings)
    (lookup,) = plan(findings)
    assert (lookup.account_id, lookup.region) == ("111111111111", "us-east-1")
    assert lookup.alarm_name == ALARM
    assert lookup.findings == (0, 1, 2, 3)


def test_a_composite_that_notifies_is_looked_up_beside_its_metric_alarm() -> None:
    name = "security-composite"
    composite = CompositeAlarm(
        name=name,
        arn=alarm_arn(MEMBER_ACCOUNT_ID, "us-east-1", name),
        alarm_rule=f"ALARM({ALARM})",
        alarm_actions=(TOPIC,),
    )
    account = with_alarm(healthy_account(rules=[RULE]), ALARM, alarm_actions=())
    account = with_region(account, "us-east-1", composite_alarms=(composite,))
    findings = findings_of(single_account(account))
    assert findings[0].status is Status.PASS
    assert {lookup.alarm_name for lookup in plan(findings)} == {ALARM, name}

    # Only the notifying composite's failure contradicts the PASS.
    failed = read([action_item(composite.arn, TOPIC, LATE, succeeded=False)])
    lookups = plan(findings)
    answers = {i: failed if lk.alarm_name == name else () for i, lk in enumerate(lookups)}
    evidence = apply(findings, lookups, answers)
    assert evidence.disagreements == 1
    assert evidence.findings[0].notes[-1].startswith(f'{DISAGREES}: alarm "{name}" failed')


def test_a_pass_whose_latest_notification_failed_is_a_noted_disagreement() -> None:
    findings = passing()
    lookups = plan(findings)
    actions = read(
        [
            action_item(ALARM_ARN, TOPIC, EARLY, succeeded=True),
            action_item(ALARM_ARN, TOPIC, LATE, succeeded=False),
        ]
    )
    evidence = apply(findings, lookups, {0: actions})
    assert (evidence.lookups, evidence.disagreements, evidence.failed_actions) == (1, 1, 1)
    (finding,) = evidence.findings
    assert finding.status is Status.PASS  # the verdict stays
    assert finding.notes[-1] == (
        f'{DISAGREES}: alarm "{ALARM}" failed to notify topic {TOPIC} at '
        f"{LATE.isoformat()}, its latest action to that topic (DescribeAlarmHistory in "
        f"us-east-1): {failed_summary(ALARM_ARN, TOPIC)}; the scanner says the path works"
    )


def test_a_failure_followed_by_a_success_is_noted_but_not_a_disagreement() -> None:
    findings = passing()
    actions = read(
        [
            action_item(ALARM_ARN, TOPIC, EARLY, succeeded=False),
            action_item(ALARM_ARN, TOPIC, EARLY + timedelta(minutes=5), succeeded=False),
            action_item(ALARM_ARN, TOPIC, LATE, succeeded=True),
        ]
    )
    evidence = apply(findings, plan(findings), {0: actions})
    assert (evidence.disagreements, evidence.failed_actions) == (0, 2)
    note = evidence.findings[0].notes[-1]
    assert note.startswith(f'{HISTORY}: alarm "{ALARM}" failed to notify topic {TOPIC} at ')
    assert "2 failed actions to that topic in the 14 days before the scan" in note
    assert note.endswith(f"a later action, at {LATE.isoformat()}, succeeded")


def test_successes_and_failures_to_other_topics_add_nothing() -> None:
    findings = passing()
    other = "arn:aws:sns:us-east-1:222222222222:someone-elses"
    actions = read(
        [
            action_item(ALARM_ARN, TOPIC, LATE, succeeded=True),
            action_item(ALARM_ARN, other, LATE, succeeded=False),
        ]
    )
    evidence = apply(findings, plan(findings), {0: actions})
    assert evidence.findings == findings
    assert (evidence.disagreements, evidence.failed_actions) == (0, 0)


def test_a_fail_with_a_failed_notification_carries_awss_text() -> None:
    account = healthy_account(rules=[RULE])
    account = with_topic(account, TOPIC, subscriptions=())
    findings = findings_of(single_account(account))
    assert findings[0].status is Status.FAIL
    actions = read([action_item(ALARM_ARN, TOPIC, EARLY, succeeded=False)])
    evidence = apply(findings, plan(findings), {0: actions})
    (finding,) = evidence.findings
    assert finding.status is Status.FAIL and finding.reason == findings[0].reason
    assert (evidence.disagreements, evidence.failed_actions) == (0, 1)
    assert finding.notes[-1] == (
        f'{HISTORY}: alarm "{ALARM}" failed to notify topic {TOPIC} at {EARLY.isoformat()} '
        f"(DescribeAlarmHistory in us-east-1): {failed_summary(ALARM_ARN, TOPIC)}"
    )


def test_a_failed_lookup_is_a_note_and_changes_no_verdict() -> None:
    findings = passing()
    answer = "cloudwatch DescribeAlarmHistory failed: AccessDenied: not allowed"
    evidence = apply(findings, plan(findings), {0: answer})
    assert evidence.failures == 1
    (finding,) = evidence.findings
    assert finding.status is Status.PASS
    assert finding.notes[-1] == f'the history of alarm "{ALARM}" could not be read: {answer}'
