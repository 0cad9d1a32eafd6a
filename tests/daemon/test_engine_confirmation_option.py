"""``scan.confirm``: after each scan the daemon asks AWS's engine about the filter verdicts; a
disagreement is a note and a metric, never a changed verdict."""

from __future__ import annotations

from collections.abc import Sequence

from daemon.polling import run

from scanner.aws import CallStats, CollectResult, ScanOptions
from scanner.daemon.config import from_mapping
from scanner.daemon.metrics import Metrics
from scanner.daemon.scheduler import Service
from scanner.daemon.sharding import Shard
from scanner.evaluate.confirm import DISAGREES, Confirmation, apply, plan
from scanner.model import Finding, Inventory, Status
from scanner.testing import healthy_account, single_account

RULE = "iam-policy-changes"


async def healthy(options: ScanOptions) -> CollectResult:
    return CollectResult(single_account(healthy_account(rules=[RULE])), CallStats(), (), 0.0)


class DeafEngine:
    """A pretend TestMetricFilter that matches no event: it disagrees with every PASS."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(
        self, options: ScanOptions, inventory: Inventory, findings: Sequence[Finding]
    ) -> tuple[Confirmation, CallStats]:
        self.calls += 1
        checks = plan(inventory, findings)
        stats = CallStats()
        for check in checks:
            stats.record(check.account_id, "logs", "TestMetricFilter", 0, None)
        return apply(findings, checks, {i: frozenset() for i in range(len(checks))}), stats


def service(confirm: bool, engine: DeafEngine) -> Service:
    config = from_mapping({"scan": {"confirm": confirm}}, {})
    return Service(config, Shard(), Metrics(), collect_fn=healthy, confirm_fn=engine)


def test_confirm_notes_and_counts_disagreements_and_keeps_the_verdicts() -> None:
    async def scenario() -> None:
        engine = DeafEngine()
        s = service(True, engine)
        await s.scan_once()
        assert engine.calls == 1
        finding = next(f for f in s.findings() if f.rule == RULE)
        assert finding.status is Status.PASS
        assert any(note.startswith(DISAGREES) for note in finding.notes)
        text = s.metrics.exposition().decode()
        assert "scanner_engine_disagreements_total 0.0" not in text
        line = next(
            x for x in text.splitlines() if x.startswith("scanner_engine_disagreements_total")
        )
        assert float(line.split()[-1]) >= 1
        assert 'operation="TestMetricFilter",service="logs"' in text

    run(scenario())


def test_without_the_option_aws_is_not_asked() -> None:
    async def scenario() -> None:
        engine = DeafEngine()
        s = service(False, engine)
        await s.scan_once()
        assert engine.calls == 0
        assert "scanner_engine_disagreements_total 0.0" in s.metrics.exposition().decode()

    run(scenario())
