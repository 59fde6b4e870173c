"""Least squares, solved as least squares: an exact Newton step, or Levenberg-Marquardt.

Two shortcuts the GRG engine takes before falling back to gradient descent (only for models
without general constraint rows, and when no gradient `method` was asked for):

1. **Quadratic objectives** (linear least squares such as the Titanic ``linear`` sheet, whose
   loss is the mean of squared linear residuals): the gradient of a quadratic is affine, so the
   Hessian comes exactly from the gradients at ``x0`` and ``x0 + e_i`` (one batched run of
   ``n + 1`` points), checked at a random point. If it is positive semidefinite, one Newton step
   ``H d = -g`` (solved by ``lstsq``, so rank-deficient fits get the minimum-norm step) lands on
   the optimum; kept when it respects the bounds.
2. **Sums of squared residuals** that are not linear (the usual Solver curve fit): the residuals
   are read off the objective's formula, ``SUMXMY2(A, B)`` (``A - B``), ``SUMSQ(A)`` (``A``), or
   ``SUM(S)`` / ``AVERAGE(S)`` over cells each holding ``=(...)^2`` (``sqrt(S)``, which has the
   same Gauss-Newton matrix as the signed residual), and Levenberg-Marquardt runs on them from
   the workbook's point and from every restart, with the Jacobian from `linear.jacobian`.
"""

from __future__ import annotations

import math

import torch

from xl_lesson3.formula.parse.ast import A1Ref, Binary, Call, Number
from xl_lesson3.formula.parse.parser import parse_formula
from xl_lesson3.solver.context import Context
from xl_lesson3.solver.gradient import EngineRun
from xl_lesson3.solver.options import Options
from xl_lesson3.solver.starts import initial_points
from xl_lesson3.workbook.address import CellAddress, RangeAddress

MAX_NEWTON_VARS = 2000
# Levenberg-Marquardt's Jacobian costs one program run over (residuals) copies of the point, so
# it is for curve fits (tens to hundreds of points, a few parameters); larger sums of squares (the
# Titanic nnet sheet: 712 residuals, 20 weights, 256 restarts) train faster with L-BFGS.
MAX_RESIDUALS = 500
MAX_LM_VARIABLES = 50
LM_ITERATIONS = 200
QUADRATIC_RTOL = 1e-8


def try_least_squares(ctx: Context, options: Options) -> EngineRun | None:
    """An exact or Levenberg-Marquardt answer, or None when neither shortcut applies."""
    if ctx.n_vars <= MAX_NEWTON_VARS:
        run = _newton(ctx)
        if run is not None:
            return run
    if ctx.problem.model.goal != "min":
        return None
    if ctx.n_vars > MAX_LM_VARIABLES:
        return None
    # Bounded before the cells are looked at: telling 100k cells are squares parsed each one's
    # formula (11 s of a 100k-row `solve`), for a sum too long for Levenberg-Marquardt anyway.
    residuals = residual_cells(ctx, max_cells=MAX_RESIDUALS)
    if residuals is None:
        return None
    return _levenberg_marquardt(ctx, options, *residuals)


# -- quadratic: one Newton step ------------------------------------------------------------------


