"""Small helpers shared by the subcommands: console output and JSON printing."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def print_json(payload: Any) -> None:
    """Print machine-readable output on stdout (NaN/inf become strings, keeping it valid JSON)."""
    sys.stdout.write(json.dumps(_jsonable(payload), indent=2) + "\n")
    sys.stdout.flush()
