"""Remediation: how to fix a failing control, in the account's own names.

The layer turns a FAIL finding into the console steps, AWS CLI commands, Terraform and
CloudFormation that repair its broken link and every later link that is not ok. It is pure (no
I/O, standard library and the core only): :mod:`.plan` decides which steps apply and resolves
their values once; each module of :mod:`.formats` writes that plan in one format, behind the
``ASSEMBLERS`` table; :mod:`.render` ties them together. This module only re-exports.
"""

from scanner.remediation.formats import ASSEMBLERS, FORMATS, Format
from scanner.remediation.plan import (
    STEP_ORDER,
    FindingPlan,
    RemediationContext,
    Step,
    plan_finding,
)
from scanner.remediation.render import remediation_for

__all__ = [
    "ASSEMBLERS",
    "FORMATS",
    "STEP_ORDER",
    "FindingPlan",
    "Format",
    "RemediationContext",
    "Step",
    "plan_finding",
    "remediation_for",
]
