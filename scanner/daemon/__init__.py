"""The daemon: scans on a schedule, exported to Prometheus, remembered in SQLite, alerted on change.

One job per module: :mod:`.config` (the YAML file and its ``SCANNER_*`` overrides),
:mod:`.sharding` (which accounts are this replica's), :mod:`.accounts` (the cached account
list cut to this shard), :mod:`.metrics` (families derived from findings), :mod:`.scheduler`
(one scan's pipeline and the loop that runs it on schedule), :mod:`.http` (the endpoints),
:mod:`.front` (the process that owns the port, answers the probes and forwards the rest) and
:mod:`.front_control` (the daemon's handle on it),
:mod:`.lifecycle` (the daemon assembled, started and stopped in order), :mod:`.logs`
(structlog set-up); :mod:`.state`, :mod:`.transitions`, :mod:`.messages` and :mod:`.alerts`
keep what was seen, word it and tell receivers what changed; ``scanner serve`` itself is
:mod:`scanner.cli.serve`.
Nothing here decides a verdict: findings come from :func:`scanner.evaluate.evaluate`, the same
code as ``scanner scan``.
"""
