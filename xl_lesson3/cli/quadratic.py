"""`xl-lesson3 quadratic`: the notebook's hand-written gradient descent on a quadratic."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from xl_lesson3.errors import BadInputError, SolverError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "quadratic",
        help="fit a*x^2+b*x+c to the lesson's noisy points by plain gradient descent",
        description=(
            "Fit a*x^2+b*x+c to 20 noisy points of 3x^2+2x+1 with the lesson's loop: "
            "loss.backward(), then params -= lr * grad under torch.no_grad(). Prints the loss "
            "after every step (about 20 evenly spaced steps when there are more than 30); a "
            "learning rate that is too large makes the loss grow, which stops the run (exit 1)."
        ),
    )
    parser.add_argument("--steps", type=int, default=10, help="gradient steps (default 10)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    parser.add_argument("--loss", choices=("mse", "mae"), default="mse", help="default mse")
    parser.add_argument("--seed", type=int, default=42, help="noise seed of the data (default 42)")
    parser.add_argument("--plot", type=Path, metavar="PATH", help="save data + fitted curve (PNG)")
    parser.add_argument(
        "--interactive",
        action="store_true",
        help="sliders for a, b, c with the loss shown live (needs a display)",
    )
    parser.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    if args.steps < 0:
        raise BadInputError(f"--steps {args.steps}: must be 0 or more")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise BadInputError(f"--lr {args.lr}: must be a positive number")


def run(args: argparse.Namespace) -> int:
    _check(args)
    from xl_lesson3.cli._common import console

    def say(text: str) -> None:
        console.print(text, soft_wrap=True, markup=False)

    from xl_lesson3.lesson import quadratic
    from xl_lesson3.lesson.data import START_PARAMS, quadratic_data

    data = quadratic_data(args.seed)
    if args.interactive:
        from xl_lesson3.lesson.interactive import show_sliders

        show_sliders(data, args.loss)
        return 0

    say(
        f"{len(data)} points of y = 3x² + 2x + 1 with noise (seed {args.seed}); "
        f"start a = b = c = {START_PARAMS[0]}, lr {args.lr:g}, loss {args.loss}"
    )
    every = 1 if args.steps <= 30 else max(1, args.steps // 20)

    def show(step: int, loss: float) -> None:
        if step == 0:
            say(f"starting loss: {loss:.6g}")
        elif step % every == 0 or step == args.steps or not math.isfinite(loss):
            say(f"step {step:>{len(str(args.steps))}}: loss {loss:.6g}")

    fit = quadratic.fit_quadratic(data, steps=args.steps, lr=args.lr, loss=args.loss, on_step=show)
    if fit.divergence is not None:
        raise SolverError(fit.divergence.message(args.lr))
    a, b, c = fit.params
    say(f"final: a = {a:.6f}, b = {b:.6f}, c = {c:.6f}  (loss {fit.final_loss:.6g})")
    best = quadratic.least_squares_quadratic(data)
    say(
        f"least squares (numpy polyfit): a = {best[0]:.6f}, b = {best[1]:.6f}, "
        f"c = {best[2]:.6f}  (mse {quadratic.loss_of(data, best):.6g})"
    )
    if args.plot:
        from xl_lesson3.lesson.plots import plot_quadratic

        title = f"after {args.steps} steps at lr {args.lr:g}: {args.loss} {fit.final_loss:.4g}"
        say(f"wrote {plot_quadratic(data, fit.params, args.plot, title=title)}")
    return 0
