"""The Simplex LP engine: an LP or MILP read off the compiled program, solved exactly by HiGHS.

Linearity is checked on the compiled program rather than on the formulas' text: the objective's
and every constraint cell's gradient must be the same at the workbook's point and at three random
points in the start box, and the values there must be what those gradients predict. Then the
objective's gradient is the LP's cost vector and each row's gradient a row of its matrix (one
batched program run and one backward pass give them all, see `jacobian`), and
`scipy.optimize.milp` (HiGHS: dual simplex, branch and bound for ``int``/``bin`` cells) solves
it to optimality, with a zero MIP gap rather than Excel's 1% integer optimality default.
Infeasible and unbounded models end with Excel's messages for them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch

from xl_lesson3.errors import SolverModelError, located
from xl_lesson3.solver.context import Context
from xl_lesson3.solver.gradient import EngineRun
from xl_lesson3.solver.outcome import INFEASIBLE, NOT_CONVERGING, TIME_LIMIT
from xl_lesson3.solver.rows import row_cells
from xl_lesson3.solver.starts import start_box
from xl_lesson3.workbook.address import CellAddress

N_PROBES = 3
LINEAR_RTOL = 1e-9


def jacobian(
    program, points: torch.Tensor, cells: Sequence[CellAddress]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Values (n_points, n_cells) and gradients (n_points, n_cells, n_vars) of `cells`.

    `program` is a compiled program that has `cells` among its outputs.

    One program run over ``n_points * n_cells`` copies of the points; copy ``(p, j)`` keeps only
    cell ``j``'s output, so one backward pass leaves every cell's gradient in its own row.
    """
    n_points, n_cells = points.shape[0], len(cells)
    batch = points.repeat_interleave(n_cells, dim=0).detach().requires_grad_(True)
    outputs = program.outputs(batch)
    stacked = torch.stack([outputs[cell] for cell in cells], dim=1)  # (batch, n_cells)
    picked = stacked.reshape(n_points, n_cells, n_cells).diagonal(dim1=1, dim2=2)
    picked.sum().backward()
    grads = batch.grad.reshape(n_points, n_cells, -1)
    return picked.detach(), grads


def _cells(ctx: Context) -> list[CellAddress]:
    objective = ctx.program.objective
    return [objective, *(c for c in row_cells(ctx.rows.rows) if c != objective)]


def is_linear(ctx: Context) -> bool:
    """Objective and constraint cells are affine in the changing cells (checked numerically)."""
    if "linear" in ctx.cache:
        return ctx.cache["linear"]
    low, high = start_box(ctx.lower, ctx.upper)
    generator = torch.Generator().manual_seed(12345)
    unit = torch.rand(N_PROBES, ctx.n_vars, generator=generator, dtype=torch.float64)
    probes = low + unit.to(low) * (high - low)
    points = torch.cat([ctx.initial[None], probes])
    values, grads = jacobian(ctx.program, points, _cells(ctx))
    base_v, base_g = values[0], grads[0]
    predicted = base_v + torch.einsum("cv,pv->pc", base_g, points[1:] - points[0])
    scale = 1.0 + values.abs().max() + grads.abs().max() * (1.0 + points.abs().max())
    linear = bool(
        torch.isfinite(values).all()
        and torch.isfinite(grads).all()
        and (grads[1:] - base_g).abs().max() <= LINEAR_RTOL * scale
        and (values[1:] - predicted).abs().max() <= LINEAR_RTOL * scale
    )
    ctx.cache["linear"] = linear
    ctx.cache["jacobian"] = (values[0], grads[0])
    return linear


def _matrix(ctx: Context):
    """(cost, const, A_ub, b_ub, A_eq, b_eq) of the LP at the workbook's point."""
    values, grads = ctx.cache["jacobian"]
    x0 = ctx.initial
    index = {cell: i for i, cell in enumerate(_cells(ctx))}
    cost = grads[index[ctx.program.objective]]
    const = float(values[0] - cost @ x0)
    a_ub, b_ub, a_eq, b_eq = [], [], [], []
    for row in ctx.rows.rows:
        li = index[row.lhs]
        a, offset = grads[li].clone(), float(values[li] - grads[li] @ x0)
        if isinstance(row.rhs, CellAddress):
            ri = index[row.rhs]
            a = a - grads[ri]
            offset -= float(values[ri] - grads[ri] @ x0)
        else:
            offset -= float(row.rhs)
        # a.x + offset (relation) 0
        if row.relation == "=":
            a_eq.append(a.tolist())
            b_eq.append(-offset)
        elif row.relation == "<=":
            a_ub.append(a.tolist())
            b_ub.append(-offset)
        else:
            a_ub.append((-a).tolist())
            b_ub.append(offset)
    return cost.tolist(), const, a_ub, b_ub, a_eq, b_eq


def solve_linear(ctx: Context) -> EngineRun:
    """Solve the (checked) linear model exactly; see the module docstring."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    constraints = ctx.problem.constraints
    if constraints.all_different:
        raise SolverModelError(
            located(
                str(ctx.program.objective),
                "AllDifferent (dif) constraints need the "
                "Evolutionary engine (--engine evolutionary)",
            )
        )
    cost, const, a_ub, b_ub, a_eq, b_eq = _matrix(ctx)
    cost = np.asarray(cost)
    goal = ctx.problem.model.goal
    if goal == "max":
        cost = -cost
    elif not isinstance(goal, str):  # "value of": a feasibility problem with one more row
        a_eq.append(cost.tolist())
        b_eq.append(float(goal) - const)
        cost = np.zeros_like(cost)
    linear_constraints = []
    if a_ub:
        linear_constraints.append(LinearConstraint(np.array(a_ub), -np.inf, np.array(b_ub)))
    if a_eq:
        linear_constraints.append(LinearConstraint(np.array(a_eq), np.array(b_eq), np.array(b_eq)))
    integrality = np.zeros(ctx.n_vars)
    integrality[list(constraints.integer)] = 1
    bounds = Bounds(ctx.lower.cpu().numpy(), ctx.upper.cpu().numpy())
    time_left = ctx.deadline - time.perf_counter()
    options = {"mip_rel_gap": 0.0}
    if math.isfinite(time_left):
        options["time_limit"] = max(time_left, 0.01)
    res = milp(
        cost,
        constraints=linear_constraints,
        integrality=integrality,
        bounds=bounds,
        options=options,
    )
    method = "simplex (HiGHS MILP)" if constraints.integer else "simplex (HiGHS LP)"
    if res.x is None:
        code = {2: INFEASIBLE, 3: NOT_CONVERGING, 1: TIME_LIMIT}.get(res.status, INFEASIBLE)
        return EngineRun(ctx.initial[None], f"HiGHS: {res.message}", 0, method, code=code)
    x = torch.tensor(res.x, dtype=ctx.initial.dtype, device=ctx.initial.device)
    if constraints.integer:
        index = list(constraints.integer)
        x[index] = x[index].round()
    status = "optimal (HiGHS)" if res.status == 0 else f"HiGHS: {res.message}"
    code = TIME_LIMIT if res.status == 1 else None
    with torch.no_grad():
        history = [ctx.to_shown(float(ctx.loss(x[None])[0]))]
    return EngineRun(
        x[None],
        status,
        1,
        method,
        history=history,
        code=code,
        exact=res.status == 0,
    )
