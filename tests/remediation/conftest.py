"""Puts tests/remediation on ``sys.path`` (pytest's prepend mode), so every test below it imports
the shared findings and readers of :mod:`remediation_cases` by name."""
