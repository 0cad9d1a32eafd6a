"""Does a subscription receive a notification whose every field we may not know?

The scanner never sees the message an alarm will send: it knows most fields exactly (the
alarm's name, ARN, metric), some only as one of a few values (``OldStateValue`` is ``OK`` or
``INSUFFICIENT_DATA`` when an event sends the alarm to ALARM), and some not at all (the state
reason, the timestamps). :class:`PossibleMessages` is that set of messages: a JSON body whose
nodes may be :class:`OneOf` or :class:`Unknown`, and the message attributes (known exactly).

:func:`judge_delivery` answers for one subscription with a :class:`DeliveryVerdict`:

* ``ALL``: every possible message is delivered; ``NONE``: none is;
* ``SOME``: it depends on a field that takes several known values (``fields`` names it, the
  reason says for which values the message gets through);
* ``UNDECIDED``: it depends on a field we cannot know, or the policy cannot be read; the
  scanner turns that into ERROR, never into PASS or FAIL.

Theory: the known-but-varying fields are few, so every combination of their values is tried
(bounded by :data:`MAX_CASES`). Each combination is judged in three-valued logic: a key holds,
fails, or is open when its answer hangs on an :class:`Unknown`. Keys and branches combine as
in the matcher (AND within a branch, OR across branches), with the matcher's own
:func:`~scanner.policy.filters.condition_accepts` deciding each known value, so this module
cannot disagree with :func:`~scanner.policy.filters.matches` on a message it fully knows.
"""

from __future__ import annotations

import enum
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from scanner.policy.filters import (
    Exists,
    FilterPolicy,
    FilterPolicyError,
    Found,
    KeyTest,
    MessageAttribute,
    Scalar,
    Scope,
    attribute_found,
    body_found,
    condition_accepts,
    key_accepts,
    parse_filter_policy,
    render_conditions,
)

MAX_CASES: Final = 1024


@dataclass(frozen=True, slots=True)
class OneOf:
    """A field whose value is one of ``values`` (JSON values), depending on the event."""

    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Unknown:
    """A field that is present but whose value we cannot know; ``why`` says why."""

    why: str


@dataclass(frozen=True, slots=True)
class PossibleMessages:
    """Every message one notification may be: a body with open fields, and exact attributes."""

    body: Mapping[str, Any]
    attributes: Mapping[str, MessageAttribute] = field(default_factory=dict)


class Delivery(enum.StrEnum):
    ALL = "all"
    NONE = "none"
    SOME = "some"
    UNDECIDED = "undecided"


@dataclass(frozen=True, slots=True)
class DeliveryVerdict:
    """The answer for one subscription.

    ``keys`` are the filter keys that stop the message (NONE, SOME) or leave the answer open
    (UNDECIDED). ``fields`` are the message fields the answer depends on: the varying ones
    (SOME) or the unknown ones (UNDECIDED). ``delivered_when`` (SOME) lists the combinations
    of varying values that get through, each as ``(field, value)`` pairs.
    """

    outcome: Delivery
    reason: str
    keys: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    delivered_when: tuple[tuple[tuple[str, Any], ...], ...] = ()


class _Truth(enum.Enum):
    TRUE = "true"
    FALSE = "false"
    OPEN = "open"


def _or(values: Sequence[_Truth]) -> _Truth:
    if _Truth.TRUE in values:
        return _Truth.TRUE
    return _Truth.OPEN if _Truth.OPEN in values else _Truth.FALSE


def judge_delivery(
    policy: str | FilterPolicy | None,
    scope: Scope | str | None,
    messages: PossibleMessages,
) -> DeliveryVerdict:
    """Whether a subscription with ``policy`` (its JSON text, or None) receives ``messages``.

    No policy, an empty text and ``{}`` (how SNS clears a policy) all deliver everything.

    ``scope`` is the subscription's ``FilterPolicyScope`` (None: ``MessageAttributes``); it is
    ignored when ``policy`` is already parsed.
    """
    if policy is None or (isinstance(policy, str) and not policy.strip()):
        return DeliveryVerdict(
            Delivery.ALL, "the subscription has no filter policy, so it receives every message"
        )
    parsed = policy if isinstance(policy, FilterPolicy) else parse_filter_policy(policy, scope)
    if isinstance(parsed, FilterPolicyError):
        return DeliveryVerdict(
            Delivery.UNDECIDED, f"the subscription's filter policy cannot be read: {parsed}"
        )
    if parsed.scope is Scope.MESSAGE_ATTRIBUTES:
        return _judge_cases(parsed, [((), _attribute_case(parsed, messages.attributes))])
    varying = list(_varying(messages.body, ()))
    total = 1
    for _, _, choice in varying:
        total *= len(choice.values)
    if total > MAX_CASES:
        names = ", ".join(sorted({name for _, name, _ in varying}))
        return DeliveryVerdict(
            Delivery.UNDECIDED,
            f"the message varies in too many ways to try them all ({total} cases over {names})",
            fields=tuple(sorted({name for _, name, _ in varying})),
        )
    cases = []
    for chosen in itertools.product(*(choice.values for _, _, choice in varying)):
        body = messages.body
        for (where, _, _), value in zip(varying, chosen, strict=True):
            body = _replace(body, where, value)
        assignment = tuple(
            (name, value) for (_, name, _), value in zip(varying, chosen, strict=True)
        )
        cases.append((assignment, _body_case(parsed, body)))
    return _judge_cases(parsed, cases)


