"""The pets package stands apart: no formula engine imports; its own entry point works."""

from __future__ import annotations

import ast
from pathlib import Path

import xl_lesson3.pets
from xl_lesson3.pets.cli import main as pets_main

FORBIDDEN = ("xl_lesson3.formula", "xl_lesson3.solver", "xl_lesson3.workbook")


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_pets_never_imports_the_formula_engine() -> None:
    package = Path(xl_lesson3.pets.__file__).parent
    for path in sorted(package.glob("*.py")):
        bad = [m for m in imported_modules(path) if m.startswith(FORBIDDEN)]
        assert not bad, f"{path.name} imports {bad}"


def test_standalone_entry_point_reports_bad_input(tmp_path: Path, capsys) -> None:
    assert pets_main(["inspect", str(tmp_path)]) == 2
    assert "config.json" in capsys.readouterr().err
