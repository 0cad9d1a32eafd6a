"""The Dockerfile: hadolint-clean, multi-stage, pinned, non-root, `scanner serve`, nothing extra.

The build itself is proven by .ci/check-image.sh (no container engine here), which replays the
Dockerfile's build stage with deploy/image/rehearse.py; these tests check what a reader of the
Dockerfile would check, with the same parser.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from tools import TEST_EXTRA, require_tool

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "deploy" / "image"


def _rehearse() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rehearse", IMAGE / "rehearse.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


REHEARSE = _rehearse()
STAGES = REHEARSE.stages()
FINAL = STAGES[-1].instructions


def _final(keyword: str) -> list[str]:
    return [rest for k, rest in FINAL if k == keyword]


def _hadolint() -> str:
    return require_tool("hadolint", TEST_EXTRA)


def test_hadolint_reports_nothing() -> None:
    result = subprocess.run(
        [_hadolint(), "--config", str(IMAGE / "hadolint.yaml"), str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_hadolint_config_ignores_no_rule() -> None:
    config = yaml.safe_load((IMAGE / "hadolint.yaml").read_text(encoding="utf-8"))
    assert "ignored" not in config and config["failure-threshold"] == "style"
    assert "# hadolint ignore" not in (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_multi_stage_on_a_version_pinned_slim_python() -> None:
    assert len(STAGES) == 2 and STAGES[0].name == REHEARSE.BUILD_STAGE
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base), base


def test_final_stage_installs_nothing_and_copies_only_the_environment() -> None:
    assert _final("RUN") == []  # no package manager, no compiler, no cache
    copies = [REHEARSE._copy_from(rest) for rest in _final("COPY")]
    assert copies == [
        ("build", ["/opt/scanner", "/opt/scanner"]),
        ("build", ["/var/lib/scanner", "/var/lib/scanner"]),
    ]


def test_runs_scanner_serve_as_a_numeric_non_root_user() -> None:
    (user,) = _final("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) > 0 and int(gid) > 0
    (entrypoint,) = _final("ENTRYPOINT")
    assert json.loads(entrypoint) == ["scanner", "serve"]


def test_writes_go_to_the_state_volume_only() -> None:
    environment, workdir, _ = REHEARSE.final(Path("/image"))
    (volume,) = _final("VOLUME")
    assert [f"/image{v}" for v in json.loads(volume)] == [str(workdir)]
    assert environment["HOME"] == str(workdir)
    assert environment["PYTHONDONTWRITEBYTECODE"] == "1"
    state = str(workdir).removeprefix("/image")
    state = str(workdir).removeprefix("/image")
    assert any(f"--chown={_final('USER')[0]}" in rest and state in rest for rest in _final("COPY"))


def test_oci_labels() -> None:
    labels = " ".join(_final("LABEL"))
    names = set(re.findall(r"(org\.opencontainers\.image\.[\w.]+)=", labels))
    assert {"title", "description", "version", "revision", "created", "licenses"} <= {
        n.removeprefix("org.opencontainers.image.") for n in names
    }


def test_dockerignore_admits_exactly_what_the_build_copies() -> None:
    copied = {
        path.rstrip("/")
        for source, paths in (
            REHEARSE._copy_from(r) for _, r in STAGES[0].instructions if _ == "COPY"
        )
        if source is None
        for path in paths[:-1]
    }
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert lines[lines.index("*") if "*" in lines else -1] == "*", "deny everything first"
    assert admitted == copied


def test_requirements_pin_every_runtime_dependency_and_nothing_else() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = {}
    for line in (IMAGE / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pins[canonicalize_name(name)] = version
    for text in project["dependencies"]:
        requirement = Requirement(text)
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned is not None, f"{requirement.name} is not pinned"
        assert requirement.specifier.contains(pinned), f"{requirement.name}=={pinned}: {text}"
    runtime = {canonicalize_name(Requirement(text).name) for text in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        for text in extra:
            name = canonicalize_name(Requirement(text).name)
            # An extra may restate a runtime dependency to add its own extras (aiobotocore[boto3]).
            assert name in runtime or name not in pins, f"{text} is an extra"


def test_rehearsal_moves_the_image_directories_only() -> None:
    moved = REHEARSE.moved_paths(STAGES)
    command = "python -m pip --python /opt/scanner/bin/python install /src/x /usr/local/y"
    assert REHEARSE.relocate(command, Path("/r"), moved) == (
        "python -m pip --python /r/opt/scanner/bin/python install /r/src/x /usr/local/y"
    )
