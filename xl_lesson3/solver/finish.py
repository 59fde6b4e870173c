"""From an engine's candidate points to a `SolveResult`: pick the answer, judge it like Excel.

The answer is the best *feasible* candidate (every constraint row within Excel's precision,
integer cells whole) with a finite objective; when there is none, the least-violating one, and the
outcome is "could not find a feasible solution", naming the worst-violated constraint. The
outcome code then follows the engine's stop reason, raised to "found a solution ... optimality
conditions are satisfied" when the projected gradient vanishes at the answer (or the engine was
exact), and lowered to "cannot improve" when the answer is no better than the workbook's point.
"""

from __future__ import annotations

import math
import time

import torch

from xl_lesson3.solver.context import Context
from xl_lesson3.solver.gradient import EngineRun
from xl_lesson3.solver.options import Options
from xl_lesson3.solver.outcome import (
    CANNOT_IMPROVE,
    CONVERGED,
    ERROR_VALUE,
    FOUND,
    INFEASIBLE,
    INTEGER_FOUND,
    ITERATION_LIMIT,
    NOT_CONVERGING,
    Outcome,
    stop_code,
)
from xl_lesson3.workbook.address import CellAddress

INTEGER_TOL = 1e-6
OPTIMALITY_TOL = 1e-6


def _integral(ctx: Context, points: torch.Tensor) -> torch.Tensor:
    """(batch,) the integer changing cells hold whole numbers."""
    index = list(ctx.problem.constraints.integer)
    if not index:
        return torch.ones(points.shape[0], dtype=torch.bool, device=points.device)
    values = points[:, index]
    return ((values - values.round()).abs() <= INTEGER_TOL).all(dim=1)


def _pick(ctx: Context, candidates: torch.Tensor):
    """(index of the answer, measured candidates, feasible mask)."""
    rows = ctx.report_rows
    with torch.no_grad():
        measured = ctx.measure(candidates, rows)
    finite = torch.isfinite(measured.loss)
    feasible = rows.feasible(measured.lhs, measured.rhs) & _integral(ctx, candidates) & finite
    if bool(feasible.any()):
        score = torch.where(feasible, measured.loss, torch.inf)
    elif len(rows):
        worst = rows.violation(measured.lhs, measured.rhs).max(dim=1).values
        score = torch.where(finite, worst, torch.inf)
    else:
        score = torch.where(finite, measured.loss, torch.inf)
    return int(torch.argmin(score)), measured, feasible


def _rows_at(ctx: Context, measured, k: int):
    from xl_lesson3.solver.api import ConstraintValue

    rows = ctx.report_rows
    if not len(rows):
        return ()
    lhs, rhs = measured.lhs[k].tolist(), measured.rhs[k].tolist()
    violation = rows.violation(measured.lhs[k : k + 1], measured.rhs[k : k + 1])[0].tolist()
    out = []
    for row, value, side, bad in zip(rows.rows, lhs, rhs, violation):
        slack = (
            0.0 if row.relation == "=" else (side - value if row.relation == "<=" else value - side)
        )
        binds = abs(slack) <= rows.precision * max(1.0, abs(side))
        status = "Violated" if bad > rows.precision else "Binding" if binds else "Not Binding"
        rhs_cell = row.rhs if isinstance(row.rhs, CellAddress) else None
        out.append(
            ConstraintValue(row.lhs, row.label, row.relation, value, side, slack, status, rhs_cell)
        )
    return tuple(out)


def _worst_row(constraints) -> str:
    def excess(c) -> float:
        return -c.slack if c.relation != "=" else abs(c.value - c.rhs)

    worst = max(constraints, key=excess)
    return (
        f"worst: {worst.label}, {worst.cell} = {worst.value:.10g} (needs {worst.relation} "
        f"{worst.rhs:.10g})"
    )