# --- One case: a message whose open fields are all Unknown ---------------------------------


@dataclass(frozen=True, slots=True)
class _KeyOutcome:
    test: KeyTest
    truth: _Truth
    seen: str  # what the message offers at the key, for reasons
    unknown: tuple[str, ...] = ()  # the unknown fields that leave it open


@dataclass(frozen=True, slots=True)
class _Case:
    truth: _Truth
    blocking: tuple[_KeyOutcome, ...]  # per failing branch, its first failing key
    open: tuple[_KeyOutcome, ...]  # the open keys of branches that are open
    holding: tuple[_KeyOutcome, ...]  # the keys of the first branch that holds


def _combine(branches: list[list[_KeyOutcome]]) -> _Case:
    truths: list[_Truth] = []
    blocking: list[_KeyOutcome] = []
    open_keys: list[_KeyOutcome] = []
    holding: tuple[_KeyOutcome, ...] = ()
    for outcomes in branches:
        failing = [o for o in outcomes if o.truth is _Truth.FALSE]
        opened = [o for o in outcomes if o.truth is _Truth.OPEN]
        if failing:
            truths.append(_Truth.FALSE)
            blocking.append(failing[0])
        elif opened:
            truths.append(_Truth.OPEN)
            open_keys.extend(opened)
        else:
            truths.append(_Truth.TRUE)
            holding = holding or tuple(outcomes)
    return _Case(_or(truths), tuple(blocking), tuple(open_keys), holding)


def _attribute_case(policy: FilterPolicy, attributes: Mapping[str, MessageAttribute]) -> _Case:
    branches = []
    for branch in policy.branches:
        outcomes = []
        for test in branch:
            found = attribute_found(attributes.get(test.key))
            truth = _Truth.TRUE if key_accepts(test, found) else _Truth.FALSE
            seen = (
                f'message attribute "{test.key}" = {_show(found.values)}'
                if found.present
                else f'no message attribute "{test.key}"'
                + (" (it carries no message attributes at all)" if not attributes else "")
            )
            outcomes.append(_KeyOutcome(test, truth, seen))
        branches.append(outcomes)
    return _combine(branches)


def _body_case(policy: FilterPolicy, body: Mapping[str, Any]) -> _Case:
    branches = []
    for branch in policy.branches:
        outcomes = []
        for test in branch:
            known = _Known()
            _walk(body, test.path, (), known)
            outcomes.append(_judge_key(test, known))
        branches.append(outcomes)
    return _combine(branches)


@dataclass(slots=True)
class _Known:
    """What a path leads to when parts of the body are Unknown."""

    values: list[Scalar] = field(default_factory=list)
    unknown_leaves: list[str] = field(default_factory=list)  # present, value unknown
    unknown_trees: list[str] = field(default_factory=list)  # may or may not hold the path


def _walk(node: Any, path: tuple[str, ...], at: tuple[str, ...], known: _Known) -> None:
    if isinstance(node, Unknown):
        name = ".".join(at)
        (known.unknown_leaves if not path else known.unknown_trees).append(name)
        return
    if isinstance(node, list | tuple):
        for element in node:
            _walk(element, path, at, known)
        return
    if not path:
        known.values.extend(body_found(node, ()).values)
        return
    if isinstance(node, Mapping) and path[0] in node:
        _walk(node[path[0]], path[1:], (*at, path[0]), known)


def _judge_key(test: KeyTest, known: _Known) -> _KeyOutcome:
    found = Found(tuple(known.values), present=bool(known.values))
    seen = f"{test.key} = {_show(found.values)}" if found.present else f"no {test.key}"
    unknown = tuple(dict.fromkeys(known.unknown_leaves + known.unknown_trees))
    if not unknown:
        truth = _Truth.TRUE if key_accepts(test, found) else _Truth.FALSE
        return _KeyOutcome(test, truth, seen)
    surely_present = found.present or bool(known.unknown_leaves)
    truths = []
    for condition in test.conditions:
        if isinstance(condition, Exists):
            if surely_present:
                truths.append(_Truth.TRUE if condition.present else _Truth.FALSE)
            else:
                truths.append(_Truth.OPEN)
        elif any(condition_accepts(condition, v) for v in found.values):
            truths.append(_Truth.TRUE)
        else:
            truths.append(_Truth.OPEN)
    truth = _or(truths)
    return _KeyOutcome(test, truth, seen, unknown if truth is _Truth.OPEN else ())


