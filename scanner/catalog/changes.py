"""The change events: which CloudTrail events can change a link of the chain, and the pattern.

Data first: ``changes.toml`` lists, per AWS service, the write calls (and the few service events)
that can change what a link of :data:`scanner.model.LINKS` reads; ``_changes_load.py`` validates
it. This module holds the values and the one derivation everything downstream shares:
:func:`event_pattern`, the EventBridge pattern of the member accounts' forwarding rule, which
``deploy/events/member-events.yaml`` carries verbatim.

Invariants (established by the loader):

* ``(event_source, name)`` is unique; catalog order is the data file's order.
* A ``chain`` event names at least one link, and its ``reads`` are exactly the reads of its
  links, in link order; an ``organization`` event names no link and at least one read; a
  ``forwarding`` event names neither (no read of the scanner sees the forwarding rule).
* Every link has reads, and every read of every link is redone by at least one event.

Reading a CloudTrail event arriving from EventBridge is :meth:`ChangeCatalog.classify`: the
envelope's ``detail-type`` and its ``detail``'s ``eventSource`` and ``eventName`` pick the entry,
or ``None`` for an event the catalog does not list (the pattern is a cross product of sources and
names, so it may let through a combination no entry has).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from scanner.model.chain import Link

Scope = Literal["chain", "organization", "forwarding"]
SCOPES: tuple[Scope, ...] = ("chain", "organization", "forwarding")

# EventBridge's detail-type of the two kinds of CloudTrail records the catalog lists.
API_CALL = "AWS API Call via CloudTrail"
SERVICE_EVENT = "AWS Service Event via CloudTrail"


class Read(NamedTuple):
    """One read call of the collector: the botocore client name and the operation."""

    service: str
    operation: str

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"


@dataclass(frozen=True)
class ChangeEvent:
    """One CloudTrail event that can change what the scanner reads.

    ``event_source`` and ``name`` are CloudTrail's ``eventSource`` and ``eventName``; ``source``
    and ``detail_type`` are what EventBridge puts in the envelope. ``links``: the links it can
    change (scope ``chain``); ``reads``: the calls to redo. ``resource``: dotted paths into the
    record (EventBridge's ``detail``) where it names what changed. ``arrives_in``: the only region
    EventBridge receives it in (a global service's), or ``None``: the region of the call.
    """

    event_source: str
    name: str
    source: str
    detail_type: str
    scope: Scope
    links: tuple[Link, ...]
    reads: tuple[Read, ...]
    resource: tuple[str, ...]
    arrives_in: str | None = None
    note: str | None = None

    def resources(self, detail: Mapping[str, Any]) -> tuple[str, ...]:
        """The names the record gives what changed (alarm names, a topic ARN, a key id...),
        in the order of ``resource``; a list at a path gives each of its strings."""
        found: list[str] = []
        for path in self.resource:
            for value in _at(detail, path.split(".")):
                if value not in found:
                    found.append(value)
        return tuple(found)


def _at(node: Any, path: list[str]) -> Iterator[str]:
    if not path:
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            yield from (item for item in node if isinstance(item, str))
        return
    if isinstance(node, Mapping) and path[0] in node:
        yield from _at(node[path[0]], path[1:])


@dataclass(frozen=True, eq=False)
class ChangeCatalog:
    """The change events, the reads of each link, and the forwarding rule's name."""

    events: tuple[ChangeEvent, ...]
    link_reads: Mapping[Link, tuple[Read, ...]]
    forwarding_rule: str

    def find(self, event_source: str, name: str) -> ChangeEvent | None:
        """The entry for a CloudTrail ``eventSource`` and ``eventName``, if the catalog has it."""
        for event in self.events:
            if event.event_source == event_source and event.name == name:
                return event
        return None

    def classify(self, envelope: Mapping[str, Any]) -> ChangeEvent | None:
        """The entry an EventBridge event (its envelope, as SQS delivers it) is, or ``None``."""
        detail = envelope.get("detail")
        if not isinstance(detail, Mapping):
            return None
        source, name = detail.get("eventSource"), detail.get("eventName")
        if not isinstance(source, str) or not isinstance(name, str):
            return None
        event = self.find(source, name)
        if event is None or envelope.get("detail-type") != event.detail_type:
            return None
        return event

    def affecting(self, link: Link) -> tuple[ChangeEvent, ...]:
        """The events that can change ``link``, in catalog order."""
        return tuple(event for event in self.events if link in event.links)

    def pattern(self) -> dict[str, Any]:
        """The EventBridge pattern matching every event of the catalog."""
        return event_pattern(self.events)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def event_pattern(events: Iterable[ChangeEvent]) -> dict[str, Any]:
    """The EventBridge event pattern that matches every one of ``events``.

    Each key's list is a set of accepted values (catalog order, once each); EventBridge ANDs the
    keys, so the pattern accepts every combination of the listed sources and names. That is a
    superset of the catalog: :meth:`ChangeCatalog.classify` drops what no entry lists.
    """
    listed = tuple(events)
    return {
        "detail-type": _unique(event.detail_type for event in listed),
        "source": _unique(event.source for event in listed),
        "detail": {
            "eventSource": _unique(event.event_source for event in listed),
            "eventName": _unique(event.name for event in listed),
        },
    }
