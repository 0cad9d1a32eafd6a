"""Amazon SNS subscription filter policies: read one, and match it against one message.

A filter policy is a JSON object. Each key names a message attribute (scope
``MessageAttributes``, the default) or a property of the JSON message body (scope
``MessageBody``, where keys nest); its value is a list of *conditions*, and the key holds when
at least one condition accepts the message's value. All keys must hold (AND); ``$or`` holds
when one of its sub-policies does. A subscription without a policy receives everything.

The language is close to Amazon EventBridge event patterns, so the tree below is shared
vocabulary: a policy reads into *branches* (``$or`` multiplied out, nested keys flattened to
paths), each branch a conjunction of :class:`KeyTest` (a path and its conditions). Matching is
one function, :func:`condition_accepts`, which the delivery judgment reuses, so it can never
disagree with :func:`matches` about a concrete message.

Semantics, from the SNS developer guide (``sns-subscription-filter-policies``, "Filter policy
constraints", "Message filtering scope", "AND/OR logic", "Key matching", "Numeric value
matching", "String value matching"); where the guide is silent we follow EventBridge:

* Keys are case-sensitive and so is string matching (``equals-ignore-case`` aside).
* A value of the message that is an array is accepted when one of its elements is.
* Strings match string conditions only, numbers numeric conditions only: ``"100"`` is not
  ``100``. Numbers compare by value (``301.5`` equals ``3.015e2``), exactly, as decimals.
* ``prefix``, ``suffix``, ``equals-ignore-case``, ``cidr`` and ``anything-but`` with a
  prefix or suffix look at strings only; ``numeric`` at numbers only.
* ``anything-but`` accepts a *present* value that is none of the listed ones; it never accepts
  an absent key (the guide: combine it with ``{"exists": false}`` for that).
* ``{"exists": true}`` holds when the key is present, ``{"exists": false}`` when it is absent:
  so ``{"store": [{"exists": false}]}`` accepts a message with no attributes at all.
* Attribute scope: attributes of type ``String``, ``String.Array`` (a JSON array, each element
  matched on its own) and ``Number`` are compared; ``Binary`` attributes are ignored (as if
  absent). For ``anything-but`` the current guide says a ``String.Array`` matches only when
  *none* of its elements is listed; a body array, per the guide's body example, matches when
  one element is not listed.
* Body scope: the body must be a JSON object, or nothing is delivered. A path through an array
  of objects looks into every element; only leaves (strings, numbers, booleans, null) count as
  present, so ``exists`` on an object-valued key is false.

What SNS refuses, we refuse with a :class:`FilterPolicyError` (never an exception): text that
is not a JSON object, more than five top-level keys, nesting under attribute scope, a key whose
value is neither an object nor a non-empty array, a condition that is not a string, number,
boolean, null or a known one-key operator, a malformed ``numeric`` or ``cidr``, and more than
150 combinations of values. The 150 is counted as the guide says (the product of the list
lengths, ``$or`` branches added): erring lenient costs nothing, since a policy read from AWS was
already accepted by AWS, while refusing a valid one would turn a verdict into ERROR.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeAlias

MAX_TOP_LEVEL_KEYS: Final = 5
MAX_COMBINATIONS: Final = 150
MAX_POLICY_BYTES: Final = 256 * 1024
NUMERIC_OPERATORS: Final = ("=", "<", "<=", ">", ">=")


class Scope(enum.StrEnum):
    """What a subscription's policy is matched against (``FilterPolicyScope``)."""

    MESSAGE_ATTRIBUTES = "MessageAttributes"
    MESSAGE_BODY = "MessageBody"


# A leaf value of a message: what conditions look at. Numbers are Decimals, never floats.
Scalar: TypeAlias = str | Decimal | bool | None


@dataclass(frozen=True, slots=True)
class Exact:
    """A bare value in the list: a string, a number, ``true``/``false`` or ``null``."""

    value: Scalar


@dataclass(frozen=True, slots=True)
class Prefix:
    text: str


@dataclass(frozen=True, slots=True)
class Suffix:
    text: str


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    text: str


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """A present value that is none of ``values`` (strings and numbers)."""

    values: tuple[str | Decimal, ...]


@dataclass(frozen=True, slots=True)
class AnythingButPrefix:
    text: str


