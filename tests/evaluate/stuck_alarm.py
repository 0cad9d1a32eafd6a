"""One account whose iam-policy-changes alarm has sat in ALARM for three hours when the scan read
it: PASS at the default 24 h, FAIL (alarm_condition) once the limit is under three hours. The
daemon's and the CLI's tests of the setting read the same inventory."""

from __future__ import annotations

import dataclasses

from scanner.model import Inventory
from scanner.testing import healthy_account, single_account, with_alarm

RULE = "iam-policy-changes"


def alarm_in_alarm_for_three_hours() -> Inventory:
    account = healthy_account(rules=[RULE])
    alarm = next(a.name for r in account.regions.values() for a in r.alarms or ())
    account = with_alarm(
        account, alarm, state_value="ALARM", state_updated="2026-03-10T09:00:00+00:00"
    )
    return dataclasses.replace(single_account(account), collected_at="2026-03-10T12:00:00Z")
