"""The installed distribution's version: one number, kept in pyproject.toml only.

Read from the package metadata, so a source tree that was never installed has none; each caller
says what to show then (the CLI, the reports and the daemon's build-info metric differ).
"""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "cloudtrail-monitoring-scanner"


def installed_version(missing: str) -> str:
    """The version pip installed, or ``missing`` when the package is not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return missing


__all__ = ["DISTRIBUTION", "installed_version"]
