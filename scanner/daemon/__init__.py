"""The daemon: scans on a schedule, exported to Prometheus, remembered in SQLite, alerted on change.

One job per module: :mod:`.config` (the YAML file and its ``SCANNER_*`` overrides),
:mod:`.sharding` (which accounts are this replica's), :mod:`.metrics` (families derived from
findings), :mod:`.service` (the scheduler and one scan's pipeline), :mod:`.http` (the
endpoints), :mod:`.logs` (structlog set-up), :mod:`.commands` (``scanner serve``,
``scanner config``); :mod:`.state`, :mod:`.transitions` and :mod:`.alerts` keep what was seen
and tell receivers what changed. Nothing here decides a verdict: findings come from
:func:`scanner.evaluate.evaluate`, the same code as ``scanner scan``.
"""
