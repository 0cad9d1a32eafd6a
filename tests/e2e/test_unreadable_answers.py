"""An answer that is not in the service's protocol is an ERROR, never an empty "nothing here".

A proxy's error page, a captive portal or a body cut short can come back with HTTP 200. botocore
reads a JSON service's non-JSON body as ``{}`` (and an XML body whose root is not the answer as
no members): ``DescribeTrails`` read so said "no trails", and every control of the account
FAILed. moto has no fault injection: :func:`e2e.faults.hook` answers the chosen requests of
moto's server in this process with the body of :data:`scanner.testing.faults.GARBLED` (or an
empty one), as such a proxy would. The backoff is shrunk through the scan's options. A listing
whose pages hand back a token given before is the same kind of answer: it fails, rather than
stopping with the pages it read.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from e2e import emulated_org as org
from e2e import faults
from moto.logs.responses import LogsResponse

from scanner.aws import ScanOptions, collect
from scanner.aws.answers import UnreadableAnswer, check_answer
from scanner.aws.scan import CollectResult
from scanner.evaluate import evaluate
from scanner.model import Finding, Status
from scanner.testing.faults import Call, Fault

ROOT = "root-account-usage"
FAST: dict[str, Any] = {
    "rate_limits": {"organizations": 100.0},
    "backoff": (0.001, 0.01),
    "regions": ("us-east-1",),
}


def scan() -> CollectResult:
    return asyncio.run(collect(ScanOptions(organization=True, **FAST)))


def findings(result: CollectResult) -> dict[tuple[str, str], Finding]:
    return {(f.account_id, f.rule): f for f in evaluate(result.inventory)}


def answer(service: str, operation: str, fault: Fault, times: int | None = None) -> Any:
    """A ``decide`` answering ``service:operation`` in the management account with ``fault``
    (the first ``times`` requests, or all)."""
    done = [0]

    def decide(call: Call) -> Fault | None:
        if (call.service, call.operation) != (service, operation):
            return None
        if call.account != org.MANAGEMENT or (times is not None and done[0] >= times):
            return None
        done[0] += 1
        return fault

    return decide


@pytest.fixture
def organization(aws: str) -> dict[str, str]:
    ids = org.organization("alpha", ou="Workloads")
    org.chain(org.management(), name="org", organization_trail=True, rules=(ROOT,))
    return ids


@pytest.mark.parametrize(
    ("service", "operation", "fault"),
    [
        ("cloudtrail", "DescribeTrails", faults.GARBLED),  # JSON protocol, an HTML page
        ("cloudtrail", "DescribeTrails", replace(faults.GARBLED, body="")),  # an empty 200
        ("cloudwatch", "DescribeAlarms", faults.GARBLED),  # XML protocol, well-formed HTML
        ("sns", "ListSubscriptionsByTopic", replace(faults.GARBLED, body="<Resp")),  # cut short
        (
            "sns",
            "ListSubscriptionsByTopic",
            replace(faults.GARBLED, body="<ListSubscriptionsByTopicResponse><ListSubscriptions"),
        ),  # cut inside the answer: botocore's own parser refuses it
    ],
    ids=["json-html", "json-empty", "xml-html", "xml-cut", "xml-cut-inside"],
)
def test_an_answer_in_no_protocol_is_an_error_naming_the_call_never_a_fail(
    organization: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    operation: str,
    fault: Fault,
) -> None:
    calm = findings(scan())
    assert calm[(org.MANAGEMENT, ROOT)].status is Status.PASS
    answered = faults.hook(monkeypatch, answer(service, operation, fault))

    pressed = findings(scan())

    assert answered, "the fault reached the scan"
    # Retried like any transient failure (a proxy's hiccup), then given up on.
    assert len({(c.service, c.operation) for c in answered}) == 1 and len(answered) > 1
    for key, finding in pressed.items():
        if finding.status is not calm[key].status:
            assert finding.status is Status.ERROR, f"{key}: {calm[key].status} -> {finding.status}"
    broken = pressed[(org.MANAGEMENT, ROOT)]
    assert broken.status is Status.ERROR
    assert operation in broken.reason, broken.reason
    assert "UnreadableAnswer" in broken.reason or "ResponseParserError" in broken.reason


def test_one_unreadable_answer_is_retried_and_changes_no_verdict(
    organization: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calm = {key: f.status for key, f in findings(scan()).items()}
    answered = faults.hook(
        monkeypatch, answer("cloudtrail", "DescribeTrails", faults.GARBLED, times=1)
    )

    result = scan()

    assert len(answered) == 1
    assert {key: f.status for key, f in findings(result).items()} == calm
    assert result.stats.retries >= 1


def _model(protocol: str, name: str = "DescribeTrails", members: bool = True) -> Any:
    output = SimpleNamespace(members={"trailList": object()} if members else {})
    return SimpleNamespace(
        name=name, output_shape=output, service_model=SimpleNamespace(resolved_protocol=protocol)
    )


@pytest.mark.parametrize(
    ("protocol", "body"),
    [
        ("json", b'{"trailList": []}'),
        ("json", b"  {}\n"),
        ("query", b'<?xml version="1.0"?>\n<DescribeTrailsResponse xmlns="x"/>'),
        ("query", b"<DescribeTrailsResponse/>"),
        ("smithy-rpc-v2-cbor", b"\xbf\xff"),
        ("smithy-rpc-v2-cbor", b"\xa1"),
    ],
)
def test_answers_in_the_protocol_pass(protocol: str, body: bytes) -> None:
    check_answer(_model(protocol), {"status_code": 200, "body": body})


@pytest.mark.parametrize(
    ("protocol", "body", "said"),
    [
        ("json", b"<html>Proxy Error</html>", "not the service's JSON: 24 bytes: '<html>Proxy"),
        ("json", b"[1, 2]", "JSON"),
        ("json", b"", "an empty body"),
        ("query", b"<html><body>portal</body></html>", "not the service's XML"),
        ("query", b"<ListTopicsResponse/>", "XML"),  # another operation's answer
        ("smithy-rpc-v2-cbor", b"\x80", "CBOR"),  # an array, not a structure
    ],
)
def test_answers_in_no_protocol_are_refused_with_what_came(
    protocol: str, body: bytes, said: str
) -> None:
    with pytest.raises(UnreadableAnswer) as refused:
        check_answer(_model(protocol), {"status_code": 200, "body": body})
    assert said in str(refused.value)
    assert "DescribeTrails" in str(refused.value)


def test_error_answers_and_empty_operations_are_left_to_botocore() -> None:
    check_answer(_model("json"), {"status_code": 503, "body": b"<html>busy</html>"})
    check_answer(_model("json", members=False), {"status_code": 200, "body": b""})


def test_a_listing_whose_pages_repeat_a_token_is_an_error_not_a_short_list(
    organization: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page handing back a token given before (a proxy or cache in between; AWS does not)
    would loop for ever; stopping there would read the pages never reached as empty. moto is
    patched in process: the management account's DescribeMetricFilters answers each page with
    the same ``nextToken``."""
    calm = findings(scan())
    original = LogsResponse.describe_metric_filters
    pages = [0]

    def looping(self: Any) -> str:
        answer = json.loads(original(self))
        if self.current_account == org.MANAGEMENT:
            pages[0] += 1
            answer["nextToken"] = "the-same-token"
        return json.dumps(answer)

    monkeypatch.setattr(LogsResponse, "describe_metric_filters", looping)

    pressed = findings(scan())

    assert pages[0] >= 2  # the repeat was asked for, once, and the listing stopped there
    broken = pressed[(org.MANAGEMENT, ROOT)]
    assert calm[(org.MANAGEMENT, ROOT)].status is Status.PASS
    assert broken.status is Status.ERROR
    assert "DescribeMetricFilters" in broken.reason and "RepeatedPageToken" in broken.reason
    for key, finding in pressed.items():
        if finding.status is not calm[key].status:
            assert finding.status is Status.ERROR, f"{key}: {calm[key].status} -> {finding.status}"
