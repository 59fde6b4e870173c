"""`xl-lesson3 solve`: train a workbook's Solver model with torch and write the answer back.

Prints the objective before and after, the time, the device and the restarts; a progress bar
with the live objective goes to stderr. ``--json`` prints one object on stdout instead. Exit
status: 0 solved (or improved before diverging), 1 diverged without a better point (nothing is
written), 2 bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from xl_lesson3.cli._common import console, err_console, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "solve",
        help="train a workbook's Solver model (objective and changing cells) with torch",
        description=(
            "Minimise, maximise or hit a value of an objective cell by changing other cells, with "
            "gradient descent through the workbook's own formulas. Without --objective/--changing "
            "the sheet's Excel Solver model is used. Writes BOOK-solved.xlsx unless told otherwise."
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
    goal.add_argument("--value", dest="goal", type=float, metavar="V", help="reach the value V")
    parser.add_argument(
        "--method",
        choices=("lbfgs", "adam", "sgd"),
        default="lbfgs",
        help="lbfgs (default), adam, or sgd: the lesson's plain params -= lr * grad",
    )
    parser.add_argument(
        "--lr",
        type=float,
        help="learning rate (lbfgs: scale of the first step; default per method)",
    )
    parser.add_argument("--steps", type=int, help="maximum steps (default depends on --method)")
    parser.add_argument("--tol", type=float, help="stop when the relative gain stalls below TOL")
    parser.add_argument("--restarts", type=int, default=1, help="random starts run as one batch")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random starts")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads while solving (default 1: faster for these small tensors)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, metavar="OUT", help="write the solved workbook here")
    where.add_argument("--in-place", action="store_true", help="overwrite BOOK (keeps BOOK.bak)")
    parser.add_argument(
        "--no-backup", action="store_true", help="with --in-place: do not keep BOOK.bak.xlsx"
    )
    parser.add_argument("--dry-run", action="store_true", help="solve but write nothing")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.set_defaults(func=run, pause_gc=True)  # reads and compiles: see cli._process


def run(args: argparse.Namespace) -> int:
    import torch

    from xl_lesson3.errors import BadInputError, WorkbookIOError
    from xl_lesson3.solver.api import DEFAULT_TOL, solve
    from xl_lesson3.solver.writeback import write_solution

    if args.no_backup and not args.in_place:
        raise BadInputError("--no-backup: only meaningful with --in-place")
    if not args.book.is_file():
        raise WorkbookIOError(f"{args.book}: no such file")
    with _progress_bar(quiet=False) as on_progress:
        result = solve(
            args.book,
            objective=args.objective,
            changing=args.changing,
            goal=args.goal,
            method=args.method,
            lr=args.lr,
            steps=args.steps,
            tol=DEFAULT_TOL if args.tol is None else args.tol,
            restarts=args.restarts,
            seed=args.seed,
            device=args.device,
            dtype=torch.float32 if args.dtype == "float32" else torch.float64,
            callback=on_progress,
            sheet=args.sheet,
            cpu_threads=args.threads,
        )
    written = None
    if not result.failed and not args.dry_run:
        written = write_solution(
            result, args.out, in_place=args.in_place, backup=not args.no_backup
        )
    if args.json:
        print_json(_payload(result, written))
    else:
        _print_summary(result, written, args.dry_run)
    return 1 if result.failed else 0


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
        "status": result.status,
        "output": str(written) if written is not None else None,
    }


def _print_summary(result: Any, written: Path | None, dry_run: bool) -> None:
    console.print(f"{result.objective}: {result.initial:.10g} → {result.final:.10g}")
    console.print(
        f"{result.method}, {result.iterations} steps, {result.restarts} restart"
        f"{'s' if result.restarts != 1 else ''} (best: {result.best_restart}), "
        f"{result.seconds:.2f} s on {result.device}"
    )
    console.print(result.status)
    if written is not None:
        console.print(f"wrote {written}")
    elif result.failed:
        err_console.print("nothing written: no better finite point was found")
    elif dry_run:
        console.print("dry run: nothing written")


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
