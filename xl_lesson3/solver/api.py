"""`solve`: a workbook's Solver model, solved by the engine Excel would use, all restarts at once.

The layers, top to bottom: `solve` (workbook in, `SolveResult` out, writes nothing), the engines
(`gradient`: L-BFGS, Adam or the lesson's SGD with an augmented Lagrangian for constraints;
`linear`: Simplex LP / MILP through HiGHS; `least_squares`: an exact Newton step for quadratic
objectives, Levenberg-Marquardt for sums of squared residuals; `evolution`: differential
evolution), and the training loop `Fit` with its callbacks. Writing the answer back into the
file is `xl_lesson3.solver.writeback`.

Engine choice, as Excel's: the model's ``solver_eng`` (or `engine`): Simplex LP -> `linear`;
Evolutionary -> `evolution`; GRG Nonlinear -> `linear` when the model has integer constraints and
is linear, `evolution` when it has them and is not, otherwise `least_squares` when the objective
is a sum of squares (and no `method` was asked for), else `gradient`.

Defaults (method, learning rate, steps) were measured on the lesson's Titanic sheets; see
`DEFAULTS`. Multi-start: `xl_lesson3.solver.starts`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from xl_lesson3.errors import BadInputError, DeviceError
from xl_lesson3.solver.callbacks import Progress
from xl_lesson3.solver.context import goal_loss  # noqa: F401  (kept importable from here)
from xl_lesson3.solver.excel_model import Goal, SolverModel
from xl_lesson3.solver.outcome import Outcome
from xl_lesson3.solver.starts import initial_points  # noqa: F401  (kept importable from here)
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import WorkbookModel


@dataclass(frozen=True)
class MethodDefaults:
    """Learning rate, step budget and early-stopping patience of a method when not given."""

    lr: float
    steps: int
    patience: int


# Measured on the lesson's Titanic sheets (two-ReLU network, 256 random starts in (-0.5, 0.5)):
# - L-BFGS reaches the <= 0.130 basin from 1.9% of starts within 200 iterations (2 to 8 of 256
#   for each of the seeds 0-15, none after iteration ~190), and the least-squares optimum of the
#   linear sheet to 1e-14 in about 50 iterations. Hence the default method.
# - Adam (cosine-decayed lr 0.05, 1000 steps) reaches that basin from only ~0.6% of starts (0 to
#   3 of 256 depending on the seed); higher rates are worse (0.2: none), lower ones slower.
# - SGD is the lesson's loop; its lr is small enough for normalised inputs, not tuned for speed.
DEFAULTS = {
    "lbfgs": MethodDefaults(lr=1.0, steps=200, patience=10),
    "adam": MethodDefaults(lr=0.05, steps=1000, patience=100),
    "sgd": MethodDefaults(lr=0.01, steps=1000, patience=100),
}
METHODS = tuple(DEFAULTS)
DEFAULT_TOL = 1e-10


@dataclass(frozen=True)
class ConstraintValue:
    """One constraint row at the answer: its value, right side, slack and whether it binds.

    `slack`: how far the row is from binding, ``rhs - value`` for ``<=``, ``value - rhs`` for
    ``>=``, 0 for ``=``; negative when violated. `status`: Excel's "Binding" / "Not Binding"
    (or "Violated").
    """

    cell: CellAddress
    label: str
    relation: str
    value: float
    rhs: float
    slack: float
    status: str
    rhs_cell: CellAddress | None = None


@dataclass(frozen=True)
class SolveResult:
    """What a solve found. Objective values are the objective cell's own values.

    `history`: per step, the best objective among the live restarts (for a "value of" goal, the
    distance ``|objective - target|``). `values`: the best restart's value for every changing
    cell; `initial_values` the workbook's. `improved`: the final objective is better than the
    initial one (by the goal), or the initial point was infeasible and the final one is not.
    `outcome`: Excel's result code and message. `constraints`: every constraint row at the
    answer. `options`: where each option came from (`Options.as_json`).
    """

    objective: CellAddress
    goal: Goal
    initial: float
    final: float
    values: dict[CellAddress, float]
    history: list[float]
    iterations: int
    seconds: float
    device: str
    restarts: int
    method: str
    lr: float | None
    status: str
    diverged: bool
    improved: bool
    best_restart: int
    model: SolverModel = field(repr=False)
    workbook: WorkbookModel = field(repr=False)
    engine: str = "grg"
    outcome: Outcome = field(default_factory=lambda: Outcome(0))
    feasible: bool = True
    exact: bool = False
    constraints: tuple[ConstraintValue, ...] = ()
    initial_values: dict[CellAddress, float] = field(default_factory=dict, repr=False)
    options: dict = field(default_factory=dict, repr=False)

    @property
    def failed(self) -> bool:
        """Nothing worth writing back: infeasible, no finite value, or no improvement.

        An answer known to be optimal (Excel's "found a solution", code 0 or 14) is worth
        writing even when the workbook already held it.
        """
        return self.outcome.failing or not (self.improved or self.outcome.code in (0, 14))


def choose_device(device: str) -> torch.device:
    """The torch device for `device`: "auto" is CUDA when available, else the CPU.

    Asking for "cuda" on a machine without it raises DeviceError rather than falling back.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(
            f"--device {device}: CUDA is not available here (torch {torch.__version__}, "
            f"built for CUDA {torch.version.cuda or 'none'}); use --device cpu"
        )
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise DeviceError(f"--device {device}: not a device torch knows ({exc})") from exc


def _check_options(method: str | None, lr: float | None, goal: Goal | None = None) -> None:
    if isinstance(goal, (int, float)) and not math.isfinite(goal):
        raise BadInputError(f"--value: the target must be a finite number, got {goal}")
    if method is not None and method not in DEFAULTS:
        raise BadInputError(f"--method: {method!r} is not one of {', '.join(METHODS)}")
    if lr is not None and not (lr > 0 and math.isfinite(lr)):
        raise BadInputError(f"--lr: must be a positive number, got {lr}")


def solve(
    workbook: WorkbookModel | str | Path,
    objective: CellAddress | str | None = None,
    changing: Sequence[RangeAddress | CellAddress | str] | None = None,
    goal: Goal | None = None,
    method: str | None = None,
    lr: float | None = None,
    steps: int | None = None,
    tol: float | None = None,
    restarts: int | None = None,
    seed: int | None = None,
    device: str = "auto",
    dtype: torch.dtype = torch.float64,
    callback: Callable[[Progress], object] | None = None,
    sheet: str | None = None,
    cpu_threads: int | str | None = "auto",
    *,
    engine: str | None = None,
    population: int | None = None,
    max_time: float | None = None,
) -> SolveResult:
    """Minimise, maximise or hit a target value of a workbook cell by changing other cells.

    `workbook`: a path or a WorkbookModel. `objective`/`changing`/`goal` default to the sheet's
    Excel Solver model (`sheet`, or the only sheet that has one); `goal` is "min", "max" or a
    number. `engine` ("grg", "simplex", "evolutionary"), `restarts`, `population`, `seed`,
    `max_time` (s), `steps` and `tol` default to the model's stored Solver options, then ours
    (`xl_lesson3.solver.options`). `method` ("lbfgs", "adam", "sgd") picks the gradient method
    and skips the least-squares shortcut; `lr`/`steps` default per method (`DEFAULTS`).
    `callback(Progress)` runs after every gradient step and may raise `CancelFit` to stop.
    `cpu_threads`: torch's intra-op threads while solving on the CPU (restored afterwards; None
    leaves torch's setting). "auto" (the default): one while reading and compiling, then one
    unless each call's tensors hold a million numbers or more (restarts x rows), where the
    cores idle at that moment pay, for as long as no other process takes them
    (`xl_lesson3.solver.threads` says why). Nothing is written; see `write_solution`.
    """
    from xl_lesson3.solver.dispatch import run_engine
    from xl_lesson3.solver.options import resolve_options
    from xl_lesson3.solver.problem import build_problem

    _check_options(method, lr, goal)
    auto = cpu_threads == "auto"
    if (
        not auto
        and cpu_threads is not None
        and not (isinstance(cpu_threads, int) and cpu_threads >= 1)
    ):
        raise BadInputError(f"--threads: must be at least 1 or auto, got {cpu_threads}")
    started = time.perf_counter()
    with _intra_op_threads(1 if auto else cpu_threads):
        torch_device = choose_device(device)
        problem = build_problem(workbook, objective, changing, goal, sheet)
        options = resolve_options(
            problem.model,
            engine=engine,
            restarts=restarts,
            population=population,
            seed=seed,
            max_time=max_time,
            steps=steps,
            tol=tol,
        )
        return run_engine(
            problem, options, torch_device, dtype, method, lr, callback, started, auto_threads=auto
        )


@contextmanager
def _intra_op_threads(threads: int | None) -> Iterator[None]:
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if threads is not None:
            torch.set_num_threads(before)
