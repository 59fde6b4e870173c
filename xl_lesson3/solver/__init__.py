"""Gradient-descent replacement for Excel's Solver: models, the solve API, write-back."""

from xl_lesson3.solver.api import DEFAULTS, SolveResult, solve
from xl_lesson3.solver.callbacks import Progress
from xl_lesson3.solver.excel_model import (
    Constraint,
    SolverModel,
    read_solver_model,
    save_model,
    solver_defined_names,
)
from xl_lesson3.solver.loop import CancelFit
from xl_lesson3.solver.writeback import write_solution

__all__ = [
    "DEFAULTS",
    "CancelFit",
    "Constraint",
    "Progress",
    "SolveResult",
    "SolverModel",
    "read_solver_model",
    "save_model",
    "solve",
    "solver_defined_names",
    "write_solution",
]
