"""`solve`: train a workbook's Solver model with torch, all restarts as one batched program.

The layers, top to bottom: `solve` (workbook in, `SolveResult` out, writes nothing), the training
loop `Fit` with its callbacks, and the methods (`SGD`, `Adam`, `LBFGS`). Writing the answer back
into the file is `xl_lesson3.solver.writeback`.

Defaults (method, learning rate, steps) were measured on the lesson's Titanic sheets; see
`DEFAULTS`.

Multi-start: restart 0 starts from the workbook's own values; the others from seeded random draws
in a box around zero, ``uniform(-s, s)`` with ``s = max(0.5, max |initial value|)`` (the lesson's
``RAND()-0.5`` when the workbook was initialised that way), clipped to any bounds. They all run
together as the leading dimension of one tensor, and the best finite restart wins.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from xl_lesson3.errors import BadInputError, DeviceError, SolverModelError, located
from xl_lesson3.solver.callbacks import (
    Divergence,
    EarlyStopping,
    History,
    Progress,
    ProjectBounds,
    ReportProgress,
    TrackBest,
)
from xl_lesson3.solver.excel_model import Goal, SolverModel
from xl_lesson3.solver.lbfgs import LBFGS
from xl_lesson3.solver.loop import Fit
from xl_lesson3.solver.methods import SGD, Adam, Method
from xl_lesson3.solver.problem import Problem, build_problem
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
class SolveResult:
    """What a solve found. Objective values are the objective cell's own values.

    `history`: per step, the best objective among the live restarts (for a "value of" goal, the
    distance ``|objective - target|``). `values`: the best restart's value for every changing
    cell. `improved`: the final objective is better than the initial one (by the goal).
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
    lr: float
    status: str
    diverged: bool
    improved: bool
    best_restart: int
    model: SolverModel = field(repr=False)
    workbook: WorkbookModel = field(repr=False)

    @property
    def failed(self) -> bool:
        """Diverged without finding a better finite point: nothing worth writing back."""
        return self.diverged and not self.improved


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


def initial_points(
    initial: torch.Tensor, restarts: int, lower: torch.Tensor, upper: torch.Tensor, seed: int
) -> torch.Tensor:
    """(restarts, n_vars): row 0 the workbook's values, the others seeded uniform draws."""
    n_vars = initial.shape[0]
    scale = max(0.5, float(initial.abs().max()) if n_vars else 0.5)
    generator = torch.Generator().manual_seed(seed)
    unit = torch.rand(restarts, n_vars, generator=generator, dtype=torch.float64)
    unit = unit.to(device=initial.device, dtype=initial.dtype)  # (restarts, n_vars)
    # A box per variable: (-s, s), moved inside one-sided bounds, or the bounds themselves.
    low = torch.where(
        torch.isfinite(lower), lower, torch.where(torch.isfinite(upper), upper - 2 * scale, -scale)
    )
    high = torch.where(torch.isfinite(upper), upper, low + 2 * scale)
    points = low + unit * (high - low)
    points[0] = initial
    return points


def make_method(name: str, lr: float, steps: int, tol: float, project) -> Method:
    """The method object for `name` ("sgd", "adam", "lbfgs")."""
    if name == "sgd":
        return SGD(lr)
    if name == "adam":
        return Adam(lr, steps)
    return LBFGS(lr, project=project, tol=tol, patience=DEFAULTS["lbfgs"].patience)


def _check_options(method: str, restarts: int, steps: int | None, lr: float | None) -> None:
    if method not in DEFAULTS:
        raise BadInputError(f"--method: {method!r} is not one of {', '.join(METHODS)}")
    if restarts < 1:
        raise BadInputError(f"--restarts: must be at least 1, got {restarts}")
    if steps is not None and steps < 1:
        raise BadInputError(f"--steps: must be at least 1, got {steps}")
    if lr is not None and not (lr > 0 and math.isfinite(lr)):
        raise BadInputError(f"--lr: must be a positive number, got {lr}")


