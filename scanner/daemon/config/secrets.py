"""Where secrets come from: a file or an environment variable, read when they are used.

The configuration holds only where to find a secret (``*_file`` / ``*_env``), never its value,
so a config object can be logged or printed without leaking it and a rotated secret file needs
no restart. :func:`secret_problem` is what loading checks (it can be read, it is not empty);
:func:`read_secret` is what the secret's owner calls each time it needs the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def read_secret(
    path: str | None, variable: str | None, environ: Mapping[str, str] | None
) -> str | None:
    """The secret in the file ``path`` or else the variable ``variable``; None if neither."""
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    if variable:
        return (os.environ if environ is None else environ).get(variable, "").strip() or None
    return None


def secret_problem(
    path: str | None, variable: str | None, environ: Mapping[str, str], what: str
) -> str | None:
    """Why the secret ``what`` (``what``_file / ``what``_env) cannot be read, or None."""
    if path and variable:
        return f"give {what}_file or {what}_env, not both"
    if path:
        try:
            if not Path(path).read_text(encoding="utf-8").strip():
                return f"{what}_file {path} is empty"
        except (OSError, UnicodeDecodeError) as err:
            return f"{what}_file {path} cannot be read: {getattr(err, 'strerror', None) or err}"
    if variable and not environ.get(variable, "").strip():
        return f"{what}_env: environment variable {variable} is not set"
    return None


__all__ = ["read_secret", "secret_problem"]
