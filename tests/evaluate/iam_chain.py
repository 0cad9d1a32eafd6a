"""The names of the healthy iam-policy-changes chain the evaluate tests break, from the catalog.

The builders of :mod:`scanner.testing` name a rule's filter, metric and alarm after its
remediation names; tests that break one link by name take them from here, not from copies.
"""

from __future__ import annotations

from scanner.catalog import load_catalog
from scanner.testing import MEMBER_ACCOUNT_ID, topic_arn

RULE = "iam-policy-changes"
_NAMES = load_catalog().rule(RULE).remediation
FILTER = _NAMES.filter_name
ALARM = _NAMES.alarm_name
METRIC = _NAMES.metric_name
NAMESPACE = _NAMES.metric_namespace
TOPIC = topic_arn(MEMBER_ACCOUNT_ID)
