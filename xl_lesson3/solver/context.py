"""What every engine works on: the compiled program, the rows, the goal as a loss, the bounds.

`compile_context` compiles the objective once, with every constraint cell as an extra output,
and `Context.measure` evaluates a batch of points: the objective, its loss (what the engines
minimise: the objective for "min", its negative for "max", the squared distance for "value
of"), and each row's sides, in one run of the program.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from xl_lesson3.errors import SolverModelError, located
from xl_lesson3.solver.excel_model import Goal
from xl_lesson3.solver.problem import Problem
from xl_lesson3.solver.rows import PRECISION, RowSet, row_cells


def goal_loss(
    goal: Goal,
) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[float], float]]:
    """(objective values -> loss to minimise, loss -> what progress reports)."""
    if goal == "min":
        return (lambda f: f), (lambda loss: loss)
    if goal == "max":
        return (lambda f: -f), (lambda loss: -loss)
    target = float(goal)
    return (lambda f: (f - target) ** 2), (lambda loss: math.sqrt(max(loss, 0.0)))


@dataclass
class Measured:
    """One evaluation of a batch: objective (batch,), loss (batch,), row sides (batch, n_rows)."""

    objective: torch.Tensor
    loss: torch.Tensor
    lhs: torch.Tensor
    rhs: torch.Tensor


@dataclass
class Context:
    """A compiled problem ready for the engines."""

    problem: Problem
    program: object  # xl_lesson3.formula.compile.program.CompiledProgram
    rows: RowSet  # general rows (enforced by the engine)
    report_rows: RowSet  # every row, bounds included (for the result and the report)
    lower: torch.Tensor  # (n_vars,)
    upper: torch.Tensor
    initial: torch.Tensor  # (n_vars,) the workbook's values
    to_loss: Callable[[torch.Tensor], torch.Tensor]
    to_shown: Callable[[float], float]
    deadline: float = math.inf  # time.perf_counter() value
    started: float = field(default_factory=time.perf_counter)
    cache: dict = field(default_factory=dict)  # facts found once (linearity), by name

    @property
    def n_vars(self) -> int:
        return int(self.initial.shape[0])

    def loss(self, params: torch.Tensor) -> torch.Tensor:
        """The objective's loss only, (batch,)."""
        return self.to_loss(self.program(params))

    def measure(self, params: torch.Tensor, rows: RowSet | None = None) -> Measured:
        """Objective, loss and the sides of `rows` (default: the engine's rows) at `params`."""
        rows = self.rows if rows is None else rows
        if not len(rows):
            objective = self.program(params)
            empty = objective.new_zeros((objective.shape[0], 0))
            return Measured(objective, self.to_loss(objective), empty, empty)
        outputs = self.program.outputs(params)
        objective = outputs[self.program.objective]
        lhs, rhs = rows.sides(outputs, objective)
        return Measured(objective, self.to_loss(objective), lhs, rhs)

    def out_of_time(self) -> bool:
        return time.perf_counter() >= self.deadline


def _precision(problem: Problem) -> float:
    """Excel's constraint precision (``solver_pre``), else its default 1e-6."""
    text = problem.model.options.get("solver_pre")
    try:
        value = float(text) if text is not None else PRECISION
    except ValueError as exc:
        raise SolverModelError(
            f"{problem.model.sheet}!solver_pre: expected a number, got {text!r}"
        ) from exc
    if not (0 < value < 1):
        raise SolverModelError(
            f"{problem.model.sheet}!solver_pre: the precision must be between 0 and 1, got {value}"
        )
    return value


def compile_context(
    problem: Problem,
    device: torch.device,
    dtype: torch.dtype,
    max_time: float = math.inf,
) -> Context:
    """Compile `problem`'s objective with its constraint cells as outputs."""
    from xl_lesson3.formula.compile.program import compile_program

    constraints = problem.constraints
    outputs = [cell for cell in row_cells(constraints.all_rows) if cell != problem.model.objective]
    program = compile_program(
        problem.workbook,
        problem.model.objective,
        problem.variables,
        outputs=outputs,
        device=str(device),
        dtype=dtype,
    )
    if tuple(program.variables) != tuple(problem.variables):
        raise SolverModelError("the compiled program's variables differ from the changing cells")
    # A program without dynamic steps computes a constant: no path from the changing cells to
    # the objective. (`_steps` is the engine's list of variable-dependent units.)
    if not getattr(program, "_steps", True):
        areas = ", ".join(str(area) for area in problem.model.changing)
        raise SolverModelError(
            located(
                str(problem.model.objective),
                f"the objective does not depend on the changing cells ({areas})",
            )
        )
    to_loss, to_shown = goal_loss(problem.model.goal)
    precision = _precision(problem)
    lower, upper = problem.bounds.tensors(device, dtype)
    started = time.perf_counter()
    return Context(
        problem=problem,
        program=program,
        rows=RowSet(constraints.rows, precision),
        report_rows=RowSet(constraints.all_rows, precision),
        lower=lower,
        upper=upper,
        initial=program.initial.to(device=device, dtype=dtype),
        to_loss=to_loss,
        to_shown=to_shown,
        deadline=started + max_time,
        started=started,
    )
