"""What every writer needs besides the findings: when, under which profile, where each account sits.

The writers are pure (no clock, no files, no environment): the shell builds one
:class:`ReportContext` — the scan time, the scanner's version, the inventory for OU paths and
partitions, the standards' titles — and hands it to whichever writer the
user chose. Everything a format derives from a finding beyond its own fields comes from here, so
two formats never disagree about an account's OU path or which control numbers they show (the
finding's own ``controls``, in the order of the profile's identifiers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from scanner.catalog import Catalog, Profile, identifier_label
from scanner.model import Account, Finding, Inventory, Link, LinkResult, LinkStatus, Status
from scanner.report.compact import COMPACT

# CloudFormation's resource type of the resource each link is judged on: the vocabulary OCSF's
# ``resources[].type`` and the CSV use. ASFF has its own names (:mod:`scanner.report.asff`).
RESOURCE_TYPES: Mapping[Link, str] = {
    Link.TRAIL: "AWS::CloudTrail::Trail",
    Link.LOGGING: "AWS::CloudTrail::Trail",
    Link.SELECTORS: "AWS::CloudTrail::Trail",
    Link.LOG_GROUP: "AWS::Logs::LogGroup",
    Link.FILTER: "AWS::Logs::MetricFilter",
    Link.ALARM: "AWS::CloudWatch::Alarm",
    Link.ALARM_CONDITION: "AWS::CloudWatch::Alarm",
    Link.ACTIONS: "AWS::CloudWatch::Alarm",
    Link.TOPIC: "AWS::SNS::Topic",
    Link.SUBSCRIBER: "AWS::SNS::Topic",
    Link.TOPIC_KEY: "AWS::KMS::Key",
    Link.TOPIC_POLICY: "AWS::SNS::TopicPolicy",
    Link.DELIVERY: "AWS::SNS::Subscription",
}


@dataclass(frozen=True, slots=True)
class Control:
    """A rule's number in one standard: key ``cis-5.0``, its standard's title, id ``4.1``."""

    key: str  # the identifier family, as the catalog names it
    standard: str  # the standard's title
    id: str  # the control's number in that standard

    @property
    def label(self) -> str:
        """How people write it: ``CIS 5.0 4.1``, ``Security Hub CloudWatch.1``."""
        return f"{identifier_label(self.key)} {self.id}"


def standard_titles(catalog: Catalog) -> dict[str, str]:
    """Each identifier family's standard, by the title of the profile of the same name."""
    return {p.name: p.title for p in catalog.profiles}


@dataclass(frozen=True)
class ReportContext:
    """The facts around a set of findings; ``scanned_at`` must be timezone-aware."""

    scanned_at: datetime
    profile: Profile
    inventory: Inventory = field(default_factory=Inventory)
    standards: Mapping[str, str] = field(default_factory=dict)  # identifier key -> title
    version: str = ""  # the scanner's version, for the formats that name the producing tool
    rationale: Mapping[str, str] = field(default_factory=dict)  # rule id -> why it matters
    region: str = "us-east-1"  # where the findings are imported (ASFF's ProductArn)
    # ``compact``: JSONL writes each verdict, chain and fix once (scanner.report.compact);
    # ``full``: inline.
    detail: str = COMPACT

    @classmethod
    def of(
        cls,
        catalog: Catalog,
        profile: Profile,
        inventory: Inventory,
        scanned_at: datetime,
        *,
        version: str = "",
        region: str = "us-east-1",
        detail: str = COMPACT,
    ) -> ReportContext:
        if scanned_at.tzinfo is None:
            raise ValueError("scanned_at must be timezone-aware")
        return cls(
            scanned_at=scanned_at,
            profile=profile,
            inventory=inventory,
            standards=standard_titles(catalog),
            version=version,
            region=region,
            detail=detail,
            rationale={rule.id: rule.rationale for rule in catalog.rules_in(profile)},
        )

    @cached_property
    def timestamp(self) -> str:
        """The scan time as RFC 3339 in UTC with a ``Z``: what ASFF, OCSF and JUnit accept
        (written on every finding: formatted once)."""
        text = self.scanned_at.astimezone(UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")

    @property
    def epoch_ms(self) -> int:
        """The scan time in milliseconds since the epoch (OCSF's ``timestamp_t``)."""
        return int(self.scanned_at.timestamp() * 1000)

    def account(self, account_id: str) -> Account | None:
        return self.inventory.account(account_id)

    def ou_path(self, account_id: str) -> tuple[str, ...]:
        account = self.account(account_id)
        return account.ou_path if account is not None else ()

    def partition(self, account_id: str) -> str:
        account = self.account(account_id)
        return account.partition if account is not None else "aws"

    def controls_of(self, finding: Finding) -> tuple[Control, ...]:
        """The finding's control numbers in the standards its profile lists, in that order."""
        return tuple(
            Control(key, self.standards.get(key, identifier_label(key)), finding.controls[key])
            for key in self.profile.identifiers
            if key in finding.controls
        )


def finding_uid(finding: Finding) -> str:
    """Stable across scans, so a later scan updates the same finding in a tool that imports it."""
    return f"scanner/{finding.profile}/{finding.account_id}/{finding.rule}"


def focus(finding: Finding) -> LinkResult | None:
    """The link a finding is about: the broken one of a FAIL, the first unknown one of an ERROR."""
    if finding.broken_link is not None:
        wanted = [r for r in finding.chain if r.link is finding.broken_link]
    elif finding.status is Status.ERROR:
        wanted = [r for r in finding.chain if r.status is LinkStatus.UNKNOWN]
    else:
        wanted = []
    return wanted[0] if wanted else None


def region_of(finding: Finding) -> str | None:
    """Where the finding's chain lives: the region of the link it is about, else of its trail."""
    link = focus(finding)
    if link is not None and link.region:
        return link.region
    return next((r.region for r in finding.chain if r.region), None)
