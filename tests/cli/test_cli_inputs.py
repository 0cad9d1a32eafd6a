"""Bad input: one line on stderr and exit 2, before any work; the option vocabulary; Ctrl-C.

No test here reaches AWS: the environment points at a closed port with fake credentials, so a
check that came too late would end in a different message (or a connection error), not the one
asserted.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_run import one_error_line, run

from scanner.cli import main
from scanner.testing import emulation

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Fake credentials, AWS config files inside the test's directory, no reachable endpoint."""
    for name in emulation.CLEARED_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in emulation.FAKE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = us-east-1\n\n[profile audit]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL", UNREACHABLE)
    return tmp_path


def _inventory(tmp_path: Path, text: str) -> str:
    path = tmp_path / "inventory.json"
    path.write_text(text)
    return str(path)


MADE_UP_REGIONS = ",".join(f"xx-made-up-{i % 90 + 1}" for i in range(5000))

BAD_INPUTS: list[tuple[str, tuple[str, ...], str]] = [
    ("short-account-id", ("scan", "--organization", "--accounts", "1234"), "12-digit"),
    ("account-id-letters", ("scan", "--organization", "--accounts", "12345678901x"), "12-digit"),
    ("accounts-without-organization", ("scan", "--accounts", "123456789012"), "--organization"),
    ("not-an-ou", ("scan", "--organization", "--ous", "not-an-ou"), "not an OU id"),
    ("ous-without-organization", ("scan", "--exclude-ous", "r-ab12"), "needs --organization"),
    ("unknown-region", ("scan", "--regions", "xx-nowhere-9"), "unknown region 'xx-nowhere-9'"),
    ("path-as-region", ("scan", "--regions", "../../etc/passwd"), "not a region name"),
    ("5000-made-up-regions", ("scan", "--regions", MADE_UP_REGIONS), "and 85 more"),
    ("excluded-unknown-region", ("remediate", "--exclude-regions", "mars-1"), "not a region"),
    ("rate-inf", ("scan", "--rate-limit", "cloudtrail=inf"), "outside 0.01-1000"),
    ("rate-overflow", ("scan", "--rate-limit", "cloudtrail=1e309"), "outside 0.01-1000"),
    ("rate-tiny", ("scan", "--rate-limit", "cloudtrail=1e-300"), "outside 0.01-1000"),
    ("rate-zero", ("scan", "--rate-limit", "logs=0"), "outside 0.01-1000"),
    ("rate-nan", ("scan", "--rate-limit", "logs=nan"), "expected SERVICE=N"),
    ("rate-unknown-service", ("scan", "--rate-limit", "s3=5"), "s3: unknown service"),
    ("rate-no-number", ("scan", "--rate-limit", "cloudtrail"), "expected SERVICE=N"),
    ("unknown-aws-profile", ("scan", "--aws-profile", "nosuch"), "unknown AWS profile 'nosuch'"),
    (
        "rule-profile-as-aws-profile",
        ("remediate", "--profile", "cis-1.2"),
        "'cis-1.2' is a rule profile; use --rules-profile cis-1.2",
    ),
    ("unknown-rules-profile", ("scan", "-r", "cis-9"), "unknown profile 'cis-9'"),
    ("output-in-missing-dir", ("scan", "--output", "{tmp}/no/such/dir/r.txt"), "cannot write"),
    ("output-is-a-directory", ("scan", "--output", "{tmp}"), "is a directory"),
    ("save-inventory-nowhere", ("scan", "--save-inventory", "{tmp}/no/i.json"), "cannot write"),
    (
        "evaluate-output-nowhere",
        ("evaluate", "--inventory", "{inv}", "--output", "{tmp}/a/b"),
        "cannot write",
    ),
    ("empty-inventory", ("evaluate", "--inventory", "{empty}"), "holds no account"),
    ("deep-json-inventory", ("evaluate", "--inventory", "{deep}"), "nested too deeply"),
    ("list-as-inventory", ("evaluate", "--inventory", "{list}"), "invalid inventory"),
    ("remediate-empty-inventory", ("remediate", "--inventory", "{empty}"), "holds no account"),
    ("remediate-bad-account", ("remediate", "--account", "prod"), "12-digit"),
]


@pytest.mark.parametrize(
    ("argv", "expected"), [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS]
)
def test_every_bad_input_is_one_line_and_exit_2_before_any_work(
    capsys: pytest.CaptureFixture[str], offline: Path, argv: tuple[str, ...], expected: str
) -> None:
    files = {
        "tmp": str(offline),
        "inv": _inventory(offline, json.dumps({"accounts": [{"id": "111111111111", "name": "a"}]})),
        "empty": str(_write(offline / "empty.json", "{}")),
        "deep": str(_write(offline / "deep.json", "[" * 100_000 + "]" * 100_000)),
        "list": str(_write(offline / "list.json", "[]")),
    }
    code, out, err = run(capsys, *(arg.format(**files) for arg in argv))
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert expected in line
    assert len(line) < 400  # 5,000 names are counted, not quoted


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_profile_from_the_environment_is_checked_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "gone")
    code, _, err = run(capsys, "scan")
    assert code == 2
    assert "unknown AWS profile 'gone' (from the environment)" in one_error_line(err)


# ------------------------------------------------------------------------------ vocabulary


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"scanner {metadata.version('cloudtrail-monitoring-scanner')}"


def test_rules_profiles_lists_every_profile_with_its_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "rules", "profiles", "--format", "json")
    assert code == 0
    profiles = {p["name"]: p for p in json.loads(out)["profiles"]}
    assert profiles["recommended"]["default"] is True
    assert profiles["cis-1.2"]["rules"] == 14
    code, out, _ = run(capsys, "rules", "profiles")
    assert out.splitlines()[1].split()[:3] == ["recommended", "(default)", "18"]


