"""Remediation: how to fix failing controls, in the accounts' own names, one change per cause.

The layer turns FAIL findings into the console steps, AWS CLI commands, Terraform and
CloudFormation that repair each broken link and every later link that is not ok. It is pure (no
I/O; the standard library and the core only):

* :mod:`.plan` decides which steps repair one finding and resolves their values once;
* :mod:`.grants` holds the policy statements that let CloudWatch alarms notify a topic (publish,
  use its key), and merges one into a policy;
* :mod:`.account` groups the plans of many findings by the account the fix acts in, so that each
  change (a step on one resource) is written once, naming the findings it repairs;
* :mod:`.formats` writes an account's changes in one format per module, behind ``ASSEMBLERS``;
* :mod:`.render` ties them together: a finding's own fix (``remediation_for``, which the
  evaluator stores in the finding) and an account's (``plan_accounts`` then ``render``;
  ``listing`` is what ``scanner remediate`` prints).

This module only re-exports.
"""

from scanner.remediation.account import AccountRemediation, Change
from scanner.remediation.formats import ASSEMBLERS, FORMATS, Document, Format
from scanner.remediation.plan import (
    STEP_ORDER,
    FindingPlan,
    RemediationContext,
    Step,
    plan_finding,
)
from scanner.remediation.render import (
    Fixes,
    Remediation,
    both_ways,
    failing_lines,
    files,
    fix_plan,
    listing,
    plan_account,
    plan_accounts,
    plan_of,
    remediation_for,
    render,
)

__all__ = [
    "ASSEMBLERS",
    "FORMATS",
    "STEP_ORDER",
    "AccountRemediation",
    "Change",
    "Document",
    "FindingPlan",
    "Fixes",
    "Format",
    "Remediation",
    "RemediationContext",
    "Step",
    "both_ways",
    "failing_lines",
    "files",
    "fix_plan",
    "listing",
    "plan_account",
    "plan_accounts",
    "plan_finding",
    "plan_of",
    "remediation_for",
    "render",
]
