"""Inventory + rules -> findings: the verdict of each (account, rule) over its chains.

Pure: reads an :class:`~scanner.model.Inventory`, returns findings; no I/O, no clock.

Theory of operation. For one account, every trail that can record its events starts *chains*:
its own trails (deduplicated by ARN across regions, since DescribeTrails shows multi-region and
organization trails in every region) and the organization trails of the management account,
which cover every member. A chain branches at each choice the data offer: each metric filter of
the trail's log group, each alarm watching that filter's metric, each SNS topic among the alarm's
actions. Every chain gets a status on each of the thirteen links of :data:`scanner.model.LINKS`:

* ``ok`` or ``broken`` when the data decide it ("cannot prove" is broken: the configuration is
  what we cannot vouch for, not the collection);
* ``unknown`` when a datum is missing because a call failed (the detail quotes the call);
* ``missing`` when an earlier link leaves nothing to look at (no log group: no filter).

Later links are evaluated wherever the data allow, so a chain broken for sure is broken even if
an earlier datum is unknown. A chain is broken if any link is, else unknown if any link is, else
it holds. The rule's verdict over all chains of the account:

* PASS if any chain holds (the reason says which), or if the *working* chains (every link holds
  but the pattern misses some events: split filters, alarms on single dimension values)
  together cover an accepted reference, decided exactly on the union of their patterns (the
  reason lists every chain used);
* otherwise ERROR if any chain is unknown: the missing datum might have completed it, so the
  scanner says neither PASS nor FAIL and quotes the failed call;
* otherwise FAIL, explained by the chain that got furthest (when it is a working chain, by the
  events the union of the working chains misses), among the chains meant for the
  rule: a chain whose filter covers the rule comes first, then one whose filter concerns it;
  then the furthest first broken link; at the filter, the pattern that comes closest (fewest
  missed kinds of event); then the most links that hold (:meth:`Chain.rank`). Filters that
  share no event with the rule (written for another control) are not candidates, unless they
  can match nothing at all and name the rule's conditions (``&&`` written for ``||``).
  When that chain is an organization trail's and the member's own trails are broken too, the
  reason also names what breaks the member's own chain, and the fix is given for both chains,
  labelled, the shorter first (the member's own on a tie): only the wording and the fix change.

Chains depend on the trail, the rule and the owner's data only, not on the member evaluated, so
they are computed once per (trail, rule) and shared by every member an organization trail covers.
If a member's trail listing failed everywhere its own trails are unknown (an unknown chain);
listings that succeeded in some regions are enough, because the only trails that can hold are
multi-region ones and those are listed in every region. Likewise, if the management account's
trails are unknown (its DescribeTrails failed, or it could not be entered), every member gets an
unknown chain for "the organization trails of the management account", quoting the failed call:
judged on its own trails alone, a member would FAIL the rules the organization trail passes.
So a fault only ever turns a verdict into ERROR: PASS needs a chain known to hold, FAIL needs
every chain that could have held known and broken.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from scanner.catalog import Catalog, Reference, Rule, load_catalog
from scanner.evaluate import delivery
from scanner.evaluate.chains import (
    BROKEN,
    OK,
    SKIPPED_ACCOUNT_STATUSES,
    STUCK_AFTER_HOURS,
    UNKNOWN,
    Chain,
    Walker,
    missed_summary,
    no_trail,
    unknown_organization_trails,
    unknown_trails,
)
from scanner.evaluate.sharing import Sharing
from scanner.evaluate.trails import covering_trails, organization_trails_unknown
from scanner.model import (
    Account,
    Finding,
    Inventory,
    Link,
    Status,
    arn_account,
    arn_region,
)
from scanner.patterns import Coverage, covers_any, overlaps
from scanner.remediation import (
    AccountRemediation,
    Fixes,
    Remediation,
    RemediationContext,
    both_ways,
    fix_plan,
    remediation_for,
)


def _elsewhere(chain: Chain, account: Account) -> str:
    if chain.owner == account.id or chain.trail is None:
        return ""
    return f' (organization trail "{chain.trail.name}" of account {chain.owner})'


def _holds(chain: Chain) -> str:
    parts = []
    if chain.trail is not None:
        parts.append(f'trail "{chain.trail.name}"')
    if chain.log_group is not None:
        parts.append(f'log group "{chain.log_group}" in {chain.region}')
    if chain.metric_filter is not None:
        parts.append(f'metric filter "{chain.metric_filter.name}"')
    if chain.alarm is not None:
        parts.append(f'alarm "{chain.alarm.name}"')
    for composite in (*chain.through, *([chain.composite] if chain.composite else [])):
        parts.append(f'composite alarm "{composite.name}"')
    if chain.topic is not None:
        parts.append(f"topic {chain.topic}")
    return "monitored through " + ", ".join(parts)


def _context(chain: Chain, account: Account, inventory: Inventory) -> RemediationContext:
    """What remediation needs to write commands with the account's own names."""
    trail, t = chain.trail, chain.transformation
    region = chain.region or (trail.home_region if trail is not None else None)
    account_id = chain.owner or account.id
    return RemediationContext(
        account_id=account_id,
        partition=account.partition,
        region=region,
        trail_name=trail.name if trail is not None else None,
        trail_home_region=trail.home_region if trail is not None else None,
        log_group_name=chain.log_group,
        log_group_region=chain.region if chain.log_group is not None else None,
        filter_name=chain.metric_filter.name if chain.metric_filter is not None else None,
        metric_name=t.metric_name if t is not None else None,
        metric_namespace=t.metric_namespace if t is not None else None,
        alarm_name=chain.alarm.name if chain.alarm is not None else None,
        topic_arn=_subscribed_topic(inventory, account_id, region),
        filter_dimensions=",".join(sorted(t.dimensions)) if t is not None else "",
        organization_id=inventory.organization_id or "",
        **_notification_facts(chain, inventory),
    )