@dataclass(frozen=True, slots=True)
class AnythingButSuffix:
    text: str


@dataclass(frozen=True, slots=True)
class Numeric:
    """One range: one or two ``(operator, bound)`` terms that must all hold."""

    terms: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class Exists:
    present: bool


@dataclass(frozen=True, slots=True)
class Cidr:
    """A string value that is an IP address inside ``network`` (IPv4 or IPv6)."""

    network: str


Condition: TypeAlias = (
    Exact
    | Prefix
    | Suffix
    | EqualsIgnoreCase
    | AnythingBut
    | AnythingButPrefix
    | AnythingButSuffix
    | Numeric
    | Exists
    | Cidr
)


@dataclass(frozen=True, slots=True)
class KeyTest:
    """One key of the policy: its path (one name at attribute scope) and its conditions."""

    path: tuple[str, ...]
    conditions: tuple[Condition, ...]

    @property
    def key(self) -> str:
        """The key as people write it: ``Trigger.Namespace``."""
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class FilterPolicy:
    """A parsed policy: it accepts a message when every test of some branch holds."""

    scope: Scope
    branches: tuple[tuple[KeyTest, ...], ...]
    text: str


@dataclass(frozen=True, slots=True)
class FilterPolicyError:
    """A policy SNS would refuse or we cannot read; ``message`` says where and why."""

    message: str

    def __str__(self) -> str:
        return self.message


class _Refused(Exception):
    """Internal: unwinds the parser to the one place that turns it into an error value."""


def parse_scope(text: str | None) -> Scope | FilterPolicyError:
    """``FilterPolicyScope`` as GetSubscriptionAttributes reports it; absent means attributes."""
    if text is None or text == "":
        return Scope.MESSAGE_ATTRIBUTES
    try:
        return Scope(text)
    except ValueError:
        return FilterPolicyError(
            f"unknown FilterPolicyScope {text!r}; expected MessageAttributes or MessageBody"
        )


def parse_filter_policy(
    text: str, scope: Scope | str | None = Scope.MESSAGE_ATTRIBUTES
) -> FilterPolicy | FilterPolicyError:
    """Read a policy's JSON text; an error value (never an exception) when SNS would refuse it."""
    read_scope = scope if isinstance(scope, Scope) else parse_scope(scope)
    if isinstance(read_scope, FilterPolicyError):
        return read_scope
    if len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        return FilterPolicyError("the filter policy is larger than 256 KB")
    try:
        document = json.loads(
            text, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant
        )
    except (ValueError, RecursionError, _Refused) as error:
        return FilterPolicyError(f"the filter policy is not valid JSON: {error}")
    try:
        return FilterPolicy(read_scope, _read_policy(document, read_scope), text)
    except _Refused as error:
        return FilterPolicyError(str(error))
    except RecursionError:
        return FilterPolicyError("the filter policy nests too deeply to read")


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def _read_policy(document: Any, scope: Scope) -> tuple[tuple[KeyTest, ...], ...]:
    if not isinstance(document, dict):
        raise _Refused("the filter policy must be a JSON object")
    if len(document) > MAX_TOP_LEVEL_KEYS:
        raise _Refused(f"the filter policy has {len(document)} keys; SNS allows at most 5")
    branches, combinations = _read_object(document, (), scope)
    if combinations > MAX_COMBINATIONS:
        raise _Refused(f"the filter policy combines {combinations} values; SNS allows at most 150")
    return branches


