"""The only package that talks to AWS: from credentials to an :class:`~scanner.model.Inventory`.

Modules, one job each: :mod:`.clients` (one session, reused clients), :mod:`.gateway` (every
call: throttled, counted, classified), :mod:`.credentials` (base, hub and member identities),
:mod:`.organization` (accounts and OU paths), :mod:`.regions` (enabled regions),
:mod:`.account` (one account, following references), :mod:`.scan` (the whole scan),
:mod:`.session` (what a long-lived process keeps between scans: clients, pacing, identities).

Import :func:`collect` and :class:`ScanOptions` from here.
"""

from __future__ import annotations

from scanner.aws.gateway import CallStats, RateLimits
from scanner.aws.scan import CollectResult, Progress, ScanOptions, collect
from scanner.errors import ScanError

__all__ = [
    "CallStats",
    "CollectResult",
    "Progress",
    "RateLimits",
    "ScanError",
    "ScanOptions",
    "collect",
]