def _notification_facts(chain: Chain, inventory: Inventory) -> dict[str, str]:
    """The topic's key, policies and filters, when a notification link of the chain broke."""
    broken = chain.first(BROKEN)
    publisher = chain.composite or chain.alarm
    if (
        broken is None
        or broken.link not in (Link.TOPIC_KEY, Link.TOPIC_POLICY, Link.DELIVERY)
        or chain.topic is None
        or publisher is None
    ):
        return {}
    owner = inventory.account(arn_account(chain.topic))
    region = owner.regions.get(arn_region(chain.topic)) if owner is not None else None
    topic = region.topics.get(chain.topic) if region is not None else None
    if topic is None:
        return {}
    return delivery.remedy_facts(topic, publisher, inventory.organization_id, broken.link)


def _subscribed_topic(inventory: Inventory, account_id: str, region: str | None) -> str | None:
    """A topic of the account with a confirmed subscriber, in ``region`` if there is one."""
    account = inventory.account(account_id)
    regions = sorted(account.regions.items(), key=lambda item: item[0] != region) if account else []
    for _, found in regions:
        for arn, topic in sorted(found.topics.items()):
            if topic.exists and any(s.confirmed for s in topic.subscriptions or ()):
                return arn
    return None


def _pick(chains: Iterable[Chain]) -> tuple[Status, Chain] | None:
    """The rule's verdict and the chain that explains it; stops reading at a chain that holds.

    When no chain holds alone, the working chains (every link holds but for coverage) may hold
    together: the returned chain then carries them in ``union``, with their joint coverage."""
    seen: list[Chain] = []
    for chain in chains:
        if chain.status is OK:
            return Status.PASS, chain
        seen.append(chain)
    union = _union(seen)
    if union is not None and union.status is OK:
        return Status.PASS, union
    unknown = [c for c in seen if c.status is UNKNOWN]
    if unknown:
        return Status.ERROR, max(unknown, key=Chain.rank)
    if not seen:
        return None
    best = max(seen, key=Chain.rank)
    if union is not None and best.working:
        best = dataclasses.replace(
            best,
            union=union.union,
            union_coverage=union.union_coverage,
            union_reference=union.union_reference,
        )
    return Status.FAIL, best


