"""How fast the pure core judges: coverage between every pair of catalog references, and the
evaluation of an emulated organization (cold caches, then warm).

    python bench/evaluate.py [MEMBERS]      # default 5000 members
    python bench/evaluate.py --inventory FILE   # an inventory saved by scan --save-inventory

It also prints what the findings hold once made (tracemalloc): what a daemon keeps per scan.

Prints figures; asserts nothing (speed is measured here, not in unit tests).
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc

from scanner.catalog import load_catalog
from scanner.evaluate import evaluate
from scanner.model import Inventory, Status
from scanner.patterns import covers
from scanner.testing import organization


def main(inventory: Inventory) -> None:
    members = len(inventory.accounts) - 1
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

    for label in ("cold", "warm"):
        started, cpu = time.perf_counter(), time.process_time()
        findings = evaluate(inventory)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        counts = {s.value: sum(f.status is s for f in findings) for s in Status}
        print(
            f"evaluate ({label}): {members + 1} accounts, {len(findings)} findings in "
            f"{seconds:.2f} s, {cpu:.2f} CPU-s ({cpu / (members + 1) * 1e3:.2f} ms per account) "
            f"{counts}"
        )
    del findings
    # Memory apart from the timings (tracemalloc slows Python several times over); the second
    # evaluation is measured, as a daemon's scans after its first (the catalog's caches filled).
    tracemalloc.start()
    for label in ("first", "again"):
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        findings = evaluate(inventory)
        gc.collect()
        held, peak = (m - before for m in tracemalloc.get_traced_memory())
        print(
            f"findings held ({label}): {held / 2**20:.1f} MiB, "
            f"{held / len(findings):.0f} B per finding; peak while made {peak / 2**20:.1f} MiB"
        )
        del findings


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inventory"]:
        with open(sys.argv[2], encoding="utf-8") as file:
            main(Inventory.from_json(json.load(file)))
    else:
        main(organization(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