def _show(values: Sequence[Scalar]) -> str:
    shown = [json.dumps(_plain(v)) for v in values[:5]]
    more = f" and {len(values) - 5} more" if len(values) > 5 else ""
    return (shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]") + more


def _plain(value: Scalar) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- Varying fields ------------------------------------------------------------------------


def _varying(
    node: Any, where: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str, OneOf]]:
    """Every OneOf in the body: its position, its name (keys joined by dots), the choice."""
    if isinstance(node, OneOf):
        yield where, ".".join(str(p) for p in where if isinstance(p, str)), node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from _varying(value, (*where, key))
    elif isinstance(node, list | tuple):
        for index, value in enumerate(node):
            yield from _varying(value, (*where, index))


def _replace(node: Any, where: tuple[str | int, ...], value: Any) -> Any:
    if not where:
        return value
    head, rest = where[0], where[1:]
    if isinstance(node, Mapping):
        return {**node, head: _replace(node[head], rest, value)}
    items = list(node)
    items[head] = _replace(items[head], rest, value)  # type: ignore[index]
    return items


# --- The verdict over all cases --------------------------------------------------------------


def _rule(outcome: _KeyOutcome) -> str:
    return f'filter key "{outcome.test.key}" accepts {render_conditions(outcome.test.conditions)}'


def _judge_cases(
    policy: FilterPolicy, cases: list[tuple[tuple[tuple[str, Any], ...], _Case]]
) -> DeliveryVerdict:
    truths = {case.truth for _, case in cases}
    if _Truth.OPEN in truths:
        opened = [o for _, case in cases for o in case.open]
        keys = tuple(dict.fromkeys(o.test.key for o in opened))
        fields = tuple(dict.fromkeys(f for o in opened for f in o.unknown))
        rules = "; ".join(dict.fromkeys(_rule(o) for o in opened))
        return DeliveryVerdict(
            Delivery.UNDECIDED,
            f"delivery depends on {_names(fields)}, whose value the notification does not "
            f"fix in advance: {rules}",
            keys=keys,
            fields=fields,
        )
    if truths == {_Truth.TRUE}:
        held = "; ".join(
            dict.fromkeys(
                f"{_rule(o)} and the message has {o.seen}" for _, c in cases for o in c.holding
            )
        )
        return DeliveryVerdict(
            Delivery.ALL,
            f"the {_scope_words(policy)} filter policy accepts every notification: {held}",
        )
    blocking = [o for _, case in cases if case.truth is _Truth.FALSE for o in case.blocking]
    keys = tuple(dict.fromkeys(o.test.key for o in blocking))
    why = "; ".join(dict.fromkeys(f"{_rule(o)}, but the message has {o.seen}" for o in blocking))
    if truths == {_Truth.FALSE}:
        return DeliveryVerdict(
            Delivery.NONE,
            f"the {_scope_words(policy)} filter policy drops every notification: {why}",
            keys=keys,
        )
    delivered = [a for a, case in cases if case.truth is _Truth.TRUE]
    dropped = [a for a, case in cases if case.truth is _Truth.FALSE]
    relevant = [
        index
        for index in range(len(cases[0][0]))
        if {a[index][1] for a in delivered} != {a[index][1] for a in dropped}
    ]
    fields = tuple(cases[0][0][index][0] for index in relevant)
    return DeliveryVerdict(
        Delivery.SOME,
        f"the notification gets through only when {_when(delivered, relevant)}, not when "
        f"{_when(dropped, relevant)}: {why}",
        keys=keys,
        fields=fields,
        delivered_when=tuple(delivered),
    )


def _when(assignments: list[tuple[tuple[str, Any], ...]], relevant: list[int]) -> str:
    """``OldStateValue is "OK"``: the given cases, on the fields that make the difference."""
    shown = [
        " and ".join(f"{a[i][0]} is {json.dumps(a[i][1])}" for i in relevant) for a in assignments
    ]
    return " or ".join(dict.fromkeys(shown))


def _names(fields: tuple[str, ...]) -> str:
    return ", ".join(fields) if fields else "a field we cannot know"


def _scope_words(policy: FilterPolicy) -> str:
    if policy.scope is Scope.MESSAGE_ATTRIBUTES:
        return "attribute-scoped (MessageAttributes)"
    return "body-scoped (MessageBody)"