def _read_object(
    document: dict[str, Any], prefix: tuple[str, ...], scope: Scope
) -> tuple[tuple[tuple[KeyTest, ...], ...], int]:
    """The branches of one object, and its count of value combinations."""
    branches: list[tuple[KeyTest, ...]] = [()]
    combinations = 1
    for key, value in document.items():
        where = ".".join((*prefix, key))
        if key == "$or":
            if not isinstance(value, list) or not value:
                raise _Refused(f'"$or" at {where or "the top"} must list at least one object')
            alternatives: list[tuple[KeyTest, ...]] = []
            alternative_count = 0
            for option in value:
                if not isinstance(option, dict) or not option:
                    raise _Refused(f'each "$or" alternative at {where} must be a non-empty object')
                option_branches, option_count = _read_object(option, prefix, scope)
                alternatives.extend(option_branches)
                alternative_count += option_count
            branches = [b + alt for b in branches for alt in alternatives]
            combinations *= alternative_count
        elif isinstance(value, dict):
            if scope is Scope.MESSAGE_ATTRIBUTES:
                raise _Refused(
                    f'"{where}": filter policy scope MessageAttributes does not support nesting'
                )
            if not value:
                raise _Refused(f'"{where}" must not be an empty object')
            nested_branches, nested_count = _read_object(value, (*prefix, key), scope)
            branches = [b + n for b in branches for n in nested_branches]
            combinations *= nested_count
        elif isinstance(value, list):
            if not value:
                raise _Refused(f'"{where}": empty arrays are not allowed')
            test = KeyTest((*prefix, key), tuple(_read_condition(item, where) for item in value))
            branches = [(*b, test) for b in branches]
            combinations *= len(value)
        else:
            raise _Refused(f'"{where}" must be an object or an array')
        if len(branches) > MAX_COMBINATIONS:
            raise _Refused(f"the filter policy has more than {MAX_COMBINATIONS} $or branches")
    return tuple(branches), combinations


def _read_condition(item: Any, where: str) -> Condition:
    if item is None or isinstance(item, str | bool):
        return Exact(item)
    if isinstance(item, Decimal):
        return Exact(_number(item, where))
    if not isinstance(item, dict):
        raise _Refused(f'"{where}": match value must be a string, number, true, false or null')
    if len(item) != 1:
        raise _Refused(f'"{where}": only one key allowed in a match expression')
    ((operator, operand),) = item.items()
    if operator in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(operand, str):
            raise _Refused(f'"{where}": {operator} match pattern must be a string')
        if operator == "prefix":
            return Prefix(operand)
        return Suffix(operand) if operator == "suffix" else EqualsIgnoreCase(operand)
    if operator == "exists":
        if not isinstance(operand, bool):
            raise _Refused(f'"{where}": exists match pattern must be either true or false')
        return Exists(operand)
    if operator == "anything-but":
        return _read_anything_but(operand, where)
    if operator == "numeric":
        return _read_numeric(operand, where)
    if operator == "cidr":
        return _read_cidr(operand, where)
    raise _Refused(f'"{where}": unrecognized match type {operator}')


def _number(value: Decimal, where: str) -> Decimal:
    if not value.is_finite():
        raise _Refused(f'"{where}": {value} is not a number SNS can compare')
    return value


def _read_anything_but(operand: Any, where: str) -> Condition:
    if isinstance(operand, dict):
        if len(operand) != 1:
            raise _Refused(f'"{where}": anything-but takes one of prefix or suffix')
        ((inner, text),) = operand.items()
        if inner not in ("prefix", "suffix"):
            raise _Refused(f'"{where}": unsupported anything-but pattern: {inner}')
        if not isinstance(text, str):
            raise _Refused(f'"{where}": anything-but {inner} must be a string')
        return AnythingButPrefix(text) if inner == "prefix" else AnythingButSuffix(text)
    values = operand if isinstance(operand, list) else [operand]
    if not values:
        raise _Refused(f'"{where}": anything-but must list at least one value')
    read: list[str | Decimal] = []
    for value in values:
        if isinstance(value, str):
            read.append(value)
        elif isinstance(value, Decimal):
            read.append(_number(value, where))
        else:
            raise _Refused(f'"{where}": anything-but values must be strings or numbers')
    return AnythingBut(tuple(read))


def _read_numeric(operand: Any, where: str) -> Numeric:
    if not isinstance(operand, list) or not operand:
        raise _Refused(f'"{where}": numeric takes a list such as [">", 0, "<=", 5]')
    if len(operand) % 2:
        raise _Refused(f'"{where}": numeric needs an operator and a value in each pair')
    terms: list[tuple[str, Decimal]] = []
    for operator, bound in zip(operand[::2], operand[1::2], strict=True):
        if operator not in NUMERIC_OPERATORS:
            raise _Refused(f'"{where}": unrecognized numeric range operator: {operator}')
        if not isinstance(bound, Decimal):
            raise _Refused(f'"{where}": value of {operator} must be numeric')
        terms.append((operator, _number(bound, where)))
    if len(terms) > 2:
        raise _Refused(f'"{where}": too many terms in numeric range expression')
    if len(terms) == 2:
        (low_op, low), (high_op, high) = terms
        if low_op not in (">", ">=") or high_op not in ("<", "<="):
            raise _Refused(f'"{where}": a numeric range is a lower bound then an upper bound')
        if high <= low:
            raise _Refused(f'"{where}": bottom must be less than top')
    return Numeric(tuple(terms))


