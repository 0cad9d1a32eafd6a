"""``python -m scanner``: the same command line as the ``scanner`` console script."""

from __future__ import annotations

from scanner.cli import main

raise SystemExit(main())