def _part(chain: Chain) -> str:
    """One working chain in a list: its metric filter, and its alarm when that narrows it."""
    name = f'"{chain.metric_filter.name}"' if chain.metric_filter is not None else "?"
    if chain.alarm is not None and Link.ALARM in chain.coverage_breaks:
        return f'{name} (as alarm "{chain.alarm.name}" hears it)'
    return name


def _union(seen: list[Chain]) -> Chain | None:
    """The working chains taken together, as one chain: a copy of the first that they need,
    with ``union`` and ``union_coverage`` set, its coverage links holding when together they
    cover an accepted reference. ``None`` when fewer than two patterns are at work.

    Coverage of the union is exact (:func:`scanner.patterns.covers_any`): the reference the
    union covers first in preferred order, else the one it comes closest to."""
    working = [c for c in seen if c.working]
    patterns = list(dict.fromkeys(c.pattern for c in working if c.pattern is not None))
    if len(patterns) < 2:
        return None
    verdict = working[0].verdict
    assert verdict is not None  # by Chain.working
    best: tuple[Reference, Coverage] | None = None
    for ref in verdict.rule.accepted_in(verdict.profile):
        coverage = covers_any(patterns, ref.pattern)
        if coverage.covered:
            best = ref, coverage
            break
        if coverage.decided and (best is None or coverage.gap_count < best[1].gap_count):
            best = ref, coverage
    if best is None:
        return None
    ref, coverage = best
    used = working
    if coverage.covered:
        used = [c for c in working if c.pattern is None or overlaps(c.pattern, ref.pattern)]
        used = [c for c in used if c.pattern is not None] or working
    first = used[0]
    union = dataclasses.replace(
        first, union=tuple(used), union_coverage=coverage, union_reference=ref
    )
    if not coverage.covered:
        return union
    names = ", ".join(dict.fromkeys(_part(c) for c in used))
    detail = f"metric filters {names} together cover {ref.name}"
    links = tuple(
        dataclasses.replace(r, status=OK, detail=detail) if r.link in first.coverage_breaks else r
        for r in first.links
    )
    return dataclasses.replace(union, links=links)


def _patterns(chains: Iterable[Chain]) -> tuple[str, ...]:
    """The pattern text of each chain's metric filter, as written, once each."""
    return tuple(
        dict.fromkeys(c.metric_filter.pattern for c in chains if c.metric_filter is not None)
    )