def _optimal(ctx: Context, point: torch.Tensor) -> bool:
    """The projected gradient of the loss vanishes at `point` (no general rows)."""
    if len(ctx.rows):
        return False
    x = point[None].clone().requires_grad_(True)
    loss = ctx.loss(x)
    if not bool(torch.isfinite(loss).all()):
        return False
    (grad,) = torch.autograd.grad(loss.sum(), x)
    grad, loss = grad[0], loss.detach()
    at_lower = (point <= ctx.lower) & (grad > 0)
    at_upper = (point >= ctx.upper) & (grad < 0)
    grad = torch.where(at_lower | at_upper, 0.0, grad)
    scale = max(1.0, abs(float(loss)))
    return bool(torch.isfinite(grad).all()) and float(grad.abs().max()) <= OPTIMALITY_TOL * scale


def _outcome(
    ctx, run: EngineRun, feasible: bool, finite: bool, improved: bool, constraints, point
) -> Outcome:
    if not finite:
        code = NOT_CONVERGING if run.status.startswith("diverged") else ERROR_VALUE
        return Outcome(code, "no finite objective value was found")
    if run.code == INFEASIBLE and constraints:
        return Outcome(
            INFEASIBLE, f"{run.status}; at the workbook's point, {_worst_row(constraints)}"
        )
    if run.code is not None:
        return Outcome(run.code, run.status)
    if not feasible:
        detail = _worst_row(constraints) if constraints else "integer cells are not whole"
        return Outcome(INFEASIBLE, detail)
    if run.exact:
        return Outcome(INTEGER_FOUND if ctx.problem.constraints.integer else FOUND)
    code = stop_code(run.status)
    if code in (CONVERGED, ITERATION_LIMIT) and _optimal(ctx, point):
        code = FOUND
    if not improved and code in (CONVERGED, ITERATION_LIMIT):
        code = CANNOT_IMPROVE
    return Outcome(code, run.status)


def build_result(ctx: Context, options: Options, run: EngineRun, engine: str, device, started):
    """The `SolveResult` for `run`'s best candidate."""
    from xl_lesson3.solver.api import SolveResult

    problem = ctx.problem
    k, measured, feasible_mask = _pick(ctx, run.candidates)
    point = run.candidates[k].detach()
    _, initial_m, initial_feasible = _pick(ctx, ctx.initial[None])
    initial_value = float(initial_m.objective[0])
    initial_loss = float(initial_m.loss[0])
    final_value = float(measured.objective[k])
    final_loss = float(measured.loss[k])
    finite = math.isfinite(final_loss)
    feasible = bool(feasible_mask[k])
    was_feasible = bool(initial_feasible[0])
    improved = (
        finite
        and feasible
        and (not was_feasible or not math.isfinite(initial_loss) or final_loss < initial_loss)
    )
    constraints = _rows_at(ctx, measured, k)
    outcome = _outcome(ctx, run, feasible, finite, improved, constraints, point)
    values = dict(zip(problem.variables, point.tolist()))
    if not finite:  # nothing better than the workbook's own values
        values = dict(zip(problem.variables, ctx.initial.tolist()))
        final_value = initial_value
    status = run.status
    if run.status.startswith("diverged") and improved:
        status += f"; kept the best finite point (restart {k})"
    elif run.frozen and not run.status.startswith("diverged"):
        status += f"; {run.frozen} of {run.candidates.shape[0]} restarts diverged"
    if not finite:
        status += "; no finite objective value was found"
    return SolveResult(
        objective=problem.model.objective,
        goal=problem.model.goal,
        initial=initial_value,
        final=final_value,
        values=values,
        history=run.history,
        iterations=run.iterations,
        seconds=time.perf_counter() - started,
        device=str(device),
        restarts=int(run.candidates.shape[0]),
        method=run.method,
        lr=run.lr,
        status=status,
        diverged=run.status.startswith("diverged") or not finite,
        improved=improved,
        best_restart=k,
        model=problem.model,
        workbook=problem.workbook,
        engine=engine,
        outcome=outcome,
        feasible=feasible,
        exact=run.exact,
        constraints=constraints,
        initial_values=dict(zip(problem.variables, ctx.initial.tolist())),
        options=options.as_json(),
    )
