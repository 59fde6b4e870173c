"""What the ribbon's buttons do, on a `WorkbookModel`: no xlwings here, only cells in and out.

Each step takes the workbook model (read from Excel by `xl_lesson3.workbook.load_xlwings`) and
returns the cells to write, so the macros in `udfs.macros` stay a thin read → call → write.

- `find_target`: what to train: the sheet's Solver model (objective, changing cells), or the
  selected cells with the sheet's "Total loss" cell as the objective;
- `train`: the project's solver on that target, progress to the status bar;
- `reset_values`: RAND()-0.5 for every changing cell, from a seed;
- `evaluate_target`: the objective recomputed by the engine, and the accuracy at 0.5 of the
  prediction column against the target column (found by their headers);
- `result_block`: where a labelled result block goes (the same place every time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from xl_lesson3.addin.jobs import DEFAULT_TIME_LIMIT, Job
from xl_lesson3.errors import BadInputError, SolverError, SolverModelError, located
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import WorkbookModel

if TYPE_CHECKING:
    from xl_lesson3.solver import Progress, SolveResult

DEFAULT_SEED = 42
DEFAULT_RESTARTS = 4  # a few random starts besides the sheet's own values: a click takes seconds
LOSS_LABELS = ("total loss", "loss", "avg loss", "average loss")
PREDICTION_HEADERS = ("pred", "preds", "prediction", "predictions")
TARGET_HEADERS = ("survived", "target", "y", "label", "dep")
EXCEL_NO_LIMIT = 2147483647  # what Excel stores in solver_tim/solver_itr for "no limit"
# A min/max is treated as unbounded (the objective improves forever as the parameters run
# away; nothing is written) when its best parameters grew past RUNAWAY_FACTOR times their
# starting scale, or past DRIFT_FACTOR times it while the objective still moved by more than
# DRIFT_CHANGE (relative) over the last tenth of the steps: a converging run has settled by then.
RUNAWAY_FACTOR = 1e4
DRIFT_FACTOR = 10.0
DRIFT_CHANGE = 0.1


@dataclass(frozen=True)
class Target:
    """What a Solve trains: the objective cell, the changing areas, and min or max."""

    sheet: str
    objective: CellAddress
    areas: tuple[RangeAddress, ...]
    goal: str = "min"
    source: str = "Solver model"  # or "selection"
    non_negative: bool = False

    @property
    def variables(self) -> tuple[CellAddress, ...]:
        """Every changing cell, area by area, row by row; overlapping areas count once."""
        return tuple(dict.fromkeys(cell for area in self.areas for cell in area.cells()))


def find_target(model: WorkbookModel, sheet: str, selection: RangeAddress | None) -> Target:
    """The sheet's Solver model; without one, the selection as the parameters.

    Without a Solver model the objective is the formula cell right of a "Total loss" label.
    """
    from xl_lesson3.solver.excel_model import read_solver_model, sheet_solver_names

    if "solver_opt" in sheet_solver_names(model, sheet):
        solver_model = read_solver_model(model, sheet)
        goal = solver_model.goal
        if not isinstance(goal, str):
            raise SolverModelError(
                located(sheet, "a Solver 'Value Of' goal is not supported by the Solve button")
            )
        return Target(
            sheet,
            solver_model.objective,
            tuple(solver_model.changing),
            goal,
            non_negative=solver_model.non_negative,
        )
    if selection is None or selection.sheet != sheet:
        raise BadInputError(
            located(sheet, "no Solver model on this sheet; select the parameter cells first")
        )
    return Target(sheet, loss_cell(model, sheet), (selection,), "min", source="selection")


def loss_cell(model: WorkbookModel, sheet: str) -> CellAddress:
    """The formula cell right of the first "Total loss"/"Loss" label on `sheet`."""
    for address, cell in sorted(model.cells.items()):
        if address.sheet != sheet or not isinstance(cell.value, str):
            continue
        if cell.value.strip().lower().rstrip(":") in LOSS_LABELS:
            right = model.cell(address.offset(cols=1))
            if right is not None and right.formula is not None:
                return right.address
    raise BadInputError(
        located(sheet, 'no Solver model and no "Total loss" label beside a formula cell')
    )


def train(
    model: WorkbookModel,
    target: Target,
    *,
    steps: int | None = None,
    lr: float | None = None,
    restarts: int = DEFAULT_RESTARTS,
    device: str = "auto",
    progress: Callable[[str], None] | None = None,
    job: Job | None = None,
) -> SolveResult:
    """Run the project's solver (`xl_lesson3.solver.solve`) on `target`; writes nothing.

    A Solver-model target is read back from the sheet by the solver itself, so its goal,
    bounds and "non-negative" box apply, and its Max Time (``solver_tim``) and Iterations
    (``solver_itr``) options bound the run; a selection target minimises the loss cell.
    `steps`/`lr` default to the Solver options, then to the solver's method defaults.
    `progress` receives a status-bar line about ten times per run. `job` (the add-in server's
    job of this call) receives progress after every step and stops the run: Cancel or a lost
    client raises `JobCancelled`; its time limit (Max Time, else `DEFAULT_TIME_LIMIT`) keeps
    the best point so far, as Excel's Solver does.
    """
    from xl_lesson3.solver import solve
    from xl_lesson3.solver.loop import CancelFit

    time_limit, max_steps = solver_limits(model, target)
    if job is not None:
        job.set_time_limit(time_limit if time_limit is not None else DEFAULT_TIME_LIMIT)
    if target.source == "selection":
        where = {"objective": target.objective, "changing": target.areas, "goal": target.goal}
    else:
        where = {"sheet": target.sheet}
    status = None if progress is None else _status_line(progress)

    def report(update: Progress) -> None:
        if status is not None:
            status(update)
        if job is None:
            return
        job.report(update.step, update.max_steps, update.objective)
        if job.cancelled.is_set():
            raise CancelFit("cancelled")
        if job.timed_out():
            raise CancelFit(f"stopped: time limit ({job.elapsed:.0f} s)")

    result = solve(
        model,
        **where,
        steps=steps if steps is not None else max_steps,
        lr=lr,
        restarts=restarts,
        seed=DEFAULT_SEED,
        device=device,
        callback=report if (status or job) else None,
    )
    if job is not None:
        job.check()  # cancelled: nothing is written
    check_bounded(model, target, result)
    return result


def solver_limits(model: WorkbookModel, target: Target) -> tuple[float | None, int | None]:
    """(Max Time in seconds, Iterations) of the sheet's Solver options; None where unset."""
    from xl_lesson3.solver.excel_model import sheet_solver_names

    if target.source == "selection":
        return None, None
    names = sheet_solver_names(model, target.sheet)
    limits = []
    for key in ("solver_tim", "solver_itr"):
        try:
            value = float(names.get(key, EXCEL_NO_LIMIT))
        except ValueError as exc:
            raise SolverModelError(
                located(target.sheet, f"{key} must be a number, got {names[key]!r}")
            ) from exc
        limits.append(value if 0 < value < EXCEL_NO_LIMIT else None)
    seconds, iterations = limits
    return seconds, None if iterations is None else int(iterations)