def _finding(
    inventory: Inventory,
    account: Account,
    rule: Rule,
    profile: str,
    chains: Iterable[Chain],
    *,
    sharing: Sharing,
) -> Finding:
    # The finding's fields are gathered first and the finding is built once (twice for a FAIL,
    # whose fix is planned from it): a finding per (account, rule) is the evaluation's unit of
    # work, and each rebuilt frozen dataclass cost as much as the rest of a PASS.
    preferred = rule.accepted_in(profile)[0]
    seen: list[Chain] = []
    picked = _pick(_recorded(chains, seen))
    if picked is None:
        picked = Status.FAIL, no_trail(account)
    status, chain = picked
    verdict = chain.verdict
    fields: dict[str, Any] = {
        "status": status,
        "chain": chain.links,
        "reference": verdict.reference.name if verdict is not None else preferred.name,
        "notes": tuple(dict.fromkeys(chain.notes)),
        "patterns": _patterns((chain,)),
    }
    if status is Status.PASS and chain.union:
        parts = "; ".join(
            f"({i}) {_holds(c)}{_elsewhere(c, account)}" for i, c in enumerate(chain.union, 1)
        )
        covered = chain.union_reference.name if chain.union_reference else ""
        fields["reference"] = covered or fields["reference"]
        fields["reason"] = f"{len(chain.union)} chains together cover {covered}: {parts}"
        fields["patterns"] = _patterns(chain.union)
        return _made(account, rule, profile, sharing.fields(fields, rule))
    if status is Status.PASS:
        fields["reason"] = _holds(chain) + _elsewhere(chain, account)
        return _made(account, rule, profile, sharing.fields(fields, rule))
    link = chain.first(UNKNOWN if status is Status.ERROR else BROKEN)
    assert link is not None  # by _pick: an ERROR chain has an unknown link, a FAIL one a broken
    fields["reason"] = link.detail + _elsewhere(chain, account)
    if status is Status.ERROR:
        return _made(account, rule, profile, sharing.fields(fields, rule))
    fields["broken_link"] = link.link
    union = chain.union_coverage
    if (
        union is not None
        and chain.union_reference is not None
        and link.link
        in (
            Link.FILTER,
            Link.ALARM,
        )
    ):
        names = ", ".join(dict.fromkeys(_part(c) for c in chain.union))
        fields["reference"] = chain.union_reference.name
        fields["reason"] = (
            f"metric filters {names}, whose chains work, together miss "
            f"{missed_summary(union)} of {chain.union_reference.name}"
        )
        fields["missed_events"] = tuple(union.missed)
        fields["gaps"] = tuple(gap.description for gap in union.gaps)
        fields["patterns"] = _patterns(chain.union)
    elif verdict is not None and not verdict.covered and link.link in (Link.FILTER, Link.ALARM):
        fields["missed_events"] = tuple(verdict.missed)
        fields["gaps"] = tuple(gap.description for gap in verdict.gaps)
    finding = _made(account, rule, profile, sharing.fields(fields, rule))
    reference = verdict.reference if verdict is not None else preferred
    context = _context(chain, account, inventory)
    fix = remediation_for(finding, rule, reference, context, sharing.fixes)
    own = _own_chain(seen, chain, account)
    if own is None:
        return dataclasses.replace(finding, remediation=fix)
    return _with_own_chain(
        inventory,
        account,
        rule,
        preferred=preferred,
        finding=finding,
        outside_fix=fix,
        outside=chain,
        own=own,
        fixes=sharing.fixes,
    )


def _recorded(chains: Iterable[Chain], seen: list[Chain]) -> Iterator[Chain]:
    """The chains as they come, each kept in ``seen`` (``_pick`` stops at one that holds)."""
    for chain in chains:
        seen.append(chain)
        yield chain


def _own_chain(seen: list[Chain], picked: Chain, account: Account) -> Chain | None:
    """The account's own broken chain that explains the most, when a chain outside the account
    (an organization trail's) explains its FAIL: the one its owner can repair by itself."""
    if picked.owner == account.id or picked.trail is None or picked.union:
        return None
    own = [c for c in seen if c.owner == account.id and c.trail is not None]
    if not own or any(c.status is not BROKEN for c in own):
        return None
    return max(own, key=Chain.rank)


