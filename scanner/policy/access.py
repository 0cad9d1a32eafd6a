"""May this principal do this action on this resource, by this resource policy alone?

One request against one resource-based policy (an SNS topic's access policy, a KMS key policy),
the way IAM evaluates it ("Policy evaluation logic", docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_evaluation-logic.html), with one addition: a statement can be *undecided*,
because the scanner does not know everything about the request (see :mod:`.conditions`).

A statement applies when its principal, action, resource and conditions all match:

* ``Principal: "*"`` and ``{"AWS": "*"}`` match every principal, service principals included;
  ``{"AWS": "111122223333"}`` and ``{"AWS": "arn:aws:iam::111122223333:root"}`` match the
  principals of that account; another ``AWS`` ARN matches that principal only; ``{"Service": ...}``
  matches that service principal (case-insensitively); ``NotPrincipal`` matches the rest;
* ``Action`` / ``NotAction`` compare case-insensitively, with ``*`` and ``?`` wildcards;
* ``Resource`` / ``NotResource`` compare case-sensitively, with wildcards and policy variables.

The outcome, in IAM's order: a Deny that applies → DENIED; else a Deny that might apply →
UNDECIDED; else an Allow that applies → ALLOWED; else an Allow that might apply → UNDECIDED; else
NOT_ALLOWED (the implicit deny). A policy that cannot be read is UNDECIDED: it is not ours to guess
what AWS made of it. ALLOWED means this policy grants the request; for a principal of another
account AWS also asks that account's own policies, which is no question for a service principal.

The evaluator is total: any value given as the policy yields a :class:`Decision`, never an
exception.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from scanner.policy.conditions import (
    Context,
    Truth,
    Unknown,
    all_of,
    any_of,
    evaluate_conditions,
    glob,
    like,
    negation,
    substitute,
)


class Outcome(enum.Enum):
    ALLOWED = "allowed"
    DENIED = "denied"
    NOT_ALLOWED = "not allowed"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Decision:
    """The answer, with the sentence a finding quotes.

    ``statement`` names the statement that decided (its Sid, else ``statement N``, 1-based) for
    ALLOWED, DENIED and an undecided statement; ``undecided_key`` names the condition key,
    variable or operator the scanner could not evaluate (for UNDECIDED only).
    """

    outcome: Outcome
    reason: str
    statement: str | None = None
    undecided_key: str | None = None


@dataclass(frozen=True)
class Request:
    """One request: ``principal`` is a service principal (``cloudwatch.amazonaws.com``), an AWS
    principal ARN, or an account id.

    ``acting_for`` is an account whose account grants (``{"AWS": "<account>"}``) count as grants
    to this principal too: set by a caller that knows AWS honours them for the service it asks
    about (see :mod:`.publish`).
    """

    principal: str
    action: str
    resource: str
    context: Context = field(default_factory=Context)
    acting_for: str | None = None


_ACCOUNT = re.compile(r"\d{12}")
_ROOT = re.compile(r"arn:[^:]+:iam::(\d{12}):root")


def _is_service(principal: str) -> bool:
    return not principal.startswith("arn:") and not _ACCOUNT.fullmatch(principal)


def _accounts(request: Request) -> set[str]:
    """The accounts whose account grants cover the request's principal."""
    found = set()
    if _ACCOUNT.fullmatch(request.principal):
        found.add(request.principal)
    elif request.principal.startswith("arn:"):
        found.add(request.principal.split(":")[4] if request.principal.count(":") >= 5 else "")
    if request.acting_for:
        found.add(request.acting_for)
    return found - {""}


def _strings(value: object) -> list[str] | None:
    """A string or a non-empty list of strings, as a list; ``None`` for anything else."""
    items: list[object] = value if isinstance(value, list) else [value]
    strings = [item for item in items if isinstance(item, str)]
    return strings if items and len(strings) == len(items) else None


def _aws_matches(grantee: str, request: Request) -> bool:
    if grantee == "*":
        return True
    root = _ROOT.fullmatch(grantee)
    account = root.group(1) if root else grantee if _ACCOUNT.fullmatch(grantee) else None
    if account is not None:
        return account in _accounts(request)
    return not _is_service(request.principal) and grantee == request.principal


def _principal_matches(element: object, request: Request) -> Truth:
    if element == "*":
        return True
    if not isinstance(element, dict):
        return Unknown("Principal", "its Principal element cannot be read")
    results: list[Truth] = []
    for kind, value in element.items():
        grantees = _strings(value)
        if grantees is None:
            results.append(Unknown("Principal", f"its Principal {kind} entry cannot be read"))
        elif kind == "AWS":
            results.extend(_aws_matches(grantee, request) for grantee in grantees)
        elif kind == "Service":
            results.extend(
                _is_service(request.principal) and grantee.lower() == request.principal.lower()
                for grantee in grantees
            )
    return any_of(results)