def check_bounded(model: WorkbookModel, target: Target, result: SolveResult) -> None:
    """Refuse a result whose parameters ran away (an unbounded min/max): raise SolverError."""
    if target.goal not in ("min", "max"):
        return
    starts = [_maybe_number(model_value(model, cell)) or 0.0 for cell in target.variables]
    scale = max([1.0, *(abs(v) for v in starts)])
    largest = max((abs(v) for v in result.values.values()), default=0.0)
    finite = math.isfinite(largest) and math.isfinite(result.final)
    tail = result.history[-max(2, len(result.history) // 10) :]
    drift = abs(tail[-1] - tail[0]) / max(abs(tail[0]), 1e-12) if len(tail) >= 2 else 0.0
    drifting = drift > DRIFT_CHANGE and largest > DRIFT_FACTOR * scale
    if finite and largest <= RUNAWAY_FACTOR * scale and not drifting:
        return
    direction = "growing" if target.goal == "max" else "falling"
    raise SolverError(
        located(
            str(target.objective),
            f"the objective keeps {direction} as the parameters run away (up to {largest:.3g}"
            f" from a scale of {scale:.3g}): it looks unbounded, so nothing was written. "
            "Check the goal (Max/Min) and add bounds in the Solver model.",
        )
    )


def _status_line(show: Callable[[str], None]) -> Callable[[Progress], None]:
    """A solver callback that shows "step k/n, loss x" every tenth of the step budget."""

    def report(update: Progress) -> None:
        every = max(1, update.max_steps // 10)
        if update.step % every == 0:
            show(f"Lesson 3: step {update.step}/{update.max_steps}, loss {update.objective:.6g}")

    return report


def reset_values(target: Target, seed: int = DEFAULT_SEED) -> dict[CellAddress, float]:
    """RAND()-0.5 for every changing cell, in [-0.5, 0.5), the same for the same seed."""
    if not 0 <= seed < 2**63:
        raise BadInputError(f"seed: must be a whole number in 0..2**63-1, got {seed}")
    generator = torch.Generator().manual_seed(int(seed))
    draws = torch.rand(len(target.variables), generator=generator, dtype=torch.float64) - 0.5
    return {cell: float(value) for cell, value in zip(target.variables, draws.tolist())}


@dataclass(frozen=True)
class Evaluation:
    """Total loss, and accuracy at 0.5 when the sheet has prediction and target columns."""

    loss: float
    accuracy: float | None
    n_rows: int


def evaluate_target(
    model: WorkbookModel, target: Target, overrides: Mapping[CellAddress, float] | None = None
) -> Evaluation:
    """Recompute the sheet with the engine and measure the model on it."""
    from xl_lesson3.formula.evaluate.recalc import evaluate_workbook

    values = evaluate_workbook(model, overrides=dict(overrides or {}))
    loss = _number(values.get(target.objective, model_value(model, target.objective)))
    columns = _prediction_columns(model, target.sheet)
    if columns is None:
        return Evaluation(loss=loss, accuracy=None, n_rows=0)
    header_row, pred_col, target_col = columns
    hits, n_rows = 0, 0
    row = header_row + 1
    while True:
        y = _maybe_number(model_value(model, CellAddress(target.sheet, row, target_col)))
        if y is None:
            break
        pred_address = CellAddress(target.sheet, row, pred_col)
        pred = _maybe_number(values.get(pred_address, model_value(model, pred_address)))
        hits += int(pred is not None and (pred >= 0.5) == (y >= 0.5))
        n_rows += 1
        row += 1
    return Evaluation(loss=loss, accuracy=hits / n_rows if n_rows else None, n_rows=n_rows)


def model_value(model: WorkbookModel, address: CellAddress):
    cell = model.cell(address)
    return None if cell is None else cell.value


def _prediction_columns(model: WorkbookModel, sheet: str) -> tuple[int, int, int] | None:
    """(header row, prediction column, target column) from the first row holding both headers."""
    headers: dict[int, dict[str, int]] = {}
    for address, cell in model.cells.items():
        if address.sheet == sheet and isinstance(cell.value, str) and cell.formula is None:
            text = cell.value.strip().lower()
            row = headers.setdefault(address.row, {})
            if text in PREDICTION_HEADERS:
                row.setdefault("pred", address.col)
            elif text in TARGET_HEADERS:
                row.setdefault("target", address.col)
    for row in sorted(headers):
        if {"pred", "target"} <= headers[row].keys():
            return row, headers[row]["pred"], headers[row]["target"]
    return None


def _number(value) -> float:
    number = _maybe_number(value)
    if number is None:
        raise BadInputError(f"expected a number, got {value!r}")
    return number


def _maybe_number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def result_block(model: WorkbookModel, sheet: str, title: str, height: int) -> RangeAddress:
    """Two columns × `height` rows for a labelled block titled `title`.

    Where a block with this title already is (its title cell), it is reused, so pressing a
    button twice overwrites rather than piles up; otherwise it goes two columns right of the
    used range, from row 1.
    """
    for address, cell in model.cells.items():
        if address.sheet == sheet and cell.value == title and cell.formula is None:
            return RangeAddress(
                sheet, address.row, address.col, address.row + height - 1, address.col + 1
            )
    used = model.used_range(sheet)
    col = used.max_col + 2
    return RangeAddress(sheet, 1, col, height, col + 1)


def areas_of(values: Mapping[CellAddress, float], areas: Sequence[RangeAddress]):
    """Group per-cell values into one list of rows per area (for writing a range at once)."""
    grouped = []
    for area in areas:
        rows = []
        for r in range(area.min_row, area.max_row + 1):
            rows.append(
                [
                    values[CellAddress(area.sheet, r, c)]
                    for c in range(area.min_col, area.max_col + 1)
                ]
            )
        grouped.append((area, rows))
    return grouped
