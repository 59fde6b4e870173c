"""`xl-lesson3 check BOOK [--json]`: what the engine computes of a workbook, against Excel.

Per sheet: formula cells, how many agree with the values Excel saved in the file, how many
differ (first examples), how many cannot be computed (grouped by function or feature), and
whether each stored Solver model can be trained. Exit 0 when the workbook was read.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="compare every formula cell with the value Excel saved; list what cannot be computed",
        description=(
            "Recalculate every formula cell of BOOK and compare it with the value Excel saved "
            "in the file; report per sheet what agrees, what differs and what cannot be "
            "computed, and whether each stored Solver model can be trained."
        ),
    )
    parser.add_argument("book", type=Path, metavar="BOOK", help="an .xlsx or .xlsm workbook")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from xl_lesson3.errors import WorkbookIOError
    from xl_lesson3.formula.evaluate.check import check_workbook
    from xl_lesson3.workbook.load import load_workbook

    if not args.book.is_file():
        raise WorkbookIOError(f"{args.book}: no such workbook")
    report = check_workbook(load_workbook(args.book, cached_values=True))
    if args.json:
        from xl_lesson3.cli._common import print_json

        print_json(
            {
                "sheets": {sheet.sheet: sheet.as_dict() for sheet in report.sheets},
                "totals": report.totals,
                "solver_models": {
                    sheet: {"trainable": reason is None, "reason": reason}
                    for sheet, reason in report.solver_models.items()
                },
            }
        )
        return 0
    _print_text(report)
    return 0


def _print_text(report) -> None:
    from xl_lesson3.cli._common import console

    def say(text: str) -> None:
        console.print(text, markup=False, soft_wrap=True)

    for sheet in report.sheets:
        say(
            f"{sheet.sheet}: {sheet.formulas} formula cells, {sheet.agree} agree with Excel, "
            f"{sheet.differ} differ, {sheet.uncomputable} cannot be computed"
            + (f", {sheet.volatile} volatile (left out)" if sheet.volatile else "")
        )
        for cell, formula, excel, ours in sheet.examples:
            say(f"  differs: {cell} {formula}  Excel: {excel!r}  ours: {ours!r}")
        for feature, count in sheet.causes.most_common():
            say(f"  cannot compute ({count}): {sheet.first_reasons[feature]}")
    totals = report.totals
    say(
        f"total: {totals['formulas']} formula cells, {totals['agree']} agree, "
        f"{totals['differ']} differ, {totals['uncomputable']} cannot be computed"
    )
    for sheet, reason in report.solver_models.items():
        say(f"Solver model on {sheet}: " + ("can be trained" if reason is None else reason))
