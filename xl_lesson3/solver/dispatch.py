"""Choose the engine for a problem, as Excel's Solver would, and run it.

- Simplex LP (``solver_eng`` 2): the linear engine; a model that is not linear ends with Excel's
  "linearity conditions ... are not satisfied" (exit 1).
- Evolutionary (3): differential evolution over the bounds.
- GRG Nonlinear (1, the default): integer constraints go to the MILP when the model is linear
  (exact, as Excel's branch and bound over GRG would find), else to the evolutionary engine,
  which rounds its integer cells; a quadratic objective without other constraints is solved by
  one exact Newton step (linear least squares), a sum of squared residuals by
  Levenberg-Marquardt; everything else by the gradient methods (with restarts).

A `method` or `lr` given by the caller always means the gradient engine under GRG (a learning
rate means nothing to the exact and Levenberg-Marquardt shortcuts).
"""

from __future__ import annotations

import torch

from xl_lesson3.errors import SolverModelError, located
from xl_lesson3.solver.context import compile_context
from xl_lesson3.solver.finish import build_result
from xl_lesson3.solver.gradient import EngineRun, GradientSettings, run_gradient
from xl_lesson3.solver.options import Options
from xl_lesson3.solver.outcome import NOT_LINEAR
from xl_lesson3.solver.problem import Problem
from xl_lesson3.solver.starts import initial_points


def run_engine(
    problem: Problem,
    options: Options,
    device: torch.device,
    dtype: torch.dtype,
    method: str | None,
    lr: float | None,
    callback,
    started: float,
    *,
    auto_threads: bool = False,
):
    """Compile, pick the engine, run it and build the `SolveResult`. `auto_threads`: size
    torch's CPU threads to the compiled program (the caller restores them)."""
    from xl_lesson3.solver import linear, threads

    ctx = compile_context(problem, device, dtype, options.max_time)
    parallel = 1  # threads a gradient fit may use while no other process takes a core
    if auto_threads and device.type == "cpu":
        batch = max(options.restarts, options.population if options.engine == "evolutionary" else 1)
        parallel = threads.auto_threads(batch, ctx.program.widest_block)
        torch.set_num_threads(parallel)
    constraints = problem.constraints
    engine = options.engine
    run: EngineRun | None = None
    if engine == "grg" and constraints.integer:
        engine = "simplex" if linear.is_linear(ctx) else "evolutionary"
    if engine in ("grg", "simplex"):
        _refuse_gradient_free(ctx, engine)
    if engine == "simplex":
        if not linear.is_linear(ctx):
            run = EngineRun(
                candidates=ctx.initial[None],
                status="the model is not linear in the changing cells",
                iterations=0,
                method="simplex",
                code=NOT_LINEAR,
            )
        else:
            run = linear.solve_linear(ctx)
    elif engine == "evolutionary":
        from xl_lesson3.solver.evolution import run_evolution

        run = run_evolution(ctx, options)
    else:
        if constraints.all_different:
            raise SolverModelError(
                located(
                    str(problem.model.objective),
                    "an AllDifferent (dif) constraint needs the Evolutionary engine "
                    "(--engine evolutionary) or a linear model",
                )
            )
        if method is None and lr is None and not len(ctx.rows):
            from xl_lesson3.solver.least_squares import try_least_squares

            run = try_least_squares(ctx, options)
        if run is None:
            run = _gradient(ctx, options, method, lr, callback, parallel)
    return build_result(ctx, options, run, engine, device, started)


def _refuse_gradient_free(ctx, engine: str) -> None:
    """A smooth function computed outside autograd would look flat to the gradient and linear
    engines (a false zero derivative): say so, naming the cell, instead of stopping at once."""
    calls = ctx.program.gradient_free_calls
    if calls:
        more = f" (and {len(calls) - 1} more)" if len(calls) > 1 else ""
        raise SolverModelError(
            f"{calls[0]}{more}: computed without gradients, so the {engine.upper()} engine cannot "
            "train through it (the changing cells reach it); use --engine evolutionary"
        )


def _gradient(
    ctx, options: Options, method: str | None, lr: float | None, callback, parallel: int = 1
) -> EngineRun:
    from xl_lesson3.solver.api import DEFAULT_TOL, DEFAULTS

    method = method or "lbfgs"
    defaults = DEFAULTS[method]
    settings = GradientSettings(
        method=method,
        lr=defaults.lr if lr is None else lr,
        steps=defaults.steps if options.max_steps is None else options.max_steps,
        tol=DEFAULT_TOL if options.tol is None else options.tol,
        patience=defaults.patience,
        callback=callback,
        parallel_threads=parallel,
    )
    start = initial_points(ctx.initial, options.restarts, ctx.lower, ctx.upper, options.seed)
    return run_gradient(ctx, start, settings)
