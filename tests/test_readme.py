"""The README stays true: its rules table is the catalog, its test command is CI's, and every
example shown at a ``$`` prompt runs as shown."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from scanner.catalog import load_catalog
from scanner.cli import main
from scanner.testing import emulation

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _cell(value: str | None) -> str:
    return value or "\u2013"  # the en dash the table uses for "none"


def test_rules_table_lists_every_rule_as_the_catalog_has_it() -> None:
    section = README.split("## Rules", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|(.*)\|$", section, flags=re.MULTILINE)
    table = {rule: [c.strip() for c in rest.split("|")] for rule, rest in rows}
    catalog = load_catalog()
    assert list(table) == [rule.id for rule in catalog.rules]
    for rule in catalog.rules:
        assert table[rule.id] == [
            rule.severity,
            _cell(rule.cis_sections.get("cis-1.2")),
            _cell(rule.cis_sections.get("cis-5.0")),
            _cell(rule.cis_sections.get("cis-7.0")),
            _cell(rule.securityhub_control),
            _cell(rule.cloudguard_rule),
            rule.title,
        ], rule.id
        assert rule.cis_sections.get("cis-6.0") == rule.cis_sections.get("cis-7.0"), rule.id


def test_the_quick_start_test_command_is_what_ci_runs() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "python -m pytest" in quick_start
    assert "\npython -m pytest\n" in (ROOT / ".ci" / "run").read_text()


def test_every_profile_is_documented() -> None:
    for profile in load_catalog().profiles:
        assert f"`{profile.name}`" in README, profile.name


# ------------------------------------------------------------------ the examples, run as shown


@dataclass(frozen=True)
class Example:
    """One ``$ scanner ...`` command of a README block, what it prints and its exit code."""

    argv: tuple[str, ...]
    shown: tuple[str, ...]  # stdout then stderr, as a terminal shows them; "...": any lines
    exit_code: int  # a "# exits N" comment on the command, else 0


def _examples(block: str) -> list[Example]:
    examples: list[Example] = []
    lines = iter(block.splitlines())
    command: list[str] | None = None
    shown: list[str] = []

    def done() -> None:
        if command is not None:
            text = "\n".join(command)
            exits = re.search(r"#\s*exits (\d+)", text)
            argv = tuple(shlex.split(text.replace("\\\n", " "), comments=True))
            examples.append(Example(argv, tuple(shown), int(exits[1]) if exits else 0))

    for line in lines:
        if line.startswith("$ "):
            done()
            command, shown = [line[2:]], []
            while command[-1].endswith("\\"):
                command.append(next(lines))
        else:
            shown.append(line)
    done()
    return examples


# Every fenced sh block written as a session at a prompt.
SESSIONS = [
    _examples(block)
    for block in re.findall(r"^```sh\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)
    if block.startswith("$ ")
]


def _matches(shown: Sequence[str], printed: str) -> bool:
    """The printed text is what the README shows, a "..." line standing for any lines."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in shown
    )
    return re.fullmatch(pattern, printed) is not None


def test_the_offline_path_and_check_pattern_are_shown_at_a_prompt() -> None:
    commands = [example.argv[:2] for session in SESSIONS for example in session]
    for expected in (
        ("scanner", "demo"),
        ("scanner", "evaluate"),
        ("scanner", "remediate"),
        ("scanner", "rules"),
    ):
        assert expected in commands


@pytest.mark.slow
@pytest.mark.filterwarnings(emulation.MOTO_ERROR_SHAPE_WARNING)
@pytest.mark.parametrize(
    "session", SESSIONS, ids=[" ".join(session[0].argv[:3]) for session in SESSIONS]
)
def test_every_example_at_a_prompt_runs_as_shown(
    session: list[Example],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each block is one session in an empty directory: its commands run in order, each must
    print what the README shows and exit as its comment says."""
    monkeypatch.chdir(tmp_path)
    for example in session:
        program, *argv = example.argv
        assert program == "scanner", example
        code = main(argv)
        out, err = capsys.readouterr()
        assert _matches(example.shown, out + err), (example.argv, out + err)
        assert code == example.exit_code, (example.argv, out + err)


def test_event_driven_re_evaluation_names_what_it_deploys_and_configures() -> None:
    section = README.split("### 4. Event-driven re-evaluation", 1)[1].split("\n## ", 1)[0]
    events = ROOT / "deploy" / "events"
    for template in sorted(events.glob("*.yaml")):
        assert f"{template.name}`" in section, template.name
    for module in sorted(p for p in (events / "terraform").iterdir() if p.is_dir()):
        assert f"`deploy/events/terraform/{module.name}`" in section, module.name
    changes = load_catalog().changes
    assert f"`{changes.forwarding_rule}`" in section
    for event in changes.events:
        if event.scope == "forwarding":
            assert f"`{event.name}`" in section, event.name
    values = yaml.safe_load((ROOT / "helm" / "values.yaml").read_text())
    for key in values["events"]:
        assert f"events.{key}" in section, key
    assert "us-east-1" in section
