"""The command-line layer: ``scanner`` and its commands. The only layer that prints.

* :mod:`~scanner.cli.app`: the parser made of every command module, and :func:`main`.
* :mod:`~scanner.cli.output`, :mod:`~scanner.cli.options`, :mod:`~scanner.cli.report`: what the
  commands share (where they write, their options, the findings report).
* One module per command: :mod:`~scanner.cli.rules`, :mod:`~scanner.cli.scan` (``scan`` and
  ``evaluate``), :mod:`~scanner.cli.remediate`, :mod:`~scanner.cli.demo`,
  :mod:`~scanner.cli.serve` (``serve``, ``config``, ``demo --serve``).

Importing this package loads the core only; the AWS and daemon layers are imported when a command
needs them, so ``scanner rules list`` starts fast. This module only re-exports.
"""

from __future__ import annotations

from scanner.cli.app import main

__all__ = ["main"]