def _with_own_chain(
    inventory: Inventory,
    account: Account,
    rule: Rule,
    *,
    preferred: Reference,
    finding: Finding,
    outside_fix: dict[str, str],
    outside: Chain,
    own: Chain,
    fixes: Fixes,
) -> Finding:
    """A member's FAIL explained by an organization trail's chain, naming its own trail too.

    The outside chain stays the explanation (it gets furthest: :meth:`Chain.rank`), and the
    reason says so and what breaks the account's own chain. The fix is given both ways,
    labelled: repairing the account's own chain (changes in the account itself) or the
    organization trail's (changes in the management account); the shorter comes first and is
    the one ``scanner remediate`` groups (on a tie, the account's own)."""
    link, outside_link = own.first(BROKEN), outside.first(BROKEN)
    assert link is not None and own.trail is not None  # by _own_chain
    assert outside_link is not None and outside.trail is not None  # a FAIL, not a union
    sooner = link.link.position < outside_link.link.position
    reason = (
        f'{outside_link.detail} (organization trail "{outside.trail.name}" of account '
        f"{outside.owner}, the chain that gets furthest); its own trail "
        f'"{own.trail.name}" {"breaks sooner" if sooner else "fails too"}: {link.detail}'
    )
    finding = dataclasses.replace(finding, reason=reason)
    verdict = own.verdict
    own_finding = dataclasses.replace(
        finding,
        broken_link=link.link,
        chain=own.links,
        reference=verdict.reference.name if verdict is not None else preferred.name,
        missed_events=tuple(verdict.missed) if verdict and link.link is Link.FILTER else (),
    )
    reference = verdict.reference if verdict is not None else preferred
    own_context = _context(own, account, inventory)
    own_fix = remediation_for(own_finding, rule, reference, own_context, fixes)
    own_plan, outside_plan = fix_plan(own_fix, own_finding), fix_plan(outside_fix, finding)
    if own_plan is None or outside_plan is None:  # no fix either way: only the reason changes
        return dataclasses.replace(finding, remediation=outside_fix)
    own_size = len(AccountRemediation.of([own_plan]).changes)
    outside_size = len(AccountRemediation.of([outside_plan]).changes)
    own_label = (
        f'its own trail "{own.trail.name}" in account {account.id}',
        own_size,
        own_fix,
        own_plan,
    )
    outside_label = (
        f'the organization trail "{outside.trail.name}" of account {outside.owner}',
        outside_size,
        outside_fix,
        outside_plan,
    )
    first, second = (
        (own_label, outside_label) if own_size <= outside_size else (outside_label, own_label)
    )
    texts = {
        fmt: both_ways((first[0], first[1], first[2][fmt]), (second[0], second[1], second[2][fmt]))
        for fmt in first[2]
    }
    ways = ((first[0], first[3]), (second[0], second[3]))
    return dataclasses.replace(finding, remediation=Remediation(texts, None, ways))


def evaluate(
    inventory: Inventory,
    profile: str | None = None,
    catalog: Catalog | None = None,
    *,
    stuck_after_hours: float = STUCK_AFTER_HOURS,
) -> list[Finding]:
    """A finding per (active account, rule of the profile), in inventory then catalog order.

    ``profile`` defaults to the catalog's default profile ("recommended"). Suspended accounts and
    accounts collected only as dependencies (not in ``inventory.reported_accounts``) get no
    finding. An account that could not be entered, or was not entered on purpose, gets the
    verdicts that chains outside it decide (:func:`decided_outside`) and ERROR for the others.
    An alarm that has been in ALARM for more than ``stuck_after_hours`` at
    ``inventory.collected_at`` cannot notify a new event (the evaluator has no clock: the scan
    time is data).
    """
    return list(each_finding(inventory, profile, catalog, stuck_after_hours=stuck_after_hours))


def each_finding(
    inventory: Inventory,
    profile: str | None = None,
    catalog: Catalog | None = None,
    *,
    stuck_after_hours: float = STUCK_AFTER_HOURS,
) -> Iterator[Finding]:
    """:func:`evaluate`'s findings one at a time, in the same order: a report that streams
    (``--format jsonl``) writes each before the next is computed, so it never holds them all."""
    catalog = catalog or load_catalog()
    name = catalog.profile(profile).name
    rules = catalog.rules_in(name)
    walker = Walker(inventory, name, timedelta(hours=stuck_after_hours))
    try:
        yield from _walk(walker, inventory, rules, name)
    finally:
        walker.forget()  # freed now, not at the collector's next full pass


def _walk(
    walker: Walker, inventory: Inventory, rules: tuple[Rule, ...], name: str
) -> Iterator[Finding]:
    for account in inventory.accounts:
        if account.status in SKIPPED_ACCOUNT_STATUSES or not inventory.reported(account.id):
            continue
        if account.error is not None or not account.entered:
            yield from _unread_account(walker, account, rules, name)
            continue
        trails, listed = covering_trails(inventory, account)
        unlisted = [] if listed else [unknown_trails(account)]
        unlisted += _unknown_outside(inventory, account)
        if not unlisted and all(trail.account_id != account.id for trail in trails):
            for rule in rules:  # no trail of its own: judged as the members like it
                alike = [c for trail in trails for c in walker.chains(trail, rule)]
                yield _judged_alike(walker, account, rule, name, alike)
            continue
        for rule in rules:
            chains = itertools.chain(*(walker.chains(trail, rule) for trail in trails), unlisted)
            yield _finding(inventory, account, rule, name, chains, sharing=walker.sharing)
        walker.done_with(account.id, trails)


