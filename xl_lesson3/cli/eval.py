"""`xl-lesson3 eval BOOK CELL...`: recalculate cells with the formula engine and print them.

Never reads the values Excel cached in the file: every formula the requested cells depend on is
recomputed. A cell without a sheet (``B3``) means the workbook's first sheet.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="recalculate cells of a workbook with the formula engine and print their values",
        description=(
            "Recalculate CELLs (e.g. linear!B2, 'My Sheet'!A1:C3) with xl-lesson3's formula "
            "engine, ignoring values cached in the file. Ranges print as lists of rows."
        ),
    )
    parser.add_argument("book", type=Path, metavar="BOOK", help="an .xlsx or .xlsm workbook")
    parser.add_argument("cells", nargs="+", metavar="CELL", help="cells or ranges to evaluate")
    parser.add_argument("--json", action="store_true", help='print {"Sheet!A1": value, ...}')
    parser.set_defaults(func=run, pause_gc=True)  # reads and compiles: see cli._process


def run(args: argparse.Namespace) -> int:
    from xl_lesson3.errors import FormulaSyntaxError, UnknownReferenceError, WorkbookIOError
    from xl_lesson3.formula.ast import A1Ref
    from xl_lesson3.formula.evaluate import evaluate_cells
    from xl_lesson3.formula.references import parse_reference
    from xl_lesson3.workbook.address import RangeAddress
    from xl_lesson3.workbook.load import load_workbook

    if not args.book.is_file():
        raise WorkbookIOError(f"{args.book}: no such workbook")
    model = load_workbook(args.book)
    refs: list[RangeAddress] = []
    for text in args.cells:
        try:
            if not isinstance(parse_reference(text), A1Ref):
                raise UnknownReferenceError(text)
            rng = RangeAddress.parse(text, model.sheet_names[0])
        except (UnknownReferenceError, FormulaSyntaxError) as exc:
            raise UnknownReferenceError(f"{text}: not a cell or range reference") from exc
        if not model.sheet_exists(rng.sheet):
            raise UnknownReferenceError(f"{text}: no sheet named {rng.sheet!r}")
        refs.append(rng if not rng.is_cell else rng.top_left)
    values = evaluate_cells(model, refs)
    labels = [str(ref) for ref in refs]
    if args.json:
        from xl_lesson3.cli._common import print_json

        print_json({label: _plain(value) for label, value in zip(labels, values, strict=True)})
        return 0
    from xl_lesson3.cli._common import console

    for label, value in zip(labels, values, strict=True):
        console.print(f"{label}\t{_show(_plain(value))}", markup=False, soft_wrap=True)
    return 0


def _plain(value: Any) -> Any:
    """JSON-friendly: error values as their text (``#DIV/0!``), lists recursively."""
    from xl_lesson3.formula.scalars import ExcelError

    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, ExcelError):
        return str(value)
    return value


def _show(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    if value is None:
        return "(blank)"
    if isinstance(value, str):
        return repr(value) if not value.startswith("#") else value
    return str(value)
