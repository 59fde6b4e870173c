"""`xl-lesson3 relu`: fit a sum of ReLUs to a wiggly target, adding units as it goes."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from xl_lesson3.errors import BadInputError

MAX_UNITS = 256


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "relu",
        help="fit a sum of N ReLUs to sin(2x): any function, given enough ReLUs",
        description=(
            "Fit sum_i w_i*max(0, m_i*x+b_i) + c to sin(2x) on [-3, 3] by gradient descent "
            "(Adam), with 1, 2, 4, ... and finally N units, each model starting from the "
            "previous one's answer. Prints the MSE for each; --plot draws one panel per model."
        ),
    )
    parser.add_argument("--units", type=int, required=True, metavar="N", help="largest unit count")
    parser.add_argument("--steps", type=int, default=1000, help="Adam steps per model (1000)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (0.01)")
    parser.add_argument("--plot", type=Path, metavar="PATH", help="save the panels as a PNG")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.units <= MAX_UNITS:
        raise BadInputError(f"--units {args.units}: must be between 1 and {MAX_UNITS}")
    if args.steps < 0:
        raise BadInputError(f"--steps {args.steps}: must be 0 or more")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise BadInputError(f"--lr {args.lr}: must be a positive number")
    from xl_lesson3.cli._common import console

    def say(text: str) -> None:
        console.print(text, soft_wrap=True, markup=False)

    from xl_lesson3.lesson.data import relu_target
    from xl_lesson3.lesson.relu import grow_relu_fits, unit_schedule

    data = relu_target()
    say(
        f"target: sin(2x) at {len(data)} points of [-3, 3]; "
        f"{args.steps} Adam steps at lr {args.lr:g} per model"
    )

    def show(fit) -> None:
        units = fit.params.units
        say(
            f"{units:>4} ReLU{'s' if units > 1 else ' '}: MSE {fit.initial_loss:.6g} "
            f"at the start -> {fit.final_loss:.6g}"
        )

    fits = grow_relu_fits(
        data, unit_schedule(args.units), steps=args.steps, lr=args.lr, on_fit=show
    )
    if args.plot:
        from xl_lesson3.lesson.plots import plot_relu_growth

        say(f"wrote {plot_relu_growth(data, fits, args.plot)}")
    return 0
