"""The daemon's commands: ``scanner serve``, ``scanner config check|example``, ``demo --serve``.

:func:`register` adds them to the CLI's sub-parsers and :func:`add_demo_arguments` adds
``--serve`` and ``--listen`` to ``scanner demo``; each handler takes ``(args, out)`` like the
CLI's own and returns the exit code: 0 ran (or the file is valid), 2 cannot run, with one line
``scanner: error: ...`` on stderr (an invalid configuration says ``config: <field>: ...``).
The daemon itself (aiohttp, the AWS layer) is imported only when a handler runs.

Command-line options override the configuration file and the environment, and are validated
with them, so ``--listen nonsense`` fails the same way as ``http.listen: nonsense``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from scanner.errors import ConfigError, ShardingError, StateError

if TYPE_CHECKING:  # the daemon is imported when a command runs: the CLI starts fast
    from scanner.daemon.config import Config

EXIT_OK, EXIT_CANNOT_RUN = 0, 2
DEMO_LISTEN = "127.0.0.1:9108"


class Output(Protocol):
    """Where a command writes (the CLI's ``_Out`` is one)."""

    def line(self, text: str = "") -> None: ...


def _fail(message: str) -> int:
    print(f"scanner: error: {message}", file=sys.stderr)
    return EXIT_CANNOT_RUN


# (option attribute, variable it overrides, option as the user wrote it)
_OVERRIDES = (
    ("listen", "SCANNER_HTTP_LISTEN", "--listen"),
    ("shard", "SCANNER_SHARDING_SHARD", "--shard"),
    ("total_shards", "SCANNER_SHARDING_TOTAL_SHARDS", "--total-shards"),
    ("log_format", "SCANNER_LOGGING_FORMAT", "--log-format"),
)


def _options(args: argparse.Namespace) -> dict[str, tuple[str, str]]:
    return {
        variable: (option, str(getattr(args, name)))
        for name, variable, option in _OVERRIDES
        if getattr(args, name, None) is not None
    }


async def serve(config: Config, announce: Callable[[str], None] | None = None) -> None:
    """Run the daemon until SIGTERM or SIGINT."""
    from scanner.daemon.lifecycle import Daemon

    # The front process answers the probes (scanner.daemon.front); the event loop's thread
    # still serves /metrics and the API while worker threads evaluate and render: a shorter
    # GIL switch interval (5 ms by default) hands the GIL back to it sooner.
    sys.setswitchinterval(0.001)
    daemon = Daemon(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, daemon.stopping.set)
    try:
        # A start that fails closed what it opened and logged nothing: the caller's one line
        # is all a user sees (a daemon that never started has no "daemon_stopped" to log).
        await daemon.start()
        try:
            if announce is not None:
                announce(daemon.url)
            await daemon.wait()
        finally:
            await daemon.stop()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _run(config: Config, announce: Callable[[str], None] | None = None) -> int:
    from scanner.daemon import logs
    from scanner.daemon.heap import tune_heap

    logs.configure(config.logging.format, config.logging.level)
    tune_heap()  # before any thread: see scanner.daemon.heap
    try:
        asyncio.run(serve(config, announce))
    except (StateError, ShardingError) as err:
        return _fail(str(err))
    except OSError as err:
        return _fail(f"cannot listen on {config.http.listen}: {err.strerror or err}")
    return EXIT_OK


def run_serve(args: argparse.Namespace, out: Output) -> int:
    """``scanner serve``."""
    from scanner.daemon.config import load

    try:
        config = load(args.config, os.environ, _options(args))
    except ConfigError as err:
        return _fail(str(err))
    return _run(config)


def run_config_check(args: argparse.Namespace, out: Output) -> int:
    """``scanner config check FILE``: validate, print what the daemon would do, exit 0 or 2."""
    from scanner.daemon.config import format_duration, load

    try:
        config = load(args.file, os.environ)
    except ConfigError as err:
        return _fail(str(err))
    org = config.organization
    targets = ", ".join(t.name for t in config.alerts.targets) or "none"
    out.line(f"{args.file}: valid")
    out.line(
        f"  scans {'the organization' if org.enabled else 'the caller account'} with profile "
        f"{config.rules.profile} every {format_duration(config.schedule.interval)} "
        f"(+/- {format_duration(config.schedule.jitter)}, deadline "
        f"{format_duration(config.schedule.deadline)})"
    )
    out.line(
        f"  shard {config.sharding.shard} of {config.sharding.total_shards}; "
        f"listens on {config.http.listen}; state {config.state.path}; alert targets: {targets}"
    )
    if config.rules.suppressions:
        _check_suppressions(config.rules.suppressions, config.rules.profile, out)
    return EXIT_OK


def _check_suppressions(path: str, profile: str, out: Output) -> None:
    """The suppressions file's count, and a warning on stderr for each rule it names that the
    profile does not run; accounts and OUs need the organization's listing (the daemon checks
    them after each one)."""
    from scanner.catalog import load_catalog
    from scanner.daemon.config.suppressions import load_suppressions
    from scanner.evaluate import unmatched

    catalog = load_catalog()
    exceptions = load_suppressions(path, catalog)  # valid: load() has read it
    rules = {rule.id for rule in catalog.rules_in(profile)}
    for warning in unmatched(exceptions, profile, rules):
        print(f"scanner: warning: {warning}", file=sys.stderr)
    out.line(
        f"  suppressions: {len(exceptions)} in {path} (their accounts and OUs are checked "
        "against the organization after each listing)"
    )


def run_config_example(args: argparse.Namespace, out: Output) -> int:
    """``scanner config example``: a commented configuration with every default."""
    from scanner.daemon.config import EXAMPLE

    out.line(EXAMPLE.rstrip("\n"))
    return EXIT_OK


def run_config_schema(args: argparse.Namespace, out: Output) -> int:
    """``scanner config schema``: the JSON Schema of a configuration file (and of Helm's)."""
    from scanner.daemon.config import json_schema

    out.line(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``serve`` and ``config`` to the CLI's sub-parsers."""
    text = "run the daemon: scheduled scans, /metrics, /api/v1/findings, alerts"
    serve_parser = subparsers.add_parser("serve", help=text, description=text)
    serve_parser.set_defaults(handler=run_serve)
    serve_parser.add_argument("--config", metavar="FILE", help="the YAML configuration")
    serve_parser.add_argument(
        "--listen", metavar="HOST:PORT", help="HTTP address (default 127.0.0.1:9108)"
    )
    serve_parser.add_argument("--shard", type=int, metavar="I", help="this replica's shard")
    serve_parser.add_argument("--total-shards", type=int, metavar="N", help="number of shards")
    serve_parser.add_argument("--log-format", choices=("json", "console"))

    text = "check or print the daemon's configuration"
    config_parser = subparsers.add_parser("config", help=text, description=text)
    commands = config_parser.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    text = "validate a configuration file without starting"
    check = commands.add_parser("check", help=text, description=text)
    check.add_argument("file", metavar="FILE")
    check.set_defaults(handler=run_config_check)
    text = "print a commented example configuration"
    example = commands.add_parser("example", help=text, description=text)
    example.set_defaults(handler=run_config_example)
    text = "print the configuration's JSON Schema"
    schema = commands.add_parser("schema", help=text, description=text)
    schema.set_defaults(handler=run_config_schema)


# --------------------------------------------------------------------------------------------
# scanner demo --serve


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--serve``, ``--listen`` and ``--log-format`` to ``scanner demo``."""
    parser.add_argument(
        "--serve",
        action="store_true",
        help="run the daemon on the demo organization (metrics, API) instead of printing",
    )
    parser.add_argument(
        "--listen", metavar="HOST:PORT", help=f"with --serve: HTTP address (default {DEMO_LISTEN})"
    )
    parser.add_argument("--log-format", choices=("json", "console"), help="with --serve")


def demo_config(
    endpoint_url: str,
    overrides: Mapping[str, Any] | None = None,
    options: Mapping[str, tuple[str, str]] | None = None,
    *,
    listen: str | None = None,
) -> Config:
    """The daemon's configuration for the demo organization served at ``endpoint_url``.

    ``listen`` sets the HTTP address after the configuration's checks: the Python API's way to
    bind port 0 (whatever port is free, read back from ``Daemon.url``), which ``http.listen``
    and ``--listen`` refuse since nothing could be told to scrape it.
    """
    from scanner.testing.demo import EMULATOR_ACCOUNT_CONCURRENCY as CONCURRENCY
    from scanner.testing.demo import EMULATOR_RATES, REGIONS

    raw: dict[str, Any] = {
        "organization": {"enabled": True},
        "regions": {"include": list(REGIONS)},
        "schedule": {"interval": "5m", "jitter": "10s", "deadline": "2m"},
        "limits": {"rates": dict(EMULATOR_RATES), "account_concurrency": CONCURRENCY},
        "http": {"listen": DEMO_LISTEN},
        "state": {"path": ":memory:"},
        "logging": {"format": "console"},
        "endpoint_url": endpoint_url,
    }
    for section, values in (overrides or {}).items():
        raw[section] = {**raw.get(section, {}), **values} if isinstance(values, dict) else values
    from scanner.daemon.config import from_mapping, parse_listen

    config = from_mapping(raw, {}, options)
    if listen is None:
        return config
    parse_listen(listen)  # ValueError: not HOST:PORT
    return dataclasses.replace(config, http=dataclasses.replace(config.http, listen=listen))


def run_demo_serve(args: argparse.Namespace, out: Output) -> int:
    """``scanner demo --serve``: the daemon on the emulated demo organization."""
    from scanner.testing.demo import ORGANIZATION
    from scanner.testing.emulation import EmulationError, emulate, fake_credentials

    try:
        emulator = emulate(ORGANIZATION)
    except EmulationError as err:
        return _fail(str(err))
    profile = getattr(args, "rules_profile", None)
    try:
        config = demo_config(
            emulator.endpoint_url,
            {"rules": {"profile": profile}} if profile else None,
            _options(args),
        )
    except ConfigError as err:
        return _fail(str(err))

    def announce(url: str) -> None:
        out.line(f"Serving the demo organization on {url} (Ctrl-C stops):")
        for path in ("/metrics", "/api/v1/findings", "/healthz", "/readyz"):
            out.line(f"  {url}{path}")

    with fake_credentials():
        return _run(config, announce)


__all__ = [
    "add_demo_arguments",
    "demo_config",
    "register",
    "run_config_check",
    "run_config_example",
    "run_config_schema",
    "run_demo_serve",
    "run_serve",
    "serve",
]
