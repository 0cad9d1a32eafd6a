"""The report formats of :mod:`scanner.report` on the command line: the clock and the environment.

The writers are pure; what they cannot know is read here, once: the time (when the inventory
was collected — a saved inventory keeps it — or, for one without it, now), the scanner's
version, and the region ASFF findings are meant for (``AWS_REGION``, then
``AWS_DEFAULT_REGION``, as the AWS CLI reads them; us-east-1 without either). The chunks are
written as the writer yields them, so a streaming format never holds more than one finding's
text.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime

from scanner.catalog import Profile, load_catalog
from scanner.cli.output import Out
from scanner.errors import UsageError
from scanner.model import Finding, Inventory
from scanner.report import FORMATS, ReportContext
from scanner.report.compact import COMPACT
from scanner.version import installed_version

DEFAULT_REGION = "us-east-1"


def version() -> str:
    return installed_version("")


def observed_at(inventory: Inventory) -> datetime:
    """When the inventory was collected (a saved one keeps it), else now: what the findings see."""
    text = inventory.collected_at
    if not text:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"invalid inventory: collected_at {text!r} is not an ISO 8601 time"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def context(profile: Profile, inventory: Inventory, detail: str = COMPACT) -> ReportContext:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return ReportContext.of(
        load_catalog(),
        profile,
        inventory,
        observed_at(inventory),
        version=version(),
        region=region or DEFAULT_REGION,
        detail=detail,
    )


def export(
    out: Out,
    name: str,
    findings: Iterable[Finding],
    profile: Profile,
    inventory: Inventory,
    *,
    detail: str = COMPACT,
) -> None:
    """Write the findings in format ``name`` (a key of :data:`scanner.report.FORMATS`);
    ``detail`` is ``--detail`` (jsonl's shape, see :mod:`scanner.report.compact`)."""
    for chunk in FORMATS[name].write(findings, context(profile, inventory, detail)):
        out.stream.write(chunk)