def _gradients(ctx: Context, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = points.detach().clone().requires_grad_(True)
    loss = ctx.loss(x)
    (grad,) = torch.autograd.grad(loss.sum(), x)
    return loss.detach(), grad


def _newton(ctx: Context) -> EngineRun | None:
    x0, n = ctx.initial, ctx.n_vars
    generator = torch.Generator().manual_seed(54321)
    probe = x0 + (torch.rand(n, generator=generator, dtype=torch.float64).to(x0) - 0.5)
    points = torch.cat(
        [x0[None], x0[None] + torch.eye(n, dtype=x0.dtype, device=x0.device), probe[None]]
    )
    loss, grads = _gradients(ctx, points)
    if not bool(torch.isfinite(grads).all() and torch.isfinite(loss).all()):
        return None
    g0 = grads[0]
    hessian = grads[1 : n + 1] - g0  # row i: H e_i
    scale = 1.0 + grads.abs().max()
    symmetric = (hessian - hessian.T).abs().max() <= QUADRATIC_RTOL * scale
    predicted = g0 + hessian @ (probe - x0)
    quadratic = (grads[n + 1] - predicted).abs().max() <= QUADRATIC_RTOL * scale
    if not (symmetric and quadratic):
        return None
    hessian = (hessian + hessian.T) / 2
    if float(torch.linalg.eigvalsh(hessian).min()) < -QUADRATIC_RTOL * scale:
        return None  # not convex: no minimum to step to
    step = torch.linalg.lstsq(hessian, -g0[:, None], driver="gelsd").solution[:, 0]
    if (hessian @ step + g0).abs().max() > 1e-6 * scale:
        return None  # the gradient cannot vanish: unbounded below along some direction
    x = x0 + step
    if bool(((x < ctx.lower) | (x > ctx.upper)).any()):
        return None
    with torch.no_grad():
        final = float(ctx.loss(x[None])[0])
    return EngineRun(
        x[None],
        "Newton step on a quadratic objective",
        1,
        "newton",
        history=[ctx.to_shown(final)],
        exact=True,
    )


# -- residuals -----------------------------------------------------------------------------------


def _area(ref, sheet: str) -> RangeAddress | None:
    if not isinstance(ref, A1Ref) or None in (ref.row1, ref.col1):
        return None
    row2 = ref.row2 or ref.row1
    col2 = ref.col2 or ref.col1
    return RangeAddress(ref.sheet or sheet, ref.row1.value, ref.col1.value, row2.value, col2.value)


def _is_square(ctx: Context, cell: CellAddress) -> bool:
    found = ctx.problem.workbook.cells.get(cell)
    if found is None or found.formula is None:
        return False
    node = parse_formula(found.formula)
    return isinstance(node, Binary) and node.op == "^" and node.right == Number(2.0)


def residual_cells(ctx: Context, max_cells: int | None = None):
    """(plus cells, minus cells or None, square-rooted) when the objective is a sum of squares.

    `max_cells`: None also when the sum runs over more cells than this.
    """
    objective = ctx.program.objective
    cell = ctx.problem.workbook.cells.get(objective)
    if cell is None or cell.formula is None:
        return None
    node = parse_formula(cell.formula)
    if not isinstance(node, Call):
        return None
    areas = [_area(arg, objective.sheet) for arg in node.args]
    if None in areas or not areas:
        return None
    if max_cells is not None and areas[0].size > max_cells:
        return None
    if node.name == "SUMXMY2" and len(areas) == 2 and areas[0].shape == areas[1].shape:
        return list(areas[0].cells()), list(areas[1].cells()), False
    if node.name == "SUMSQ" and len(areas) == 1:
        return list(areas[0].cells()), None, False
    if node.name in ("SUM", "AVERAGE") and len(areas) == 1:
        cells = list(areas[0].cells())
        if cells and all(_is_square(ctx, c) for c in cells):
            return cells, None, True
    return None


def _residual_program(ctx: Context, cells):
    """The objective's program again, with the residual cells as outputs (compiled once)."""
    if "residual_program" not in ctx.cache:
        from xl_lesson3.formula.compile.program import compile_program

        ctx.cache["residual_program"] = compile_program(
            ctx.problem.workbook,
            ctx.program.objective,
            ctx.problem.variables,
            outputs=cells,
            device=ctx.initial.device,
            dtype=ctx.initial.dtype,
        )
    return ctx.cache["residual_program"]


def _residuals(ctx: Context, x: torch.Tensor, plus, minus, rooted: bool):
    """r (m,) and J (m, n_vars) at `x`."""
    from xl_lesson3.solver.linear import jacobian

    cells = list(dict.fromkeys(plus + (minus or [])))
    index = {c: i for i, c in enumerate(cells)}
    values, grads = jacobian(_residual_program(ctx, cells), x[None], cells)
    values, grads = values[0], grads[0]
    r = values[[index[c] for c in plus]]
    jac = grads[[index[c] for c in plus]]
    if minus is not None:
        r = r - values[[index[c] for c in minus]]
        jac = jac - grads[[index[c] for c in minus]]
    if rooted:  # s = r^2: r = sqrt(s), dr = ds / (2 sqrt(s))
        root = r.clamp_min(0.0).sqrt()
        jac = torch.where(root[:, None] > 0, jac / (2 * root[:, None].clamp_min(1e-300)), 0.0)
        r = root
    return r, jac


def _lm_from(ctx: Context, x: torch.Tensor, plus, minus, rooted: bool, max_steps: int):
    """Levenberg-Marquardt (Marquardt's diagonal scaling) from `x`.

    Returns (x, converged, losses): `losses` holds the objective's loss after each iteration.
    """
    mu = 1e-3
    r, jac = _residuals(ctx, x, plus, minus, rooted)
    cost = float(r @ r)
    losses: list[float] = []
    for _ in range(max_steps):
        if not math.isfinite(cost) or ctx.out_of_time():
            return x, False, losses
        a = jac.T @ jac
        g = jac.T @ r
        if float(g.abs().max()) <= 1e-14 * (1.0 + cost):
            return x, True, losses
        stationary = True
        while mu < 1e16:
            damped = a + mu * torch.diag(torch.diagonal(a).clamp_min(1e-12))
            step = torch.linalg.solve(damped, -g)
            trial = torch.clamp(x + step, ctx.lower, ctx.upper)
            r_new, jac_new = _residuals(ctx, trial, plus, minus, rooted)
            new_cost = float(r_new @ r_new)
            if math.isfinite(new_cost) and new_cost <= cost:
                small = cost - new_cost <= 1e-15 * max(cost, 1e-300)
                x, r, jac, cost = trial, r_new, jac_new, new_cost
                mu = max(mu / 3, 1e-12)
                stationary = small and float(step.abs().max()) <= 1e-12 * (1 + float(x.abs().max()))
                break
            mu *= 4
        with torch.no_grad():
            losses.append(float(ctx.loss(x[None])[0]))
        if stationary:  # no descent at any damping, or steps too small to matter
            return x, True, losses
    return x, False, losses


def _best_so_far(histories: list[list[float]]) -> list[float]:
    """Per iteration, the lowest loss over the restarts (a finished restart keeps its last)."""
    length = max((len(h) for h in histories), default=0)
    padded = [h + [h[-1]] * (length - len(h)) for h in histories if h]
    return [min(column) for column in zip(*padded)] if padded else []


def _levenberg_marquardt(ctx: Context, options: Options, plus, minus, rooted) -> EngineRun | None:
    if len(plus) > MAX_RESIDUALS or ctx.n_vars > MAX_LM_VARIABLES:
        return None
    starts = initial_points(ctx.initial, options.restarts, ctx.lower, ctx.upper, options.seed)
    max_steps = options.max_steps or LM_ITERATIONS
    found, histories, all_converged = [], [], True
    for start in starts:
        x, converged, losses = _lm_from(ctx, start, plus, minus, rooted, max_steps)
        found.append(x)
        histories.append(losses)
        all_converged &= converged
        if ctx.out_of_time():
            break
    status = "converged (Levenberg-Marquardt)" if all_converged else "finished"
    if ctx.out_of_time():
        status = "stopped at the time limit"
    history = _best_so_far(histories)
    # iterations: the most any restart took (they run one after the other, each to its limit)
    return EngineRun(
        torch.stack(found),
        status,
        len(history),
        "levenberg-marquardt",
        history=[ctx.to_shown(loss) for loss in history],
    )