def _read_cidr(operand: Any, where: str) -> Cidr:
    if not isinstance(operand, str) or operand.count("/") != 1:
        raise _Refused(f'"{where}": cidr takes a network such as "10.0.0.0/24"')
    try:
        ipaddress.ip_network(operand, strict=False)
    except ValueError as error:
        raise _Refused(f'"{where}": malformed CIDR {operand!r}: {error}') from None
    return Cidr(operand)


# --- Matching -------------------------------------------------------------------------------


def condition_accepts(condition: Condition, value: Scalar) -> bool:
    """Whether one condition accepts one present leaf value (``Exists`` aside: see below).

    ``Exists`` is a property of the whole key, not of a value: a present value satisfies
    ``exists: true`` and never ``exists: false``.
    """
    match condition:
        case Exact(expected):
            return _same(expected, value)
        case Prefix(text):
            return isinstance(value, str) and value.startswith(text)
        case Suffix(text):
            return isinstance(value, str) and value.endswith(text)
        case EqualsIgnoreCase(text):
            return isinstance(value, str) and value.lower() == text.lower()
        case AnythingBut(values):
            return not any(_same(excluded, value) for excluded in values)
        case AnythingButPrefix(text):
            return isinstance(value, str) and not value.startswith(text)
        case AnythingButSuffix(text):
            return isinstance(value, str) and not value.endswith(text)
        case Numeric(terms):
            return isinstance(value, Decimal) and all(_compare(value, op, b) for op, b in terms)
        case Exists(present):
            return present
        case Cidr(network):
            return isinstance(value, str) and _in_network(value, network)
    return False  # pragma: no cover - the match above is exhaustive


def _same(expected: Scalar, value: Scalar) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(expected, bool) and isinstance(value, bool) and expected is value
    if isinstance(expected, Decimal) and isinstance(value, Decimal):
        return expected == value
    if expected is None or value is None:
        return expected is None and value is None
    return isinstance(expected, str) and isinstance(value, str) and expected == value


def _compare(value: Decimal, operator: str, bound: Decimal) -> bool:
    if operator == "=":
        return value == bound
    if operator == "<":
        return value < bound
    if operator == "<=":
        return value <= bound
    if operator == ">":
        return value > bound
    return value >= bound


