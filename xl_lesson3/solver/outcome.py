"""How a run ended, in Excel Solver's words: its result codes and messages.

The codes are the ones Excel's ``SolverSolve`` returns (and its Solver Results dialog shows), so a
user who knows Excel's Solver reads our outcome the same way. A run *fails* (the CLI exits 1 and
writes nothing) when it found no feasible point, when the objective has no finite value, when the
model is not linear for the Simplex LP engine, or when it did not improve on the workbook's own
point: Excel keeps such a "solution" on screen, we refuse to overwrite a file with it.
"""

from __future__ import annotations

from dataclasses import dataclass

FOUND = 0
CONVERGED = 1
CANNOT_IMPROVE = 2
ITERATION_LIMIT = 3
NOT_CONVERGING = 4
INFEASIBLE = 5
STOPPED = 6
NOT_LINEAR = 7
ERROR_VALUE = 9
TIME_LIMIT = 10
INTEGER_FOUND = 14
GLOBAL_IN_PROBABILITY = 17

MESSAGES = {
    FOUND: "Solver found a solution. All constraints and optimality conditions are satisfied.",
    CONVERGED: "Solver has converged to the current solution. All constraints are satisfied.",
    CANNOT_IMPROVE: "Solver cannot improve the current solution. All constraints are satisfied.",
    ITERATION_LIMIT: "Stop chosen when the maximum iteration limit was reached.",
    NOT_CONVERGING: "The Objective Cell values do not converge.",
    INFEASIBLE: "Solver could not find a feasible solution.",
    STOPPED: "Solver stopped at user's request.",
    NOT_LINEAR: "The linearity conditions required by this LP Solver are not satisfied.",
    ERROR_VALUE: "Solver encountered an error value in the Objective Cell or a Constraint cell.",
    TIME_LIMIT: "Stop chosen when the maximum time limit was reached.",
    INTEGER_FOUND: (
        "Solver found an integer solution within tolerance. All constraints are satisfied."
    ),
    GLOBAL_IN_PROBABILITY: "Solver converged in probability to a global solution.",
}
# "Do not converge" is not among them: a run whose restarts diverged after finding a better
# finite point keeps that point (it fails only when it did not improve, like any other run).
FAILING = {INFEASIBLE, NOT_LINEAR, ERROR_VALUE}


@dataclass(frozen=True)
class Outcome:
    """An Excel result code, its message, and why (our own detail, e.g. the worst constraint)."""

    code: int
    detail: str = ""

    @property
    def message(self) -> str:
        return MESSAGES[self.code]

    @property
    def failing(self) -> bool:
        """Codes that leave nothing worth writing whatever the objective did."""
        return self.code in FAILING

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message


def stop_code(status: str) -> int:
    """The code for a gradient run's stop reason (the loop's status text)."""
    if status.startswith("stopped at the time limit"):
        return TIME_LIMIT
    if status.startswith("converged"):
        return CONVERGED
    if status.startswith("diverged"):
        return NOT_CONVERGING
    if status == "finished":
        return ITERATION_LIMIT
    return STOPPED
