"""Scale benchmark: ``scanner scan --organization`` as a separate process, measured from outside.

Usage::

    python bench/scale.py --accounts 1000 [--regions 17] [--latency-ms 50]
    python bench/scale.py --endpoint http://127.0.0.1:4566 --accounts 1000
    python bench/scale.py --accounts 100 --scanner-root /work/main   # measure another checkout

Why a separate process: CPU and memory must be the scanner's alone, as a user would see them,
not mixed with the emulator's. Without ``--endpoint`` the script starts
``../shared/fakeaws/fakeaws.py`` (relative to the repository root; the benchmark is skipped with a
message when it is absent) with the organization size, regions and latency asked for, on a free
port, in its own process. The scanner's RSS and CPU are sampled from ``/proc/<pid>`` every
``--interval`` seconds; at exit ``wait4`` gives the kernel's exact totals (peak RSS, CPU), which
the figures use when larger. The endpoint's ``/_stats`` (the fake's call, throttle and error
counters) is reset before the scan and read after it.

Prints one Markdown table row (``--header`` adds the header), the row of bench/README.md:
accounts, regions, wall seconds, CPU seconds, peak RSS, calls per account in total and by
operation, throttled responses, the scanner's exit code. ``--json FILE`` also writes every figure;
``--output FILE`` keeps the report (else it goes to /dev/null) and prints its size on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fakeaws_env import FAKEAWS, REPO, SCANNER_ENV  # a sibling: run as bench/<name>.py

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
HEADER = (
    "| accounts | regions | wall s | CPU s | peak RSS MB | calls/account | "
    "calls/account by operation | throttled | exit |\n"
    "|---:|---:|---:|---:|---:|---:|---|---:|---:|"
)


@dataclass
class Sample:
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0


@dataclass
class Result:
    accounts: int
    regions: int
    latency_ms: float
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    exit_code: int
    calls: int
    throttled: int
    calls_by_operation: dict[str, int]
    throttled_by_operation: dict[str, int]
    errors: dict[str, int]
    samples: list[tuple[float, float, float]] = field(default_factory=list)  # (s, cpu, rss)
    report_bytes: int | None = None  # the size of the report kept with --output

    def row(self) -> str:
        per_account = self.calls / max(1, self.accounts)
        by_op = ", ".join(
            f"{op.split(':', 1)[1]} {n / max(1, self.accounts):.2f}"
            for op, n in sorted(self.calls_by_operation.items(), key=lambda kv: -kv[1])
        )
        return (
            f"| {self.accounts:,} | {self.regions} | {self.wall_s:.1f} | {self.cpu_s:.1f} | "
            f"{self.peak_rss_mb:.0f} | {per_account:.2f} | {by_op} | {self.throttled} | "
            f"{self.exit_code} |"
        )


def read_proc(pid: int) -> tuple[float, float, float] | None:
    """CPU seconds (user + system), RSS and peak RSS (MB) of a live process; None once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    kb = {
        line.split(":")[0]: int(line.split()[1])
        for line in status.splitlines()
        if line.startswith(("VmRSS:", "VmHWM:"))
    }
    rss = kb.get("VmRSS", int(fields[21]) * PAGE_KB) / 1024
    return cpu, rss, kb.get("VmHWM", 0) / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def admin(endpoint: str, path: str, *, post: bool = False) -> dict[str, Any]:
    request = urllib.request.Request(f"{endpoint}{path}", method="POST" if post else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def wait_ready(endpoint: str, process: subprocess.Popen[bytes] | None, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"fakeaws exited with {process.returncode} before it was ready")
        with contextlib.suppress(OSError, urllib.error.URLError):
            admin(endpoint, "/_stats")
            return
        time.sleep(0.2)
    raise SystemExit(f"{endpoint} did not answer /_stats within {seconds:.0f} s")


@contextlib.contextmanager
def fake_endpoint(args: argparse.Namespace) -> Iterator[str]:
    """The endpoint to scan: the one given, or a fakeaws started for the run and stopped after."""
    if args.endpoint:
        yield args.endpoint.rstrip("/")
        return
    port = free_port()
    command = [
        args.fake_python,
        str(args.fake),
        "--port",
        str(port),
        "--accounts",
        str(args.accounts),
        "--regions",
        str(args.regions),
        "--latency-ms",
        str(args.latency_ms),
        *args.fake_arg,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_ready(endpoint, process, 60)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_scanner(
    endpoint: str, args: argparse.Namespace
) -> tuple[int, float, Sample, list[tuple[float, float, float]]]:
    """Exit code, wall seconds, the peak figures, and the samples (seconds, CPU s, RSS MB)."""
    env = {**os.environ, **SCANNER_ENV, "AWS_ENDPOINT_URL": endpoint}
    command = [
        args.python,
        "-m",
        "scanner",
        "scan",
        "--organization",
        "--format",
        args.format,
        "--output",
        str(args.output.resolve()) if args.output else os.devnull,
        *args.scanner_arg,
    ]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=args.scanner_root, env=env, stdout=subprocess.DEVNULL)
    peak = Sample()
    samples: list[tuple[float, float, float]] = []
    while True:
        # wait4 reaps the scanner alone and gives the kernel's totals for it (CPU, peak RSS).
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        sample = read_proc(process.pid)
        if sample is not None:
            cpu, rss, hwm = sample
            peak.cpu_s = max(peak.cpu_s, cpu)
            peak.peak_rss_mb = max(peak.peak_rss_mb, rss, hwm)
            samples.append((round(time.monotonic() - started, 2), cpu, rss))
        time.sleep(args.interval)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    peak.cpu_s = max(peak.cpu_s, usage.ru_utime + usage.ru_stime)
    peak.peak_rss_mb = max(peak.peak_rss_mb, usage.ru_maxrss / 1024)
    return process.returncode, wall, peak, samples


def measure(args: argparse.Namespace) -> Result:
    with fake_endpoint(args) as endpoint:
        admin(endpoint, "/_reset", post=True)
        code, wall, peak, samples = run_scanner(endpoint, args)
        stats = admin(endpoint, "/_stats")
    return Result(
        accounts=args.accounts,
        regions=args.regions,
        latency_ms=args.latency_ms,
        wall_s=wall,
        cpu_s=peak.cpu_s,
        peak_rss_mb=peak.peak_rss_mb,
        exit_code=code,
        calls=int(stats.get("total_calls", 0)),
        throttled=int(stats.get("total_throttled", 0)),
        calls_by_operation={str(k): int(v) for k, v in (stats.get("calls") or {}).items()},
        throttled_by_operation={str(k): int(v) for k, v in (stats.get("throttled") or {}).items()},
        errors={str(k): int(v) for k, v in (stats.get("errors") or {}).items()},
        samples=samples,
        report_bytes=args.output.stat().st_size if args.output else None,
    )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100, help="including the management")
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--endpoint", help="scan this endpoint instead of starting fakeaws")
    parser.add_argument("--fake", type=Path, default=FAKEAWS, help="fakeaws.py to start")
    parser.add_argument("--fake-python", default=sys.executable, help="python running fakeaws")
    parser.add_argument(
        "--fake-arg", action="append", default=[], help="one more fakeaws argument (repeatable)"
    )
    parser.add_argument(
        "--scanner-root", type=Path, default=REPO, help="checkout whose scanner package runs"
    )
    parser.add_argument("--python", default=sys.executable, help="python running the scanner")
    parser.add_argument(
        "--scanner-arg", action="append", default=[], help="one more scan argument (repeatable)"
    )
    parser.add_argument("--format", default="json", help="the scan's --format (json, jsonl, ...)")
    parser.add_argument(
        "--output",
        type=Path,
        help="keep the report in this file (a name ending in .gz: gzip) and print its size",
    )
    parser.add_argument("--interval", type=float, default=0.1, help="sampling period, seconds")
    parser.add_argument("--header", action="store_true", help="print the table header first")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if not args.endpoint and not args.fake.is_file():
        sys.stderr.write(
            f"skipped: no endpoint given and {args.fake} is absent "
            "(pass --endpoint URL, or --fake PATH to fakeaws.py)\n"
        )
        return 0
    result = measure(args)
    if args.header:
        sys.stdout.write(HEADER + "\n")
    sys.stdout.write(result.row() + "\n")
    if result.report_bytes is not None:
        sys.stderr.write(f"report: {result.report_bytes:,} bytes in {args.output}\n")
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
