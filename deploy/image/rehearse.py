"""Run the Dockerfile's build and start steps without a container engine.

Why: CI has no Docker, yet the image's install and start steps must be proven, not assumed.
Rather than a second copy of the pip commands that could drift from the Dockerfile, this reads
the Dockerfile itself and replays it:

* ``build ROOT``: the build stage's ENV, WORKDIR, COPY (from the build context, the repository)
  and RUN instructions, in order, with the image's own directories (every WORKDIR and every
  path the final stage copies out of the build stage) moved under ROOT. ``python`` is whatever
  interpreter comes first on PATH: ``.ci/check-image.sh`` puts a fresh virtual environment
  with pip there, standing in for the base image's Python.
* ``env ROOT`` prints the final stage's environment (ENV, with the same move), one
  ``NAME=value`` a line, and ``workdir ROOT`` / ``command ROOT`` its WORKDIR and its
  ENTRYPOINT + CMD, so the script starts exactly what the container would.

Only the instructions this Dockerfile uses are understood; any other one in the build stage
is an error, so a new instruction cannot be silently skipped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
BUILD_STAGE = "build"


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages(text: str = "") -> list[Stage]:
    found: list[Stage] = []
    for keyword, rest in instructions(text or DOCKERFILE.read_text(encoding="utf-8")):
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            found.append(Stage(name))
        elif found:
            found[-1].instructions.append((keyword, rest))
    return found


def _copy_from(rest: str) -> tuple[str | None, list[str]]:
    words = shlex.split(rest)
    source = None
    paths = []
    for word in words:
        if word.startswith("--from="):
            source = word.removeprefix("--from=")
        elif not word.startswith("--"):
            paths.append(word)
    return source, paths


def moved_paths(all_stages: list[Stage]) -> list[str]:
    """The image's own directories: every WORKDIR, every path copied out of another stage."""
    moved = set()
    for stage in all_stages:
        for keyword, rest in stage.instructions:
            if keyword == "WORKDIR":
                moved.add(rest)
            elif keyword == "COPY":
                source, paths = _copy_from(rest)
                if source is not None:
                    moved.update(paths[:-1])
    return sorted(moved, key=len, reverse=True)


def relocate(text: str, root: Path, moved: list[str]) -> str:
    pattern = "|".join(re.escape(p) for p in moved)
    return re.sub(rf"(?<![\w/.])({pattern})(?=/|\b|$)", lambda m: f"{root}{m.group(1)}", text)


def _env_pairs(rest: str, environ: dict[str, str]) -> dict[str, str]:
    pairs = {}
    for word in shlex.split(rest):
        name, _, value = word.partition("=")
        pairs[name] = re.sub(r"\$\{?(\w+)\}?", lambda m: environ.get(m.group(1), ""), value)
    return pairs


def build(root: Path) -> None:
    all_stages = stages()
    moved = moved_paths(all_stages)
    stage = next(s for s in all_stages if s.name == BUILD_STAGE)
    environ = dict(os.environ)
    workdir = root
    for keyword, rest in stage.instructions:
        if keyword == "ENV":
            environ.update(_env_pairs(relocate(rest, root, moved), environ))
        elif keyword == "WORKDIR":
            workdir = Path(relocate(rest, root, moved))
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            _, paths = _copy_from(rest)
            *sources, target = paths
            for source in sources:
                destination = workdir / target
                if target.endswith("/") or len(sources) > 1:
                    destination = destination / Path(source).name
                if (REPO / source).is_dir():
                    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                    shutil.copytree(REPO / source, destination, ignore=ignore)
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(REPO / source, destination)
        elif keyword == "RUN":
            command = relocate(rest, root, moved)
            print(f"+ {command}", flush=True)
            subprocess.run(["/bin/sh", "-c", command], cwd=workdir, env=environ, check=True)
        else:
            raise SystemExit(f"rehearse: {keyword} in the build stage is not understood")


def final(root: Path) -> tuple[dict[str, str], Path, list[str]]:
    all_stages = stages()
    moved = moved_paths(all_stages)
    environ: dict[str, str] = {"PATH": os.environ.get("PATH", "")}
    workdir = Path("/")
    command: list[str] = []
    entrypoint: list[str] = []
    for keyword, rest in all_stages[-1].instructions:
        if keyword == "ENV":
            environ.update(_env_pairs(relocate(rest, root, moved), environ))
        elif keyword == "WORKDIR":
            workdir = Path(relocate(rest, root, moved))
        elif keyword == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif keyword == "CMD":
            command = json.loads(rest)
    return environ, workdir, entrypoint + command


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] not in {"build", "env", "workdir", "command"}:
        raise SystemExit("usage: rehearse.py build|env|workdir|command ROOT")
    root = Path(argv[1]).resolve()
    if argv[0] == "build":
        build(root)
        return
    environ, workdir, command = final(root)
    if argv[0] == "env":
        for name, value in environ.items():
            print(f"{name}={value}")
    elif argv[0] == "workdir":
        print(workdir)
    else:
        print(shlex.join(command))


if __name__ == "__main__":
    main(sys.argv[1:])
