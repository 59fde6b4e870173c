"""Run pycel or `formulas` on one workbook and print every requested cell's value as JSON.

Executed by ``benchmarks.conformance`` in a separate interpreter (a venv where pycel and formulas
are installed; they are not dependencies of this project), so it imports nothing from here:
``python conformance_others.py ENGINE BOOK CELLS.json`` prints ``{"Sheet!A1": value, ...}`` with
error values as ``{"excel_error": "#N/A"}`` and a cell the engine failed on as
``{"failed": "..."}``.
"""

from __future__ import annotations

import json
import math
import re
import sys
import warnings
from pathlib import Path

_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def _plain(value):
    """A JSON-friendly scalar: numbers, text, booleans, None, or an error marker."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else {"excel_error": "#NUM!"}
    text = str(value)
    if type(value).__name__ in ("XlError",) or (
        isinstance(value, str)
        and text in ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")
    ):
        return {"excel_error": text}
    if type(value).__name__ == "Empty" or text == "empty":
        return None
    return text


def run_pycel(book: Path, cells: list[str]) -> dict:
    from pycel import ExcelCompiler

    compiler = ExcelCompiler(filename=str(book))
    found = {}
    for cell in cells:
        try:
            found[cell] = _plain(compiler.evaluate(cell))
        except Exception as exc:  # noqa: BLE001  (another engine's failure is a data point)
            found[cell] = {"failed": f"{type(exc).__name__}: {exc}"[:200]}
    return found


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def run_formulas(book: Path, cells: list[str]) -> dict:
    import formulas

    model = formulas.ExcelModel().loads(str(book)).finish(circular=True)
    solution = model.calculate()
    by_cell = {}
    for key, ranges in solution.items():
        match = re.match(r"^'?\[[^\]]+\](.+?)'?!(.+)$", str(key))
        if not match:
            continue
        sheet, ref = match.group(1).upper(), match.group(2).upper()
        first, _, last = ref.partition(":")
        a, b = _CELL.match(first), _CELL.match(last or first)
        if not a or not b:
            continue
        values = getattr(ranges, "value", ranges)
        r0, c0 = int(a.group(2)), _column_number(a.group(1))
        try:
            rows = list(values)
        except TypeError:
            rows = [[values]]
        for i, row in enumerate(rows):
            for j, value in enumerate(row if hasattr(row, "__iter__") else [row]):
                by_cell[f"{sheet}!{_column_letters(c0 + j)}{r0 + i}"] = value
    found = {}
    for cell in cells:
        sheet, _, coord = cell.rpartition("!")
        key = f"{sheet.strip(chr(39)).upper()}!{coord.upper()}"
        found[cell] = _plain(by_cell[key]) if key in by_cell else {"failed": "not computed"}
    return found


def main(argv: list[str]) -> int:
    engine, book, cells_file = argv
    cells = json.loads(Path(cells_file).read_text())
    warnings.simplefilter("ignore")
    runner = run_pycel if engine == "pycel" else run_formulas
    json.dump(runner(Path(book), cells), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
