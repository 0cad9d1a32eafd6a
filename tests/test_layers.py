"""The package's shape: each folder is a layer, and the pure core never reaches for the shell.

The core (model, patterns, catalog, evaluate, remediation, report, policy, and the error
hierarchy) may import the standard library and other core modules only: no AWS, daemon, CLI or
testing code, and no third-party package. Every import counts, also the ones inside functions,
since a lazy import is still a dependency. The command line must stay light: ``scanner rules
list`` loads neither aiobotocore nor the daemon.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scanner"
# Modules of the core that are single files rather than folders: shared leaves without a layer.
LEAVES = ("errors", "aws_defaults")
CORE = ("model", "patterns", "catalog", "evaluate", "remediation", "report", "policy", *LEAVES)
SHELL = ("aws", "daemon", "cli", "testing")
HEAVY = ("aiobotocore", "botocore", "aiohttp", "prometheus_client", "yaml", "moto")


def imported_modules(source: str) -> Iterator[str]:
    """Every module a source file imports, absolute names, wherever the import statement is."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def violations(source: str) -> list[str]:
    """What a core module imports that the core may not: the shell or a third-party package."""
    found = []
    for name in imported_modules(source):
        top, _, rest = name.partition(".")
        if top == "scanner":
            layer = rest.partition(".")[0]
            if layer in SHELL:
                found.append(f"{name} (the shell)")
        elif top not in sys.stdlib_module_names and top != "__future__":
            found.append(f"{name} (third-party)")
    return found


def core_files() -> list[Path]:
    files = []
    for layer in CORE:
        folder = PACKAGE / layer
        files.extend(sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{layer}.py"])
    return files


def test_the_checker_sees_a_third_party_or_shell_import_anywhere() -> None:
    source = (
        "import json\n\ndef f():\n    import aiobotocore.session\n"
        "    from scanner.aws import collect\n"
    )
    assert violations(source) == ["aiobotocore.session (third-party)", "scanner.aws (the shell)"]
    assert violations("from scanner.model import Finding\nimport re\n") == []


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_imports_only_the_standard_library_and_the_core(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8")) == []


def test_every_layer_is_a_folder_whose_front_door_only_re_exports() -> None:
    for layer in (*CORE, *SHELL):
        if layer in LEAVES:
            continue
        init = PACKAGE / layer / "__init__.py"
        assert init.is_file(), f"scanner/{layer} is not a package"
        tree = ast.parse(init.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"scanner/{layer}/__init__.py says nothing about the layer"
        defined = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert not defined, f"scanner/{layer}/__init__.py defines {[n.name for n in defined]}"


LOADED = """
import sys
from scanner.cli import main
code = main(["rules", "list"])
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))
print(code, ",".join(heavy) or "-")
"""


def test_the_command_line_loads_no_aws_or_daemon_code_for_the_catalog() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *HEAVY], capture_output=True, text=True, check=True
    )
    code, heavy = done.stdout.splitlines()[-1].split()
    assert (code, heavy) == ("0", "-")
