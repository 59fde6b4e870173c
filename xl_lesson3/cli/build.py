"""`xl-lesson3 build TARGET`: write one of the project's workbooks.

One sub-subcommand per workbook, each with its own options; the builders are imported inside the
command functions so ``--help`` stays fast. Every builder writes its output atomically, so a
failed build leaves no partial file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from xl_lesson3.titanic import DEFAULT_SEED


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``build`` with its targets ``titanic`` and ``lesson``."""
    parser = subparsers.add_parser(
        "build",
        help="build one of the lesson's workbooks",
        description="Build one of the lesson's workbooks from scratch.",
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    _register_titanic(targets)
    _register_lesson(targets)


def _seed_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the RAND()-0.5 starting parameters (default: {DEFAULT_SEED})",
    )


def _register_titanic(targets: argparse._SubParsersAction) -> None:
    parser = targets.add_parser(
        "titanic",
        help="the Titanic workbook: data, linear, nnet, mmult and About sheets",
        description=(
            "Build the lesson's Titanic workbook from Kaggle's train.csv: the cleaned passengers "
            "as Excel tables with live formulas, a linear model, a two-ReLU neural net and the "
            "same net with MMULT, each with a Solver model ready for Data > Solver."
        ),
    )
    parser.add_argument(
        "--csv",
        type=Path,
        default=None,
        help="Kaggle's Titanic train.csv (default: the copy shipped with xl-lesson3)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("workbooks/titanic.xlsx"),
        help="workbook to write (default: workbooks/titanic.xlsx)",
    )
    _seed_argument(parser)
    parser.set_defaults(func=run_titanic)


def _register_lesson(targets: argparse._SubParsersAction) -> None:
    parser = targets.add_parser(
        "lesson",
        help="the lesson's other exercises (quadratic fit, ReLUs, matrix multiplication)",
        description="Build the workbook of the lesson's other exercises.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("workbooks/lesson3.xlsx"),
        help="workbook to write (default: workbooks/lesson3.xlsx)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the quadratic exercise's random data (default: the lesson's own)",
    )
    parser.set_defaults(func=run_lesson)


def run_titanic(args: argparse.Namespace) -> int:
    """Build the Titanic workbook and print its three total losses."""
    from rich.table import Table

    from xl_lesson3.cli._common import console
    from xl_lesson3.titanic.builder import build_titanic_workbook

    _make_folder(args.out)
    with console.status("Building the Titanic workbook..."):
        built = build_titanic_workbook(args.out, csv=args.csv, seed=args.seed)
    console.print(f"Wrote {built.path} ({built.n_rows} passengers, seed {built.seed})")
    table = Table()
    table.add_column("sheet")
    table.add_column("total loss (untrained)", justify="right")
    for sheet, loss in built.losses.items():
        table.add_row(sheet, f"{loss:.6f}")
    console.print(table)
    return 0


def run_lesson(args: argparse.Namespace) -> int:
    """Build the lesson-exercises workbook (its builder lives in `xl_lesson3.lesson.workbook`)."""
    from xl_lesson3.cli._common import console
    from xl_lesson3.errors import XlLesson3Error

    try:
        from xl_lesson3.lesson.workbook import build_lesson_workbook
    except ImportError as exc:
        if exc.name not in {"xl_lesson3.lesson", "xl_lesson3.lesson.workbook"}:
            raise  # a bug inside the builder, not a missing builder
        raise XlLesson3Error(f"build lesson: not available in this version ({exc})") from exc
    _make_folder(args.out)
    if args.seed is None:
        path = build_lesson_workbook(args.out)
    else:
        path = build_lesson_workbook(args.out, args.seed)
    console.print(f"Wrote {path}")
    return 0


def _make_folder(out: Path) -> None:
    """One rule for every builder: a missing output folder is created (as ``mkdir -p``)."""
    from xl_lesson3.errors import WorkbookIOError

    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkbookIOError(f"{out}: cannot create its folder ({exc.strerror or exc})") from exc
