"""Every error the scanner raises on purpose, in one hierarchy.

A command catches :class:`ScannerError` alone and prints its message as one line (exit code 2);
anything else escaping is a bug. The message of each class is written for the person who typed the
input or owns the file, so it names the field, the position or the setting, never a Python type.

    ScannerError
    ├── InputError              what a user gave us is not usable (exit 2, before any work)
    │   ├── PatternSyntaxError  a pattern CloudWatch Logs would reject; .position, .expected
    │   ├── InventoryError      an inventory or findings file that does not decode; names the path
    │   ├── UnknownNameError    a rule, profile or control id that does not exist; lists valid ones
    │   ├── ConfigError         an invalid daemon configuration: ``config: <field>: <problem>``
    │   ├── ShardingError       the shard cannot be determined from the settings
    │   └── UsageError          a command-line option that cannot work (unknown region, bad path)
    ├── CatalogError            the rules data file itself is inconsistent (our bug; tests catch it)
    ├── ScanError               the scan cannot run at all (no credentials, organization unlisted)
    ├── StateError              the daemon's state file cannot be used
    └── EmulationError          the local emulator (moto) is missing or its description is wrong

The pure core (model, patterns, catalog, evaluate, remediation) may import this module: it imports
nothing itself.
"""

from __future__ import annotations

from collections.abc import Iterable


class ScannerError(Exception):
    """The base: ``str()`` is one line, fit to print after the program's name."""


class InputError(ScannerError, ValueError):
    """Something the user gave us (a flag, a file, a pattern) cannot be used."""


class PatternSyntaxError(InputError):
    """A filter pattern that CloudWatch Logs would reject (or that we cannot read).

    ``position`` is a 0-based offset into the pattern text, ``expected`` what would have been
    valid there.
    """

    def __init__(self, message: str, position: int, expected: str) -> None:
        super().__init__(f"at position {position}: {message}")
        self.position = position
        self.expected = expected
        self.detail = message


class InventoryError(InputError):
    """The JSON does not describe a valid inventory (or finding); the message names the field."""


class UnknownNameError(InputError, KeyError):
    """A rule or profile name that does not exist (where it was looked up); lists valid ones."""

    def __init__(
        self, message: str, name: str, valid: Iterable[str], valid_label: str = "valid names"
    ) -> None:
        self.name = name
        self.valid = tuple(valid)
        super().__init__(f"{message}; {valid_label}: {', '.join(self.valid) or '(none)'}")

    def __str__(self) -> str:
        # KeyError would print the repr of its argument, quotes and all.
        return str(self.args[0])


class ConfigError(InputError):
    """An invalid configuration; ``str()`` is one line, ``config: <field>: <what is wrong>``,
    or, when read from a file, ``config: <file>: line <n>: <field>: <what is wrong>``.

    ``file`` and ``line`` (1-based) say where the field was written, when it was written in a
    file (an environment variable's value has no line); :meth:`at` adds them to an error raised
    by code that saw only the data.
    """

    def __init__(
        self, where: str, problem: str, *, file: str = "", line: int | None = None
    ) -> None:
        self.where = where
        self.problem = problem
        self.file = file
        self.line = line
        parts = [file, f"line {line}" if line is not None else "", where, problem]
        super().__init__("config: " + ": ".join(part for part in parts if part))

    def at(self, file: str, line: int | None) -> ConfigError:
        """The same error, said to be in ``file`` at ``line``."""
        return ConfigError(self.where, self.problem, file=file, line=line)


class ShardingError(InputError):
    """The shard cannot be determined; one line naming the setting."""


class UsageError(InputError):
    """A reason the command cannot run as given; shown as one line on stderr, exit code 2."""


class CatalogError(ScannerError, ValueError):
    """The data file is inconsistent; the message names the rule or profile and the field."""


class ScanError(ScannerError):
    """The scan cannot run at all (no credentials, the organization cannot be listed)."""


class StateError(ScannerError, RuntimeError):
    """The state file cannot be used; the message names the file and says why."""


class EmulationError(ScannerError, RuntimeError):
    """The emulator cannot be used (moto missing) or the description is inconsistent."""


__all__ = [
    "CatalogError",
    "ConfigError",
    "EmulationError",
    "InputError",
    "InventoryError",
    "PatternSyntaxError",
    "ScanError",
    "ScannerError",
    "ShardingError",
    "StateError",
    "UnknownNameError",
    "UsageError",
]
