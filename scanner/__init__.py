"""Prove, account by account across an AWS Organization, that CloudTrail monitoring works.

A control works only when the whole chain does: a multi-region trail that logs every management
event into CloudWatch Logs, a metric filter whose pattern *means* what the control needs, an
alarm on that metric that fires on one event, and an SNS topic somebody listens to. The pure
core (``catalog``, ``patterns``, ``model``, ``evaluate``, ``remediation``) decides; ``aws``
collects; ``cli`` and ``daemon`` report.
"""
