"""Real Prometheus (and Alertmanager) as child processes for the end-to-end tests.

Shared by tests/daemon/test_e2e_prometheus.py and tests/deploy/test_observability_e2e.py:
each child runs on a free port of 127.0.0.1 with its own configuration and data directory under
the test's tmp_path, its output in a log file that a failing wait shows. The ``processes``
fixture (tests/conftest.py) stops every child a test started; a missing binary fails the test
in CI and skips it elsewhere (tests/tools.py). Importable as ``prometheus_stack``
because tests/conftest.py puts tests/ on ``sys.path`` (pytest's default import mode).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tools import PROMETHEUS_SCRIPT, require_tool


def prometheus_binary() -> str:
    """Prometheus's path; missing, the test fails in CI and skips elsewhere (:mod:`tools`)."""
    return require_tool("prometheus", PROMETHEUS_SCRIPT)


def alertmanager_binary() -> str:
    """Alertmanager's path (Debian calls it ``prometheus-alertmanager``), as above."""
    return require_tool("alertmanager", PROMETHEUS_SCRIPT, "prometheus-alertmanager")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A child process whose output goes to a file, shown when the test fails."""

    def __init__(self, name: str, argv: list[str], workdir: Path) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        self.handle = self.log.open("w")
        self.proc = subprocess.Popen(
            argv, stdout=self.handle, stderr=subprocess.STDOUT, cwd=workdir
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.handle.close()

    def output(self) -> str:
        return self.log.read_text()[-3000:]


def start_alertmanager(workdir: Path, port: int) -> Process:
    config = workdir / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: discard\n  group_wait: 1s\n  group_interval: 1s\n"
        "receivers:\n  - name: discard\n"
    )
    (workdir / "am-data").mkdir()
    return Process(
        "alertmanager",
        [
            alertmanager_binary(),
            f"--config.file={config}",
            f"--storage.path={workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip port: one instance
        ],
        workdir,
    )


def start_prometheus(
    workdir: Path, port: int, target: str, rule_files: Sequence[Path] = ()
) -> Process:
    """Prometheus scraping ``target`` every second as job ``scanner``, with ``rule_files``."""
    config = workdir / "prometheus.yml"
    rules = "".join(f"  - '{path}'\n" for path in rule_files)
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        + (f"rule_files:\n{rules}" if rules else "")
        + "scrape_configs:\n  - job_name: scanner\n    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )
    (workdir / "prom-data").mkdir()
    return Process(
        "prometheus",
        [
            prometheus_binary(),
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        workdir,
    )


async def eventually(
    what: str, probe: Callable[[], Awaitable[Any]], timeout: float, process: Process | None = None
) -> Any:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` (and a log)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await probe()
        except (aiohttp.ClientError, OSError) as err:
            last = err
        if last and not isinstance(last, Exception):
            return last
        await asyncio.sleep(0.3)
    log = f"\n{process.name} log:\n{process.output()}" if process else ""
    pytest.fail(f"timed out waiting for {what}; last: {last!r}{log}")


async def get_json(session: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with session.get(url, params=params) as response:
        if response.status != 200:
            return None
        return await response.json()