def _in_network(value: str, network: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
        return address in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False
    except TypeError:  # an IPv4 address against an IPv6 network or the other way round
        return False


@dataclass(frozen=True, slots=True)
class Found:
    """What a key's path leads to in one message.

    ``values`` are the leaf values conditions look at; ``present`` is what ``exists`` looks
    at (an attribute that does not read is present with no values); ``array`` marks a
    ``String.Array`` attribute, where ``anything-but`` must accept every element.
    """

    values: tuple[Scalar, ...]
    present: bool
    array: bool = False


ABSENT: Final = Found((), present=False)


def key_accepts(test: KeyTest, found: Found) -> bool:
    """Whether one key of a policy holds for what its path leads to."""
    return any(_holds(condition, found) for condition in test.conditions)


def _holds(condition: Condition, found: Found) -> bool:
    if isinstance(condition, Exists):
        return condition.present == found.present
    if found.array and isinstance(condition, AnythingBut | AnythingButPrefix | AnythingButSuffix):
        return bool(found.values) and all(condition_accepts(condition, v) for v in found.values)
    return any(condition_accepts(condition, v) for v in found.values)


# --- Messages --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageAttribute:
    """One message attribute as SNS shows it: ``Type`` and the ``Value`` text."""

    type: str  # String | String.Array | Number | Binary
    value: str


@dataclass(frozen=True, slots=True)
class Message:
    """One published message: its body text and its attributes."""

    body: str
    attributes: Mapping[str, MessageAttribute] = field(default_factory=dict)


def attribute_found(attribute: MessageAttribute | None) -> Found:
    """What one attribute offers the conditions (``Binary`` ones are ignored, as if absent).

    A ``String.Array`` or ``Number`` whose text does not read is present with no values
    (SNS would have refused such a publish, so this never decides a real verdict).
    """
    if attribute is None or attribute.type.startswith("Binary"):
        return ABSENT
    if attribute.type.startswith("String.Array"):
        try:
            parsed = json.loads(attribute.value, parse_float=Decimal, parse_int=Decimal)
        except (ValueError, RecursionError):
            return Found((), present=True, array=True)
        items = parsed if isinstance(parsed, list) else [parsed]
        values = tuple(_scalar(item) for item in items if _is_scalar(item))
        return Found(values, present=True, array=True)
    if attribute.type.startswith("Number"):
        try:
            number = Decimal(attribute.value.strip())
        except InvalidOperation:
            return Found((), present=True)
        return Found((number,) if number.is_finite() else (), present=True)
    return Found((attribute.value,), present=True)


def _is_scalar(item: object) -> bool:
    if isinstance(item, float) and not math.isfinite(item):
        return False
    if isinstance(item, Decimal) and not item.is_finite():
        return False
    return item is None or isinstance(item, str | bool | int | float | Decimal)


def _scalar(item: object) -> Scalar:
    """A JSON leaf as conditions see it: numbers as Decimals (floats as they print)."""
    if isinstance(item, bool) or item is None or isinstance(item, str | Decimal):
        return item
    if isinstance(item, int):
        return Decimal(item)
    assert isinstance(item, float)
    return Decimal(repr(item))


def body_found(body: Any, path: tuple[str, ...]) -> Found:
    """The leaf values at ``path`` in a decoded JSON body, looking into every array element."""
    values = tuple(_walk(body, path))
    return Found(values, present=bool(values))


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[Scalar]:
    if isinstance(node, list):
        for element in node:
            yield from _walk(element, path)
        return
    if not path:
        if _is_scalar(node):
            yield _scalar(node)
        return
    if isinstance(node, Mapping) and path[0] in node:
        yield from _walk(node[path[0]], path[1:])


def matches(policy: FilterPolicy | None, message: Message) -> bool:
    """Whether SNS delivers ``message`` to a subscription with ``policy`` (None: no policy)."""
    if policy is None:
        return True
    if policy.scope is Scope.MESSAGE_ATTRIBUTES:
        return matches_attributes(policy, message.attributes or {})
    try:
        body = json.loads(message.body, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and matches_body(policy, body)


def matches_attributes(policy: FilterPolicy, attributes: Mapping[str, MessageAttribute]) -> bool:
    """Attribute scope: every key of some branch accepts the named attribute."""
    return any(
        all(key_accepts(test, attribute_found(attributes.get(test.key))) for test in branch)
        for branch in policy.branches
    )


def matches_body(policy: FilterPolicy, body: Mapping[str, Any]) -> bool:
    """Body scope: every key of some branch accepts the values at its path in ``body``."""
    return any(
        all(key_accepts(test, body_found(body, test.path)) for test in branch)
        for branch in policy.branches
    )


def render_condition(condition: Condition) -> str:
    """A condition as the JSON a user wrote, for reasons: ``{"prefix": "cis-"}``."""
    return json.dumps(_condition_json(condition), default=_decimal_json)


def _condition_json(condition: Condition) -> Any:
    match condition:
        case Exact(value):
            return value
        case Prefix(text):
            return {"prefix": text}
        case Suffix(text):
            return {"suffix": text}
        case EqualsIgnoreCase(text):
            return {"equals-ignore-case": text}
        case AnythingBut(values):
            return {"anything-but": list(values) if len(values) > 1 else values[0]}
        case AnythingButPrefix(text):
            return {"anything-but": {"prefix": text}}
        case AnythingButSuffix(text):
            return {"anything-but": {"suffix": text}}
        case Numeric(terms):
            return {"numeric": [part for term in terms for part in term]}
        case Exists(present):
            return {"exists": present}
        case Cidr(network):
            return {"cidr": network}
    raise AssertionError(condition)  # pragma: no cover


def _decimal_json(value: object) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(type(value).__name__)


def render_conditions(conditions: Iterable[Condition]) -> str:
    return "[" + ", ".join(render_condition(c) for c in conditions) + "]"