def _unexplained(account: Account, rule: Rule, profile: str, reason: str) -> Finding:
    """An ERROR finding of the rule with ``reason`` and no chain: where every finding starts."""
    return _made(account, rule, profile, {"reason": reason})


def _made(account: Account, rule: Rule, profile: str, fields: dict[str, Any]) -> Finding:
    """The finding of the rule in the account: :func:`_unexplained`'s, with ``fields`` set."""
    known: dict[str, Any] = {
        "status": Status.ERROR,
        "reference": rule.accepted_in(profile)[0].name,
        **fields,
    }
    if "controls" not in known:
        known["controls"] = rule.controls
    return Finding(
        account_id=account.id,
        account_name=account.name,
        rule=rule.id,
        title=rule.title,
        severity=rule.severity,
        profile=profile,
        **known,
    )


# --------------------------------------------------------------------------------------------
# Accounts whose own resources were not read.
#
# A member's own trails can only add chains, never take away the PASS of an organization
# trail's chain, which depends on the management account's data (and its topics' owners) only.
# So a rule that such a chain passes is decided whatever the member holds: the collector does
# not enter a member whose every rule is decided so (``Account.entered=False``), and a member
# it cannot enter still gets those verdicts. A FAIL or ERROR outside decides nothing: the
# member's own chain might pass.


def _unknown_outside(inventory: Inventory, account: Account) -> list[Chain]:
    """The unknown chain of the management account's organization trails, when they could not
    be listed (:func:`organization_trails_unknown`); else nothing."""
    management = inventory.management_account_id
    if management is None or not organization_trails_unknown(inventory, account):
        return []
    return [unknown_organization_trails(inventory, management)]


def _outside_chains(walker: Walker, account: Account, rule: Rule) -> Iterator[Chain]:
    """The chains that record the account's events through trails of other accounts, with an
    unknown one for the organization trails when the management account's are unknown."""
    shell = Account(
        account.id,
        account.name,
        account.ou_path,
        account.partition,
        entered=False,
        ou_ids=account.ou_ids,
    )
    trails, _ = covering_trails(walker.inventory, shell)
    for trail in trails:
        if trail.account_id != account.id:
            yield from walker.chains(trail, rule)
    yield from _unknown_outside(walker.inventory, shell)


def _decided(walker: Walker, account: Account, rule: Rule, profile: str) -> Finding | None:
    chains = list(_outside_chains(walker, account, rule))
    picked = _pick(chains)
    if picked is None or picked[0] is not Status.PASS:
        return None
    return _finding(walker.inventory, account, rule, profile, chains, sharing=walker.sharing)


class OutsideVerdicts:
    """:func:`decided_outside` for many accounts of one inventory, sharing the walk (the
    organization trails' chains are the same for every member)."""

    def __init__(
        self,
        inventory: Inventory,
        profile: str | None = None,
        catalog: Catalog | None = None,
        *,
        stuck_after_hours: float = STUCK_AFTER_HOURS,
    ) -> None:
        catalog = catalog or load_catalog()
        self.profile = catalog.profile(profile).name
        self.rules = catalog.rules_in(self.profile)
        self.walker = Walker(inventory, self.profile, timedelta(hours=stuck_after_hours))

    def decided(self, account_id: str) -> dict[str, Finding]:
        account = self.walker.inventory.account(account_id) or Account(account_id, account_id)
        found = {rule.id: _decided(self.walker, account, rule, self.profile) for rule in self.rules}
        return {rule_id: finding for rule_id, finding in found.items() if finding is not None}


