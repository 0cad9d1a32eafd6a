"""A finding's explanation as plain text lines: the chain link by link, the pattern judged and
the events it misses, the gaps.

Shared by the formats that carry a finding's story as text (JUnit's failure body), so they tell
it the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from scanner.model import Finding

STATUS_MARKS = {"ok": "ok", "broken": "BROKEN", "unknown": "UNKNOWN", "missing": "-"}


def chain_lines(finding: Finding) -> Iterator[str]:
    for result in finding.chain:
        mark = STATUS_MARKS.get(str(result.status), str(result.status))
        where = f" [{result.resource}]" if result.resource else ""
        yield f"{mark:<8}{result.link!s:<16}{result.detail}{where}"


def story(finding: Finding) -> str:
    """The reason, the chain, the pattern judged and the events it misses, the gaps and the fix,
    as text."""
    lines = [finding.reason, ""]
    if finding.chain:
        lines += ["Chain:", *(f"  {line}" for line in chain_lines(finding)), ""]
    if finding.missed_events:
        judged = "Pattern judged:" if len(finding.patterns) == 1 else "Patterns judged:"
        lines += [judged, *(f"  {p}" for p in finding.patterns), ""] if finding.patterns else []
        lines += ["Missed events:", *(f"  {json.dumps(e)}" for e in finding.missed_events), ""]
    if finding.gaps:
        lines += ["Gaps:", *(f"  {gap}" for gap in finding.gaps), ""]
    fix = finding.remediation.get("console")
    if fix:
        lines += ["Fix:", fix]
    return "\n".join(lines).rstrip() + "\n"
