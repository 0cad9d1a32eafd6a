"""How fast the pure core judges: coverage between every pair of catalog references, and the
evaluation of an emulated organization (cold caches, then warm).

    python bench/evaluate.py [MEMBERS]      # default 5000 members

Prints figures; asserts nothing (speed is measured here, not in unit tests).
"""

from __future__ import annotations

import sys
import time
import tracemalloc

from scanner.catalog import load_catalog
from scanner.evaluate import evaluate
from scanner.model import Status
from scanner.patterns import covers
from scanner.testing import organization


def main(members: int) -> None:
    catalog = load_catalog()
    references = [ref for rule in catalog.rules for ref in rule.references]
    started = time.perf_counter()
    covered = sum(covers(a.pattern, b.pattern).covered for a in references for b in references)
    seconds = time.perf_counter() - started
    pairs = len(references) ** 2
    print(
        f"coverage: {pairs} reference pairs decided cold in {seconds:.2f} s "
        f"({seconds / pairs * 1e3:.2f} ms each; {covered} covered)"
    )

    inventory = organization(members)
    tracemalloc.start()
    for label in ("cold", "warm"):
        started = time.perf_counter()
        findings = evaluate(inventory)
        seconds = time.perf_counter() - started
        counts = {s.value: sum(f.status is s for f in findings) for s in Status}
        print(
            f"evaluate ({label}): {members + 1} accounts, {len(findings)} findings in "
            f"{seconds:.2f} s ({seconds / (members + 1) * 1e3:.2f} ms per account) {counts}"
        )
    _, peak = tracemalloc.get_traced_memory()
    print(f"peak traced memory during evaluation: {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
