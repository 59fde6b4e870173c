"""`xl-lesson3 eval BOOK CELL...`: recalculate cells with the formula engine and print them.

Never reads the values Excel cached in the file: every formula the requested cells depend on is
recomputed. A cell without a sheet (``B3``) means the workbook's first sheet.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from xl_lesson3.cli._limits import add_limit_options, check_memory

# Bytes per evaluated cell: the engine's value and error tensors plus the printed Python value.
_BYTES_PER_CELL = 96


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
    parser.add_argument("cells", nargs="*", metavar="CELL", help="cells or ranges to evaluate")
    parser.add_argument(
        "--all",
        action="store_true",
        help=(
            "every formula cell of the workbook; a cell that cannot be computed shows "
            '{"error": "..."} and never stops the others'
        ),
    )
    parser.add_argument("--json", action="store_true", help='print {"Sheet!A1": value, ...}')
    add_limit_options(parser)
    parser.set_defaults(func=run, pause_gc=True)  # reads and compiles: see cli._process


def run(args: argparse.Namespace) -> int:
    from xl_lesson3.errors import (
        BadInputError,
        FormulaSyntaxError,
        UnknownReferenceError,
        WorkbookIOError,
    )
    from xl_lesson3.workbook.address import RangeAddress
    from xl_lesson3.workbook.load_aside import start_load

    if not args.book.is_file():
        raise WorkbookIOError(f"{args.book}: no such workbook")
    if args.all and args.cells:
        raise BadInputError("--all: give either --all or CELLs, not both")
    if not args.all and not args.cells:
        raise BadInputError("CELL: give at least one cell or range, or --all")
    # The read starts before the engine (and torch) is imported, in a second process where it
    # pays (`load_aside`).
    with start_load(args.book, None) as pending:
        from xl_lesson3.formula.evaluate.recalc import evaluate_cells
        from xl_lesson3.formula.parse.ast import A1Ref
        from xl_lesson3.formula.parse.references import parse_reference

        model = pending.model()
    if args.all:
        return _run_all(model, args.json)
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
    n_cells = sum(ref.size if isinstance(ref, RangeAddress) else 1 for ref in refs)
    check_memory(" ".join(args.cells), float(n_cells) * _BYTES_PER_CELL, f"{n_cells:,} cells")
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


def _run_all(model, as_json: bool) -> int:
    """Print every formula cell (exit 0 whenever the workbook was read)."""
    from xl_lesson3.formula.evaluate.tolerant import Uncomputable, evaluate_all

    values = evaluate_all(model)
    cells = sorted(values, key=lambda cell: (model.sheet_names.index(cell.sheet), cell))
    shown = {
        str(cell): (
            {"error": values[cell].message}
            if isinstance(values[cell], Uncomputable)
            else _plain(values[cell])
        )
        for cell in cells
    }
    if as_json:
        from xl_lesson3.cli._common import print_json

        print_json(shown)
        return 0
    from xl_lesson3.cli._common import console

    for label, value in shown.items():
        text = f"cannot compute: {value['error']}" if isinstance(value, dict) else _show(value)
        console.print(f"{label}\t{text}", markup=False, soft_wrap=True)
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
