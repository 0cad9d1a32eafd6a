"""What the evaluator derives from an inventory: one finding per account and rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.model.chain import Link, LinkStatus, Status
from scanner.model.codec import decode, encode_object


@dataclass(frozen=True, slots=True)
class LinkResult:
    """The verdict on one link of one chain, and the resource it was judged on."""

    link: Link
    status: LinkStatus
    resource: str = ""  # an ARN, or a name when there is no ARN (metric filters)
    account_id: str = ""
    region: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    account_id: str
    account_name: str
    rule: str
    title: str
    severity: str
    profile: str
    status: Status
    reason: str
    broken_link: Link | None = None
    chain: tuple[LinkResult, ...] = ()
    reference: str | None = None  # the name of the reference pattern judged against
    missed_events: tuple[dict[str, Any], ...] = ()
    # The pattern text of the metric filter(s) judged against ``reference``: the chain's one,
    # each of a union of working chains, empty when no filter was reached (or in findings
    # saved before it existed). What a user compares the missed events with.
    patterns: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    remediation: dict[str, str] = field(default_factory=dict)
    # The rule's number in each standard, from the catalog: {"cis-5.0": "4.4", ...,
    # "securityhub": "CloudWatch.4"}; empty in findings saved before it existed.
    controls: dict[str, str] = field(default_factory=dict)
    # An accepted exception (scanner.evaluate.suppressions): the status stands, no alert is
    # sent. ``suppression`` says why and until when, or that the suppression has expired.
    suppressed: bool = False
    suppression: str | None = None

    @classmethod
    def from_json(cls, data: object) -> Finding:
        return decode(cls, data)

    def to_json(self) -> dict[str, Any]:
        return encode_object(self)
