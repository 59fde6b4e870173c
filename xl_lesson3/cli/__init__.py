"""The `xl-lesson3` command line: one parser, one module per subcommand.

Each module in this package (except this one and `_common`) defines ``register(subparsers)``, which
adds its subcommand and sets ``func`` to a function taking the parsed arguments and returning an
exit status. Modules are found by listing the package, so adding a command never edits this file.
Keep heavy imports (torch, timm) inside the command functions so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from xl_lesson3 import __version__
from xl_lesson3.cli._process import collector_paused, flush_and_exit
from xl_lesson3.errors import BadInputError, XlLesson3Error


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are a `BadInputError`: one line and exit status 2, no usage dump."""

    def error(self, message: str):  # type: ignore[override]
        raise BadInputError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every subcommand registered."""
    parser = OneLineParser(
        prog="xl-lesson3",
        description=(
            "Train the neural network of an Excel workbook with PyTorch "
            "(fast.ai Practical Deep Learning, lesson 3)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"xl-lesson3 {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 bad input, 1 failed run, 0 success)."""
    try:
        args = build_parser().parse_args(argv)
    except BadInputError as exc:
        print(f"xl-lesson3: error: {exc}", file=sys.stderr)
        return exc.exit_code
    with collector_paused(getattr(args, "pause_gc", False)):
        return run_command(args, prog="xl-lesson3")


def entry() -> None:
    """The console script and ``python -m xl_lesson3``: `main`, then a fast exit.

    Commands that read and compile a workbook set ``pause_gc`` (see `_process`).
    """
    flush_and_exit(main())


def run_command(args: argparse.Namespace, *, prog: str) -> int:
    """Call ``args.func``, turning our errors into one stderr line and their exit status.

    Shared with ``python -m xl_lesson3.pets`` (the torchrun entry point), which has its own parser.
    """
    from xl_lesson3.cli._limits import limits_from
    from xl_lesson3.workbook.archive import use_limits

    limits = limits_from(args)
    try:
        if limits is None:
            return int(args.func(args) or 0)
        with use_limits(limits):
            return int(args.func(args) or 0)
    except XlLesson3Error as exc:
        if args.debug:
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