def decided_outside(
    inventory: Inventory,
    account_id: str,
    profile: str | None = None,
    catalog: Catalog | None = None,
    *,
    stuck_after_hours: float = STUCK_AFTER_HOURS,
) -> dict[str, Finding]:
    """Rule id -> PASS finding, for the rules of ``profile`` that chains outside the account
    (organization trails of the management account) pass whatever the account itself holds.

    The collector enters a member only for the other rules; the account need not be in the
    inventory (its findings then carry its id as its name). ``stuck_after_hours`` as for
    :func:`evaluate`: the plan and the verdicts must judge an alarm stuck in ALARM alike.
    """
    outside = OutsideVerdicts(inventory, profile, catalog, stuck_after_hours=stuck_after_hours)
    return outside.decided(account_id)


def _judged_alike(
    walker: Walker,
    account: Account,
    rule: Rule,
    profile: str,
    chains: list[Chain],
    *,
    unread: str | None = None,
) -> Finding:
    """The finding of a member whose chains are all another account's (the organization
    trail's), built once per rule and chains when it is a PASS and given each member's name.

    Most members of an organization hold no chain of their own, and such a finding depends on
    the member only through its name and id once the chains are the same objects (the walk's)
    and none of them is the member's. Built anew for each member, the PASS of a member not
    entered held a reason of its own in a daemon, one per rule and member; shared, it is one
    object (the evaluation's CPU moved by less than its runs' spread, bench/README.md). A FAIL
    is built for each member: its fix is planned for it. ``unread`` says what of the member was
    not read, for a member not entered."""
    key = (rule.id, unread, *map(id, chains))
    known = walker.passed_outside.get(key)
    if (
        known is not None
        and len(known[0]) == len(chains)
        and all(a is b for a, b in zip(known[0], chains, strict=True))
        and all(c.owner != account.id for c in chains)
    ):
        alike: Finding = dataclasses.replace(
            known[1], account_id=account.id, account_name=account.name
        )
        return alike
    finding = _finding(walker.inventory, account, rule, profile, chains, sharing=walker.sharing)
    if finding.status is not Status.PASS:
        return finding
    if unread is not None:
        reason = walker.sharing.text(f"{finding.reason} ({unread}: nothing depends on it)")
        finding = dataclasses.replace(finding, reason=reason)
    if all(c.owner != account.id for c in chains):
        walker.passed_outside[key] = (tuple(chains), finding)
    return finding


def _unread_account(
    walker: Walker, account: Account, rules: Iterable[Rule], profile: str
) -> Iterator[Finding]:
    """Findings of an account not entered, or that could not be: the verdicts decided outside
    it, with a note of what was not read; ERROR for the rules that depend on it.

    When no chain outside passes the rule but one of them is unknown (the organization trail's
    alarms could not be read, say), that unread resource is the cause the ERROR names first: had
    it been read, the rule might not have depended on the account at all. The account's own
    failure comes second, since its own chains could still have passed the rule."""
    for rule in rules:
        chains = list(_outside_chains(walker, account, rule))
        picked = _pick(chains)
        if picked is not None and picked[0] is Status.PASS:
            if account.error is None:
                what = "account not entered" if not account.regions else "its own trails not read"
                yield _judged_alike(walker, account, rule, profile, chains, unread=what)
                continue
            finding = _finding(
                walker.inventory, account, rule, profile, chains, sharing=walker.sharing
            )
            note = (
                f"; account {account.id} could not be entered ({account.error.describe()}), "
                "and this rule does not depend on it"
            )
            yield dataclasses.replace(finding, reason=finding.reason + note)
            continue
        if account.error is not None:
            own = f"account {account.id} could not be scanned: {account.error.describe()}"
        else:
            own = (
                f"account {account.id} was not entered: when it was scanned no rule of the "
                "scan's profile depended on it, but this one does (no chain outside the account "
                "passes it); scan it again with this profile, or with --deep"
            )
        if picked is None or picked[0] is not Status.ERROR:
            yield _unexplained(account, rule, profile, own)
            continue
        outside = _finding(walker.inventory, account, rule, profile, chains, sharing=walker.sharing)
        yield dataclasses.replace(
            outside, reason=f"{outside.reason}; and its own trails are unknown: {own}"
        )