@pytest.mark.parametrize("option", ["-r", "--rules-profile"])
@pytest.mark.parametrize("command", [("rules", "list"), ("rules", "show", "ssm-actions")])
def test_rules_profile_is_the_rule_profile_everywhere(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...], option: str
) -> None:
    code, out, err = run(capsys, *command, option, "cis-1.2")
    assert (code, err) == (0, "")
    assert "cis-1.2" in out


def test_the_old_profile_option_still_works_and_says_what_replaces_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "rules", "list", "--profile", "cloudguard")
    assert code == 0
    assert out.rstrip().endswith("5 rules")
    assert err == "scanner: warning: --profile is deprecated; use --rules-profile\n"


def test_the_aws_profile_option_reaches_the_scan(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A known profile passes the check; the scan then fails on the closed port, not before."""
    seen: list[str | None] = []

    def refuse(options: object, **_: object) -> None:
        seen.append(getattr(options, "profile", None))
        raise KeyboardInterrupt

    monkeypatch.setattr("scanner.cli.scan.collect", refuse)
    code, _, err = run(capsys, "scan", "--aws-profile", "audit")
    assert seen == ["audit"]
    assert (code, err) == (130, "scanner: interrupted\n")


def test_ctrl_c_in_the_demo_exits_130_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("scanner.testing.demo.run", interrupted)
    assert main(["demo"]) == 130
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "scanner: interrupted"


def test_bash_completion_knows_the_commands_options_and_choices(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, script, _ = run(capsys, "completion", "bash")
    assert code == 0
    (tmp_path / "scanner.bash").write_text(script)

    def complete(*words: str) -> list[str]:
        line = " ".join(words)
        probe = (
            f"source {tmp_path / 'scanner.bash'}; COMP_WORDS=({line} ''); "
            f"COMP_WORDS[{len(words) - 1}]='{words[-1]}'; unset 'COMP_WORDS[{len(words)}]'; "
            f"COMP_CWORD={len(words) - 1}; _shtab_scanner; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        )
        done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
        return done.stdout.split()

    assert complete("scanner", "scan", "--aws-pr") == ["--aws-profile"]
    assert complete("scanner", "rules", "pro") == ["profiles"]
    assert "ocsf" in complete("scanner", "evaluate", "--format", "")


def test_completion_without_shtab_says_how_to_get_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "shtab", None)  # what an install without the extra has
    code, out, err = run(capsys, "completion", "zsh")
    assert (code, out) == (2, "")
    assert "pip install 'cloudtrail-monitoring-scanner[completion]'" in one_error_line(err)


# ------------------------------------------------------------------------ scanner serve


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def _bad_rows_state(path: Path) -> None:
    """A valid SQLite state whose stored account view is not JSON: it fails when read, after
    the port is open."""
    from scanner.daemon.state import StateStore

    with StateStore.open(path) as store:
        store._db.execute("INSERT INTO account_views VALUES ('111111111111', '{not json', NULL)")


SERVE_FAILURES: list[tuple[str, str, tuple[str, ...], str]] = [
    # (case, configuration file, options, what the line says)
    ("port-in-use", "state: {path: '{tmp}/s.db'}", ("--listen", "127.0.0.1:{busy}"), "in use"),
    (
        "unwritable-state-path",
        "state: {path: '{tmp}/a-file/s.db'}",
        ("--listen", "127.0.0.1:{free}"),
        "state {tmp}/a-file/s.db: cannot open: unable to open database file",
    ),
    (
        "corrupt-state-file",
        "state: {path: '{tmp}/noise.db'}",
        ("--listen", "127.0.0.1:{free}"),
        "state {tmp}/noise.db: file is not a database",
    ),
    (
        "unreadable-state-rows",
        "state: {path: '{tmp}/rows.db'}",
        ("--listen", "127.0.0.1:{free}"),
        "state {tmp}/rows.db: Expecting property name",
    ),
    (
        "port-0-in-config",
        "http: {listen: '127.0.0.1:0'}",
        (),
        "config: {tmp}/scanner.yaml: line 1: http.listen: port 0 picks a random port nothing "
        "could scrape",
    ),
    (
        "listen-option-port-0",
        "state: {path: '{tmp}/s.db'}",
        ("--listen", "127.0.0.1:0"),
        "config: http.listen (from --listen): port 0 picks a random port",
    ),
]


@pytest.mark.parametrize(
    "case", [case[1:] for case in SERVE_FAILURES], ids=[case[0] for case in SERVE_FAILURES]
)
def test_every_start_up_failure_of_serve_is_one_line_and_exit_2_and_nothing_before_it(
    capsys: pytest.CaptureFixture[str],
    offline: Path,
    busy_port: int,
    case: tuple[str, tuple[str, ...], str],
) -> None:
    """No ``daemon_stopped`` (or any log line) before the error: a daemon that never started
    says only why."""
    config, options, expected = case
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    names = {"tmp": str(offline), "busy": str(busy_port), "free": str(free)}
    (offline / "a-file").write_text("a file, not a directory")
    (offline / "noise.db").write_bytes(bytes(range(256)) * 20)
    _bad_rows_state(offline / "rows.db")
    path = offline / "scanner.yaml"
    path.write_text(config.replace("{tmp}", str(offline)))
    argv = ("serve", "--config", str(path), *(o.format(**names) for o in options))
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert expected.format(**names) in one_error_line(err)