def solve(
    workbook: WorkbookModel | str | Path,
    objective: CellAddress | str | None = None,
    changing: Sequence[RangeAddress | CellAddress | str] | None = None,
    goal: Goal | None = None,
    method: str = "lbfgs",
    lr: float | None = None,
    steps: int | None = None,
    tol: float = DEFAULT_TOL,
    restarts: int = 1,
    seed: int = 0,
    device: str = "auto",
    dtype: torch.dtype = torch.float64,
    callback: Callable[[Progress], object] | None = None,
    sheet: str | None = None,
    cpu_threads: int | None = 1,
) -> SolveResult:
    """Minimise, maximise or hit a target value of a workbook cell by changing other cells.

    `workbook`: a path or a WorkbookModel. `objective`/`changing`/`goal` default to the sheet's
    Excel Solver model (`sheet`, or the only sheet that has one); `goal` is "min", "max" or a
    number. `lr`/`steps` default per method (`DEFAULTS`). `tol`: stop when no restart improved by
    more than `tol` (relative) over the method's patience. `callback(Progress)` runs after every
    step and may raise `CancelFit` to stop. `cpu_threads`: torch's intra-op threads while solving
    on the CPU (restored afterwards; None leaves torch's setting). One by default: the tensors
    are small (restarts x rows), and on a busy 2-core machine two threads made every call ten
    times slower (measured: 48 ms vs 550 ms per evaluation of the Titanic network), because
    each operation waits at a barrier for a descheduled thread. Nothing is written; see
    `write_solution`.
    """
    _check_options(method, restarts, steps, lr)
    if cpu_threads is not None and cpu_threads < 1:
        raise BadInputError(f"--threads: must be at least 1, got {cpu_threads}")
    started = time.perf_counter()
    with _intra_op_threads(cpu_threads):
        torch_device = choose_device(device)
        problem = build_problem(workbook, objective, changing, goal, sheet)
        program = _compile(problem, torch_device, dtype)
        defaults = DEFAULTS[method]
        lr = defaults.lr if lr is None else lr
        steps = defaults.steps if steps is None else steps
        to_loss, to_shown = goal_loss(problem.model.goal)

        def objective_loss(params: torch.Tensor) -> torch.Tensor:
            return to_loss(program(params))

        lower, upper = problem.bounds.tensors(torch_device, dtype)
        initial = program.initial.to(device=torch_device, dtype=dtype)
        with torch.no_grad():
            initial_value = float(program(initial[None])[0])
        start = initial_points(initial, restarts, lower, upper, seed)
        bounds_cb = ProjectBounds(lower, upper)
        callbacks = [bounds_cb, TrackBest(), Divergence(), History()]
        if tol > 0:
            callbacks.append(EarlyStopping(tol, defaults.patience))
        if callback is not None:
            callbacks.append(ReportProgress(callback, to_shown))
        method_impl = make_method(method, lr, steps, tol, bounds_cb.project)
        fit = Fit(objective_loss, start, method_impl, steps, callbacks).run()
        return _result(
            problem,
            program,
            fit,
            initial_value,
            to_loss,
            to_shown,
            started,
            torch_device,
            method,
            lr,
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


def _compile(problem: Problem, device: torch.device, dtype: torch.dtype):
    from xl_lesson3.formula.compile import compile_program

    program = compile_program(
        problem.workbook,
        problem.model.objective,
        problem.variables,
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
    return program


def _result(
    problem, program, fit, initial_value, to_loss, to_shown, started, device, method, lr
) -> SolveResult:
    best = fit.callback(TrackBest)
    divergence = fit.callback(Divergence)
    history = fit.callback(History)
    k = best.best_restart
    best_params = best.params[k]
    with torch.no_grad():
        final_value = float(program(best_params[None])[0])
    initial_loss = float(to_loss(torch.tensor(initial_value)))
    final_loss = float(to_loss(torch.tensor(final_value)))
    finite = math.isfinite(final_loss)
    improved = finite and (not math.isfinite(initial_loss) or final_loss < initial_loss)
    diverged = fit.status.startswith("diverged")
    status = fit.status
    if diverged and improved:
        status += f"; kept the best finite point (restart {k}, step {int(best.step[k])})"
    elif divergence.n_frozen and not diverged:
        status += f"; {divergence.n_frozen} of {fit.n_restarts} restarts diverged"
    if not finite:
        status += "; no finite objective value was found"
    values = dict(zip(problem.variables, best_params.tolist()))
    if not finite:  # nothing better than the workbook's own values
        values = dict(zip(problem.variables, program.initial.tolist()))
        final_value = initial_value
    return SolveResult(
        objective=problem.model.objective,
        goal=problem.model.goal,
        initial=initial_value,
        final=final_value,
        values=values,
        history=[to_shown(loss) for loss in history.losses],
        iterations=fit.steps_done,
        seconds=time.perf_counter() - started,
        device=str(device),
        restarts=fit.n_restarts,
        method=method,
        lr=lr,
        status=status,
        diverged=diverged or not finite,
        improved=improved,
        best_restart=k,
        model=problem.model,
        workbook=problem.workbook,
    )