def _resource_matches(patterns: list[str], request: Request) -> Truth:
    results: list[Truth] = []
    for pattern in patterns:
        pieces = substitute(pattern, request.context)
        results.append(pieces if isinstance(pieces, Unknown) else like(pieces, request.resource))
    return any_of(results)


def _element(statement: dict[str, object], name: str) -> tuple[object, bool] | Unknown:
    """The statement's ``name`` or ``Not<name>`` element and whether it is the negated one."""
    positive, negative = name in statement, f"Not{name}" in statement
    if positive == negative:
        return Unknown(name, f"it has {'both' if positive else 'neither'} {name} and Not{name}")
    return (statement[name], False) if positive else (statement[f"Not{name}"], True)


def _element_matches(statement: dict[str, object], name: str, request: Request) -> Truth:
    """Whether the request matches the statement's ``name`` element (or its ``Not`` form)."""
    element = _element(statement, name)
    if isinstance(element, Unknown):
        return element
    value, negated = element
    matched: Truth
    if name == "Principal":
        matched = _principal_matches(value, request)
    else:
        patterns = _strings(value)
        if patterns is None:
            return Unknown(name, f"its {name} element cannot be read")
        if name == "Action":
            matched = any(glob(item, request.action, ignore_case=True) for item in patterns)
        else:
            matched = _resource_matches(patterns, request)
    return negation(matched) if negated else matched


def _applies(statement: dict[str, object], request: Request) -> Truth:
    """Whether the statement covers the request, whatever its effect: a part known not to match
    settles it even when another part cannot be evaluated."""
    parts = [
        _element_matches(statement, name, request) for name in ("Principal", "Action", "Resource")
    ]
    if all_of(parts) is False:
        return False
    return all_of([*parts, evaluate_conditions(statement.get("Condition"), request.context)])


def _statements(policy: object) -> list[object] | str:
    """The policy's statements, or why there are none to read."""
    document = policy
    if isinstance(policy, str | bytes):
        try:
            document = json.loads(policy)
        except (ValueError, RecursionError) as error:
            return f"it is not JSON ({str(error).splitlines()[0][:80]})"
    if not isinstance(document, dict):
        return "it is not a JSON object"
    if "Statement" not in document:
        return "it has no Statement"
    statements = document["Statement"]
    if isinstance(statements, dict):
        return [statements]
    if not isinstance(statements, list):
        return "its Statement is neither an object nor a list"
    return statements


def _label(statement: object, index: int) -> str:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return sid if isinstance(sid, str) and sid else f"statement {index}"


def _named(label: str, statement: object) -> str:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return f'statement "{label}"' if isinstance(sid, str) and sid else label


@dataclass(frozen=True)
class _Verdict:
    effect: str  # "Allow", "Deny", or "?" when the effect cannot be read
    applies: Truth
    label: str
    name: str


def _verdicts(statements: list[object], request: Request) -> Iterator[_Verdict]:
    for index, statement in enumerate(statements, start=1):
        label, name = _label(statement, index), _named(_label(statement, index), statement)
        if not isinstance(statement, dict):
            yield _Verdict("?", Unknown("Statement", "it is not a JSON object"), label, name)
            continue
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            why = "its Effect is neither Allow nor Deny"
            yield _Verdict("?", Unknown("Effect", why), label, name)
            continue
        yield _Verdict(str(effect), _applies(statement, request), label, name)


def _who(request: Request) -> str:
    if request.acting_for and _is_service(request.principal):
        return f"{request.principal} (for account {request.acting_for})"
    return request.principal


def evaluate(policy: object, request: Request) -> Decision:
    """Decide ``request`` under ``policy`` (JSON text or the parsed document)."""
    statements = _statements(policy)
    what = f"{request.action} to {_who(request)} on {request.resource}"
    if isinstance(statements, str):
        return Decision(Outcome.UNDECIDED, f"the policy cannot be read: {statements}")
    verdicts = list(_verdicts(statements, request))
    for effect in ("Deny", "Allow"):
        for verdict in verdicts:
            if verdict.effect == effect and verdict.applies is True:
                outcome = Outcome.DENIED if effect == "Deny" else Outcome.ALLOWED
                verb = "denies" if effect == "Deny" else "allows"
                return Decision(outcome, f"{verdict.name} {verb} {what}", verdict.label)
        for verdict in verdicts:
            if verdict.effect in (effect, "?") and isinstance(verdict.applies, Unknown):
                verb = "deny" if effect == "Deny" else "allow"
                reason = (
                    f"{verdict.name} may {verb} {what}: {verdict.applies.why}"
                    if verdict.effect != "?"
                    else f"{verdict.name} cannot be read ({verdict.applies.why})"
                )
                return Decision(Outcome.UNDECIDED, reason, verdict.label, verdict.applies.name)
    return Decision(Outcome.NOT_ALLOWED, f"no statement allows {what}")
