"""`xl-lesson3 solve`: train a workbook's Solver model with torch and write the answer back.

Prints the objective before and after, the time, the device and the restarts; a progress bar
with the live objective goes to stderr. ``--json`` prints one object on stdout instead. Exit
status: 0 solved (or improved before diverging), 1 a failed run: no feasible point, no finite
value, not linear for Simplex LP, or no improvement on the workbook's point (nothing is written;
the outcome says which, in Excel Solver's words), 2 bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from xl_lesson3.cli._common import console, err_console, print_json
from xl_lesson3.cli._limits import (
    add_limit_options,
    check_memory,
    finite_float,
    non_negative_float,
)

# Bytes per cell and restart while solving: values, error masks and gradients of every formula
# cell in float64, with room for the optimiser's state (measured: Titanic nnet, 256 restarts).
_BYTES_PER_CELL_RESTART = 32


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "solve",
        help="solve a workbook's Solver model (objective, changing cells, constraints) with torch",
        description=(
            "Minimise, maximise or hit a value of an objective cell by changing other cells, "
            "through the workbook's own formulas compiled to torch, with the engine Excel's Solver "
            "model asks for (GRG: gradient methods, Simplex LP: HiGHS, Evolutionary: differential "
            "evolution). Without --objective/--changing the sheet's Solver model is used. Writes "
            "BOOK-solved.xlsx unless told otherwise."
        ),
    )
    parser.add_argument("book", type=Path, metavar="BOOK", help="the .xlsx/.xlsm workbook")
    parser.add_argument("--sheet", help="sheet whose Solver model to use")
    parser.add_argument("--objective", metavar="S!A1", help="objective cell, e.g. nnet!AD2")
    parser.add_argument(
        "--changing", nargs="+", metavar="S!A1:B2", help="changing cells (one or more ranges)"
    )
    goal = parser.add_mutually_exclusive_group()
    goal.add_argument("--min", dest="goal", action="store_const", const="min", help="minimise")
    goal.add_argument("--max", dest="goal", action="store_const", const="max", help="maximise")
    goal.add_argument(
        "--value", dest="goal", type=finite_float, metavar="V", help="reach the value V"
    )
    parser.add_argument(
        "--engine",
        choices=("grg", "simplex", "evolutionary"),
        help="Excel's Solver engine (default: the model's solver_eng, else grg)",
    )
    parser.add_argument(
        "--method",
        choices=("lbfgs", "adam", "sgd"),
        help="gradient method under grg: lbfgs (default), adam, or sgd: the lesson's plain "
        "params -= lr * grad (giving one skips the least-squares shortcuts)",
    )
    parser.add_argument(
        "--lr",
        type=float,
        help="learning rate (lbfgs: scale of the first step; default per method)",
    )
    parser.add_argument("--steps", type=int, help="maximum steps (default depends on --method)")
    parser.add_argument(
        "--tol", type=non_negative_float, help="stop when the relative gain stalls below TOL"
    )
    parser.add_argument(
        "--restarts", type=int, help="random starts run as one batch (default: solver_msl/ssz, 1)"
    )
    parser.add_argument("--seed", type=int, help="random seed (default: solver_rsd, 0)")
    parser.add_argument(
        "--population", type=int, help="evolutionary population (default: solver_ssz, 100)"
    )
    parser.add_argument(
        "--max-time", type=float, metavar="S", help="stop after S seconds (default: solver_tim)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument(
        "--threads",
        type=_threads,
        default="auto",
        metavar="N|auto",
        help="torch CPU threads while solving (default auto: 1, or the idle cores when each "
        "call handles a million numbers or more, restarts x rows)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, metavar="OUT", help="write the solved workbook here")
    where.add_argument(
        "--in-place",
        action="store_true",
        help="overwrite BOOK, keeping a backup BOOK.bak.xlsx (BOOK.bak1.xlsx... if taken)",
    )
    parser.add_argument(
        "--no-backup", action="store_true", help="with --in-place: do not keep a backup"
    )
    parser.add_argument(
        "--wait",
        type=non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="with --in-place: wait this long for another run writing BOOK (default: refuse)",
    )
    parser.add_argument("--dry-run", action="store_true", help="solve but write nothing")
    parser.add_argument(
        "--report",
        action="store_true",
        help="add an 'Answer Report' sheet to the written workbook, as Excel's Solver does",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    add_limit_options(parser)
    parser.set_defaults(func=run, pause_gc=True)  # reads and compiles: see cli._process


def _threads(text: str) -> int | str:
    """``--threads``: a count of at least 1, or ``auto``."""
    if text == "auto":
        return text
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (or auto), got {text!r}")
    return count


def run(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from xl_lesson3.errors import BadInputError, WorkbookIOError
    from xl_lesson3.workbook.archive import check_archive
    from xl_lesson3.workbook.destination import check_writable, destination
    from xl_lesson3.workbook.load import sheets_needed
    from xl_lesson3.workbook.load_aside import start_load
    from xl_lesson3.workbook.lock import locked
    from xl_lesson3.workbook.xlsx_patch import check_sheets_patchable

    if not args.book.is_file():
        raise WorkbookIOError(f"{args.book}: no such file")
    dst, onto_book = destination(args.book, args.out, args.in_place)
    if args.no_backup and not onto_book:
        raise BadInputError("--no-backup: only meaningful with --in-place")
    # Sizes, ratios and zip bombs from the zip directory; the worksheets' cells are counted as
    # the load inflates them (a whole pass over a 100k-row book here cost 0.9 s).
    check_archive(args.book, defer_worksheets=True)
    writes = not args.dry_run
    if writes:  # found now, not after a long solve
        check_writable(dst, what="the solved workbook")
        check_sheets_patchable(args.book)
    lock = locked(args.book, wait=args.wait) if writes and onto_book else nullcontext()
    sheets = sheets_needed(args.objective, args.changing, args.sheet)
    # The read starts before torch is imported, in a second process where it pays (load_aside).
    with lock, start_load(args.book, sheets, layout=writes) as pending:
        from xl_lesson3.solver.writeback import write_solution  # imports torch

        book = pending.model()
        check_memory(  # before compiling: restarts x the cells of the sheets read
            "--restarts",
            float(args.restarts or 1) * len(book.cells) * _BYTES_PER_CELL_RESTART,
            f"{args.restarts or 1:,} restarts of {len(book.cells):,} cells",
        )
        result = _solve(args, book)
        written = None
        if not result.failed and writes:
            written = write_solution(result, dst, in_place=False, backup=not args.no_backup)
            if args.report:
                _add_report(result, written, quiet=args.json)
    if args.json:
        print_json(_payload(result, written))
    else:
        _print_summary(result, written, args.dry_run)
    return 1 if result.failed else 0


def _add_report(result: Any, written: Path, *, quiet: bool) -> None:
    from xl_lesson3.solver.report import add_answer_report

    report = add_answer_report(result, written)
    if not quiet:
        console.print(f"added the sheet '{report}' to {written}")


def _solve(args: argparse.Namespace, book: Any) -> Any:
    import torch

    from xl_lesson3.solver.api import solve

    with _progress_bar(quiet=False) as on_progress:
        return solve(
            book,
            objective=args.objective,
            changing=args.changing,
            goal=args.goal,
            method=args.method,
            lr=args.lr,
            steps=args.steps,
            tol=args.tol,
            restarts=args.restarts,
            seed=args.seed,
            device=args.device,
            dtype=torch.float32 if args.dtype == "float32" else torch.float64,
            callback=on_progress,
            sheet=args.sheet,
            cpu_threads=args.threads,
            engine=args.engine,
            population=args.population,
            max_time=args.max_time,
        )


def _payload(result: Any, written: Path | None) -> dict[str, Any]:
    return {
        "objective": str(result.objective),
        "initial": result.initial,
        "final": result.final,
        "cells": {str(cell): value for cell, value in result.values.items()},
        "seconds": round(result.seconds, 3),
        "device": result.device,
        "iterations": result.iterations,
        "restarts": result.restarts,
        "method": result.method,
        "engine": result.engine,
        "status": result.status,
        "code": result.outcome.code,
        "message": result.outcome.message,
        "detail": result.outcome.detail,
        "feasible": result.feasible,
        "improved": result.improved,
        "constraints": [
            {
                "cell": str(row.cell),
                "constraint": row.label,
                "value": row.value,
                "rhs": row.rhs,
                "slack": row.slack,
                "status": row.status,
            }
            for row in result.constraints
        ],
        "options": result.options,
        "output": str(written) if written is not None else None,
    }


def _print_summary(result: Any, written: Path | None, dry_run: bool) -> None:
    console.print(f"{result.objective}: {result.initial:.10g} → {result.final:.10g}")
    console.print(
        f"{result.method}, {result.iterations} steps, {result.restarts} restart"
        f"{'s' if result.restarts != 1 else ''} (best: {result.best_restart}), "
        f"{result.seconds:.2f} s on {result.device}"
    )
    console.print(f"{result.engine} engine: {result.status}")
    for row in result.constraints:
        console.print(
            f"  {row.label}: {row.cell} = {row.value:.10g} ({row.status}, slack {row.slack:.6g})"
        )
    console.print(str(result.outcome))
    if written is not None:
        console.print(f"wrote {written}")
    elif result.failed:
        err_console.print(f"nothing written: {_why(result)}")
    elif dry_run:
        console.print("dry run: nothing written")


def _why(result: Any) -> str:
    if result.outcome.failing:
        return str(result.outcome)
    return "the objective did not improve on the workbook's own values"


class _progress_bar:
    """A rich progress bar on stderr with the best objective so far, used as the progress callback.

    It starts on the first step, so an error raised while loading or compiling prints alone.
    """

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self):
        return self.update

    def _start(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from xl_lesson3.cli._process import resume_collector

        resume_collector()  # reading and compiling are done: the loop runs with the collector on

        self.progress = Progress(
            TextColumn("solving"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("objective {task.fields[objective]}"),
            console=err_console,
            transient=True,
            disable=self.quiet,
        )
        self.progress.start()
        self.task = self.progress.add_task("solve", total=total, objective="")

    def update(self, info: Any) -> None:
        if self.progress is None:
            self._start(info.max_steps)
        self.progress.update(self.task, completed=info.step, objective=f"{info.objective:.8g}")

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
