"""``scanner serve`` and ``scanner demo --serve`` as a user runs them: one line on error."""

from __future__ import annotations

import time

import pytest

from scanner.testing.emulation import MOTO_ERROR_SHAPE_WARNING

pytestmark = pytest.mark.filterwarnings(MOTO_ERROR_SHAPE_WARNING)


DEMO_SERVE = """
import argparse, sys
from scanner.cli.serve import add_demo_arguments, run_demo_serve

class Out:
    def line(self, text=""):
        print(text, flush=True)

parser = argparse.ArgumentParser()
add_demo_arguments(parser)
sys.exit(run_demo_serve(parser.parse_args(sys.argv[1:]), Out()))
"""


@pytest.mark.slow
def test_demo_serve_is_ready_after_its_first_scan_and_exits_promptly_on_sigterm() -> None:
    import signal
    import socket
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-c", DEMO_SERVE, "--serve", "--listen", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        ready = False
        while not ready and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    ready = r.status == 200
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        assert ready, proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        out, err = proc.communicate(timeout=10)
        assert time.monotonic() - started < 5
        assert proc.returncode == 0, err
        assert f"Serving the demo organization on http://127.0.0.1:{port}" in out
        assert "scan_completed" in err and "daemon_stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_with_an_invalid_option_stops_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from scanner.cli.serve import register

    parser = argparse.ArgumentParser(prog="scanner")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--listen", "nowhere", "--shard", "1"])

    class Out:
        def line(self, text: str = "") -> None:
            raise AssertionError("nothing is printed to stdout")

    assert args.handler(args, Out()) == 2
    err = capsys.readouterr().err
    assert err == (
        "scanner: error: config: http.listen (from --listen): not HOST:PORT "
        "(e.g. 127.0.0.1:9108, 0.0.0.0:9108, [::]:9108)\n"
    )
    args = parser.parse_args(["serve", "--shard", "2", "--total-shards", "2"])
    assert args.handler(args, Out()) == 2
    assert (
        "config: sharding.shard: must be below sharding.total_shards (2)" in capsys.readouterr().err
    )
