"""Imports every category module once, so their `register` decorators fill the registry.

Every module in a category folder (`functions/<category>/*.py`, anything but `core`) is imported,
so a new function file needs no list to be edited. `registry.lookup` imports this module on first
use. Operators are not registered functions: the engine takes them from
`operators.BINARY_OPERATORS` / `operators.UNARY_OPERATORS`.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from xl_lesson3.formula.functions.core.toolpak import apply_toolpak_rule

FUNCTIONS_DIR = Path(__file__).resolve().parents[1]
PACKAGE = "xl_lesson3.formula.functions"


def category_modules() -> list[str]:
    """Dotted names of every category module, sorted so registration order never varies."""
    names = []
    for category in sorted(
        p.name for p in FUNCTIONS_DIR.iterdir() if (p / "__init__.py").is_file()
    ):
        if category == "core":
            continue
        for info in pkgutil.iter_modules([str(FUNCTIONS_DIR / category)]):
            names.append(f"{PACKAGE}.{category}.{info.name}")
    return sorted(names)


for _name in category_modules():
    importlib.import_module(_name)

# after every category has registered: it wraps functions registered above
apply_toolpak_rule()
