"""A successful HTTP answer that is not in the service's protocol is an error, never "nothing".

Why: botocore reads what it can of a 2xx answer and drops the rest. A JSON service's body that
is not JSON (a proxy's error page, a captive portal, a body cut short) is parsed as ``{}``, an
empty body too, and an XML body whose root is not the operation's answer (an HTML page is
well-formed enough) gives no members. ``DescribeTrails`` answered that way reads as "no trails",
``DescribeAlarms`` as "no alarms": every control of the account would FAIL, a false verdict
(found by ``tests/e2e/test_fault_invariant.py``: one such answer in the management account made
162 of them). XML that does not parse raises botocore's ``ResponseParserError``, which is not a
``BotoCoreError`` and escaped the gateway.

So every client's session checks each 2xx body before botocore parses it
(:func:`check_answer`, on botocore's ``before-parse`` event) and raises
:class:`UnreadableAnswer` when it is not the protocol's: the gateway retries it as a transient
failure and, if it persists, the call fails and the finding it decides is ERROR, naming the
operation and what came back. The check reads the body's first bytes (and, for JSON, parses the
body, a few microseconds for the answers a scan reads); a body that passes is parsed by botocore
as before.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped, unused-ignore]
from botocore.parsers import ResponseParserError  # type: ignore[import-untyped, unused-ignore]

SHOWN = 80  # characters of an unreadable body quoted in the error


class UnreadableAnswer(BotoCoreError):  # type: ignore[misc]
    """A 2xx answer whose body is not in the service's protocol."""

    fmt = "the answer to {operation} is not the service's {protocol}: {found}"


def check_answer(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """botocore's ``before-parse`` handler: raise :class:`UnreadableAnswer` for a 2xx body that
    is not in the protocol; error answers (3xx and up) are botocore's to read."""
    if response_dict.get("status_code", 0) >= 300:
        return
    body = response_dict.get("body")
    if not isinstance(body, bytes | bytearray):
        return  # a stream (no operation we call has one): nothing to check without reading it
    output = operation_model.output_shape
    if output is None or not output.members:
        return  # an operation that answers nothing has nothing to lose
    protocol = operation_model.service_model.resolved_protocol
    problem = _problem(protocol, operation_model.name, bytes(body))
    if problem is not None:
        raise UnreadableAnswer(
            operation=operation_model.name, protocol=_NAMES.get(protocol, protocol), found=problem
        )


_NAMES = {
    "json": "JSON",
    "rest-json": "JSON",
    "query": "XML",
    "ec2": "XML",
    "rest-xml": "XML",
    "smithy-rpc-v2-cbor": "CBOR",
}


def _problem(protocol: str, operation: str, body: bytes) -> str | None:
    """What is wrong with ``body`` as ``operation``'s answer in ``protocol``; None: nothing."""
    if not body.strip():
        return "an empty body"
    if protocol in ("json", "rest-json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return _quoted(body)
        return None if isinstance(parsed, dict) else _quoted(body)
    if protocol in ("query", "ec2"):
        # The root element is <OperationResponse ...>, after an optional XML declaration.
        head = body[:512].lstrip()
        if head.startswith(b"<?xml"):
            head = head[head.find(b"?>") + 2 :].lstrip()
        if head.startswith(b"<" + operation.encode() + b"Response"):
            return None
        return _quoted(body)
    if protocol == "smithy-rpc-v2-cbor":
        # A structure is a CBOR map: major type 5 (0xa0-0xbf, 0xbf being indefinite length).
        return None if body[0] >> 5 == 5 else _quoted(body)
    return None  # a protocol we call nothing in: botocore's own reading stands


def _quoted(body: bytes) -> str:
    text = body[:SHOWN].decode("utf-8", "replace")
    text = " ".join(text.split())
    more = "..." if len(body) > SHOWN else ""
    return f"{len(body)} bytes: {text!r}{more}"


# The gateway catches these as a failed attempt (transient: retried, then an ERROR).
UNREADABLE = (UnreadableAnswer, ResponseParserError)

__all__ = ["UNREADABLE", "UnreadableAnswer", "check_answer"]
