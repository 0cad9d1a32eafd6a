"""Turn ``changes.toml`` into a validated :class:`ChangeCatalog`.

The data file writes facts: per service its CloudTrail and EventBridge names, per event the links
it changes (or, outside the chain, the listing calls to redo), and per link the reads its verdict
rests on. This module derives each chain event's reads from its links, so no read list is copied
by hand, and fails with a :class:`CatalogError` naming the service, event and field: unknown
keys, unknown links, scopes or read names, duplicates, a chain event without links, an
organization event without reads, a link without reads, a read no event redoes.

The only I/O is reading the data file shipped inside the package, once per process.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from scanner.catalog._load import _Table
from scanner.catalog.changes import (
    API_CALL,
    SCOPES,
    SERVICE_EVENT,
    ChangeCatalog,
    ChangeEvent,
    Read,
)
from scanner.errors import CatalogError
from scanner.model.chain import LINKS, Link

DATA_FILE = "changes.toml"
_READ = re.compile(r"([a-z0-9-]+):([A-Z][A-Za-z0-9]+)\Z")
_EVENT_SOURCE = re.compile(r"[a-z0-9-]+\.amazonaws\.com\Z")
_SOURCE = re.compile(r"aws\.[a-z0-9-]+\Z")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d\Z")
_NAME = re.compile(r"[A-Z][A-Za-z0-9]+\Z")


def _reads(table: _Table, key: str) -> tuple[Read, ...]:
    reads = []
    for text in table.texts(key, required=False):
        match = _READ.match(text)
        if match is None:
            raise table.fail(key, f"{text!r} is not '<client>:<Operation>'")
        reads.append(Read(match[1], match[2]))
    return tuple(reads)


def _links(table: _Table) -> tuple[Link, ...]:
    links = []
    for name in table.texts("links", required=False):
        try:
            links.append(Link(name))
        except ValueError:
            known = ", ".join(spec.link.value for spec in LINKS)
            raise table.fail("links", f"unknown link {name!r} (links: {known})") from None
    return tuple(sorted(links, key=lambda link: link.position))


def _link_reads(table: _Table) -> dict[Link, tuple[Read, ...]]:
    found = {spec.link: _reads(table, spec.link.value) for spec in LINKS}
    table.done()
    for link, reads in found.items():
        if not reads:
            raise table.fail(link.value, "every link rests on some read")
    return found


def _event(
    raw: object, where: str, service: Mapping[str, str | None], link_reads: dict[Link, Any]
) -> ChangeEvent:
    table = _Table(raw, where, DATA_FILE)
    name = table.text("name")
    table.where = f"{where} {name!r}"
    if not _NAME.match(name):
        raise table.fail("name", f"{name!r} is not an API or service event name")
    scope_text = table.optional_text("scope") or "chain"
    scope = next((s for s in SCOPES if s == scope_text), None)
    if scope is None:
        raise table.fail("scope", f"expected one of {', '.join(SCOPES)}, got {scope_text!r}")
    links = _links(table)
    written = _reads(table, "reads")
    resource = table.texts("resource")
    if not resource:
        raise table.fail("resource", "name where the record says what changed")
    if scope == "chain":
        if not links:
            raise table.fail("links", "a chain event changes at least one link")
        if written:
            raise table.fail("reads", "a chain event's reads are its links' reads")
        reads = tuple(dict.fromkeys(read for link in links for read in link_reads[link]))
    elif scope == "organization":
        if links or not written:
            raise table.fail("reads", "an organization event names reads and no links")
        reads = written
    else:
        if links or written:
            raise table.fail("links", "no read of the scanner sees the forwarding rule")
        reads = ()
    event = ChangeEvent(
        event_source=str(service["event_source"]),
        name=name,
        source=str(service["source"]),
        detail_type=SERVICE_EVENT if table.flag("service_event") else API_CALL,
        scope=scope,
        links=links,
        reads=reads,
        resource=resource,
        arrives_in=service["arrives_in"],
        note=table.optional_text("note"),
    )
    table.done()
    return event


def _service(raw: object, index: int, link_reads: dict[Link, Any]) -> list[ChangeEvent]:
    table = _Table(raw, f"service #{index + 1}", DATA_FILE)
    event_source = table.text("event_source")
    table.where = f"service {event_source!r}"
    if not _EVENT_SOURCE.match(event_source):
        raise table.fail("event_source", "expected '<service>.amazonaws.com'")
    source = table.text("source")
    if not _SOURCE.match(source):
        raise table.fail("source", f"expected EventBridge's 'aws.<service>', got {source!r}")
    arrives_in = table.optional_text("arrives_in")
    if arrives_in is not None and not _REGION.match(arrives_in):
        raise table.fail("arrives_in", f"{arrives_in!r} is not a region")
    facts = {"event_source": event_source, "source": source, "arrives_in": arrives_in}
    where = f"{table.where}, event"
    events = [_event(raw, where, facts, link_reads) for raw in table.tables("event")]
    table.done()
    return events


def build_changes(data: Mapping[str, Any]) -> ChangeCatalog:
    """Validate parsed ``changes.toml`` data; raise :class:`CatalogError` if it is wrong."""
    top = _Table(data, "top level", DATA_FILE)
    forwarding = top.table("forwarding", "forwarding")
    rule_name = forwarding.text("rule_name")
    forwarding.done()
    link_reads = _link_reads(top.table("reads", "reads"))
    events = [
        event
        for index, raw in enumerate(top.tables("service"))
        for event in _service(raw, index, link_reads)
    ]
    top.done()
    seen: set[tuple[str, str]] = set()
    for event in events:
        key = (event.event_source, event.name)
        if key in seen:
            raise CatalogError(f"{DATA_FILE}: event {event.name!r} of {key[0]} is listed twice")
        seen.add(key)
    redone = {read for event in events for read in event.reads}
    for link, reads in link_reads.items():
        for read in reads:
            if read not in redone:
                raise CatalogError(
                    f"{DATA_FILE}: reads, field {link.value!r}: no event redoes {read}: "
                    "a change to what it reads would go unnoticed"
                )
    return ChangeCatalog(
        events=tuple(events),
        link_reads=MappingProxyType(link_reads),
        forwarding_rule=rule_name,
    )


@cache
def load_changes() -> ChangeCatalog:
    """The change catalog shipped with the package (read and validated once per process)."""
    raw = resources.files("scanner.catalog").joinpath(DATA_FILE).read_bytes()
    return build_changes(tomllib.loads(raw.decode("utf-8")))
