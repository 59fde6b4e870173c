"""Compile a workbook slice into one differentiable torch program: params → objective.

Steps:
1. plan the cells the objective (and any requested outputs) depend on;
2. mark *dynamic* units, those on a path from the variable cells (forward over the plan);
3. fold every other unit into the value grids once, with the evaluator (`evaluate.run_units`);
4. lower each dynamic unit's formula into closures over blocks (`interpret`), reading its
   references with one precomputed gather per reference (`gather.DynamicSources`).

The program runs a whole batch of parameter vectors at once (solver restarts): blocks carry the
batch as their first dimension, constants carry 1 and broadcast.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from xl_lesson3.errors import BadInputError, DeviceError, EvaluationError, located
from xl_lesson3.formula.compile.gather import DynamicSources, count_ops
from xl_lesson3.formula.compile.interpret import Dynamic, Env, UnitContext, lower_unit, to_target
from xl_lesson3.formula.compile.plain import lower_plain
from xl_lesson3.formula.compile.siblings import fuse_siblings, sibling_groups
from xl_lesson3.formula.evaluate.grid import ValueGrid
from xl_lesson3.formula.evaluate.recalc import plan_with_computed_reads, run_units
from xl_lesson3.formula.evaluate.volatile import volatile_scope
from xl_lesson3.formula.functions.text.strings import character_set_scope
from xl_lesson3.formula.plan.units import Plan, Unit
from xl_lesson3.formula.scalars import ErrorCode, ExcelError, Kind
from xl_lesson3.formula.values import Block
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.model import WorkbookModel

Extractor = Callable[[Env], torch.Tensor]
Step = tuple[int, Callable[[Env], Block] | None, Callable[[Env], None] | None]


@dataclass
class CompiledProgram:
    """A compiled objective: call it with params (batch, n_vars) to get (batch,) values.

    ``variables[i]`` is the cell that ``params[:, i]`` sets; ``initial`` holds the workbook's
    current values of those cells. Error values reaching a result read as NaN. ``op_count`` is
    the number of torch operations one call runs (it does not grow with the number of rows).
    ``gradient_free_calls``: ``"Sheet!A1: T.DIST"`` for each call on the changing cells of a
    function computed outside autograd; gradient methods must refuse a program that has any.
    """

    objective: CellAddress
    variables: tuple[CellAddress, ...]
    initial: torch.Tensor
    op_count: int
    dtype: torch.dtype
    device: torch.device
    plan: Plan = field(repr=False)
    # (unit index, its run, None), or (first member, None, a group's runner writing all of
    # its members' outputs); in plan order.
    _steps: list[Step] = field(repr=False)
    _extractors: dict[CellAddress, Extractor] = field(repr=False)
    gradient_free_calls: tuple[str, ...] = ()
    _dynamic: frozenset[int] = field(default=frozenset(), repr=False)  # units the params change

    @property
    def depends_on_variables(self) -> bool:
        """False when no path leads from the variables to the objective (it is a constant)."""
        position = self.plan.position(self.objective)
        return self.objective in self.variables or (
            position is not None and position[0] in self._dynamic
        )

    @property
    def widest_block(self) -> int:
        """Cells of the largest unit the parameters change: one call's tensors hold about
        batch x this many numbers (what `solver.threads` sizes torch's threads by)."""
        units = self.plan.units
        return max(
            (units[i].output.shape[0] * units[i].output.shape[1] for i in self._dynamic), default=1
        )

    def run(self, params: torch.Tensor) -> Env:
        """Every dynamic unit's output for `params` (batch, n_vars)."""
        params = self._check(params)
        env = Env(params)
        outputs = env.outputs
        for index, run, group in self._steps:
            if run is not None:
                outputs[index] = run(env)
            else:
                group(env)
        return env

    def __call__(self, params: torch.Tensor) -> torch.Tensor:
        """The objective for each row of `params`: (batch,)."""
        return self._objective(self.run(params))

    def __post_init__(self) -> None:
        self._objective = self._extractors[self.objective]  # looked up once, not per call

    def outputs(self, params: torch.Tensor) -> dict[CellAddress, torch.Tensor]:
        """The objective and every requested output cell for `params`: each (batch,)."""
        env = self.run(params)
        return {cell: extract(env) for cell, extract in self._extractors.items()}

    def _check(self, params: torch.Tensor) -> torch.Tensor:
        if (  # the solver's calls: nothing to convert, and no op to record in the graph
            isinstance(params, torch.Tensor)
            and params.ndim == 2
            and params.shape[1] == len(self.variables)
            and params.dtype == self.dtype
            and params.device == self.device
        ):
            return params
        params = torch.as_tensor(params)
        if params.dim() == 1:
            params = params.unsqueeze(0)
        if params.dim() != 2 or params.shape[1] != len(self.variables):
            raise BadInputError(
                f"{self.objective}: params must be (batch, {len(self.variables)}), "
                f"got {tuple(params.shape)}"
            )
        return params.to(device=self.device, dtype=self.dtype)


def compile_program(
    model: WorkbookModel,
    objective: CellAddress,
    variables: Sequence[CellAddress],
    *,
    outputs: Sequence[CellAddress] = (),
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float64,
    seed: int | None = None,
) -> CompiledProgram:
    """Compile `objective` as a function of the `variables` cells (see the module docstring).

    Volatile functions (RAND, NOW, ...) are drawn once here, from `seed` (see `volatile`).
    Raises located errors for a variable that is a formula or text, unsupported functions,
    unknown names, circular references, and an error value or text reaching the objective
    with the workbook's current values (naming the first cell that produced it).
    """
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"{objective}: device {device} requested but CUDA is not available")
    variables = tuple(variables)
    _check_cells(model, objective, variables)
    with volatile_scope(seed), character_set_scope(model.character_set):
        return _compile(model, objective, variables, outputs, device, dtype)


def _compile(model, objective, variables, outputs, device, dtype) -> CompiledProgram:
    plan = plan_with_computed_reads(model, [objective, *outputs])
    # Variables may be blank cells past the used area: the grid must still hold them.
    grid = ValueGrid(model, {cell: _value_of(model, cell) for cell in variables})
    dynamic = _dynamic_units(plan, grid, variables)
    run_units([u for u in plan.units if u.index not in dynamic], grid, model=model)
    sources = DynamicSources(grid, variables, [u for u in plan.units if u.index in dynamic])
    steps: dict[int, Dynamic] = {}
    gradient_free: list[str] = []

    def context(unit: Unit) -> UnitContext:
        return UnitContext(
            unit, sources.resolve, dtype, device, model=model,
            on_gradient_free=gradient_free.append,
        )  # fmt: skip

    for unit in plan.units:
        if unit.index in dynamic:
            value = lower_unit(context(unit))
            if isinstance(value, Block):  # reads variables only through unused branches
                value = _constant_step(to_target(value, dtype, device))
            steps[unit.index] = value
    schedule = _schedule(plan, dynamic, steps, sources, context)
    initial = torch.tensor(
        [_initial_value(grid, cell) for cell in variables], dtype=dtype, device=device
    )
    extractors = {
        cell: _extractor(plan, grid, variables, dynamic, cell, dtype, device)
        for cell in (objective, *outputs)
    }
    program = CompiledProgram(
        objective, variables, initial, 0, dtype, device, plan, schedule, extractors,
        tuple(dict.fromkeys(gradient_free)), frozenset(dynamic),
    )  # fmt: skip
    with torch.no_grad():
        env, program.op_count = count_ops(program.run, initial.unsqueeze(0))
    _check_objective(program, env, grid, dynamic)
    return program


def _schedule(plan, dynamic, steps, sources, context) -> list[Step]:
    """The program's steps in plan order. Sibling SUMPRODUCT columns run as one (`siblings`):
    the group's runner sits at its first member's place and writes every member's output.
    Units proven to hold plain numbers run over bare tensors (`plain`)."""
    grouped: set[int] = set()
    plain: set[int] = set()
    candidates = {g[0].unit.index: g for g in sibling_groups(plan.units, dynamic, context)}
    schedule: list[Step] = []
    for unit in plan.units:
        index = unit.index
        if index in candidates:
            group = candidates[index]
            members = [member.unit.index for member in group]
            fallbacks = [steps[i].run for i in members]
            fused = fuse_siblings(group, sources, context, fallbacks, plain)
            if fused is not None:
                runner, proven = fused
                grouped.update(members)
                if proven:
                    plain.update(members)
                schedule.append((index, None, runner))
                continue
        if index not in dynamic or index in grouped:
            continue
        run = lower_plain(context(unit), sources, plain)
        if run is not None:
            plain.add(index)
        schedule.append((index, run or steps[index].run, None))
    return schedule


def _constant_step(block: Block) -> Dynamic:
    return Dynamic(lambda env: block)


# -- checks -------------------------------------------------------------------------------------


def _check_cells(model: WorkbookModel, objective: CellAddress, variables: tuple) -> None:
    if not model.sheet_exists(objective.sheet):
        raise BadInputError(f"{objective}: no sheet named {objective.sheet!r}")
    if len(set(variables)) != len(variables):
        raise BadInputError(f"{objective}: a variable cell is listed twice")
    for cell in variables:
        found = model.cell(cell)
        if not model.sheet_exists(cell.sheet):
            raise BadInputError(f"{cell}: no sheet named {cell.sheet!r}")
        if (found is not None and found.formula is not None) or model.array_formula_covering(cell):
            raise BadInputError(f"{cell}: a variable cell must hold a number, not a formula")
        if found is not None and isinstance(found.value, (str, ExcelError)):
            raise EvaluationError(
                f"{cell}: text where a number is needed (a variable holds {found.value!r})"
            )


def _value_of(model: WorkbookModel, cell: CellAddress):
    found = model.cell(cell)
    return None if found is None else found.value


def _initial_value(grid: ValueGrid, cell: CellAddress) -> float:
    value = grid.get(cell)
    return 0.0 if value is None else float(value)


def _dynamic_units(plan: Plan, grid: ValueGrid, variables: tuple) -> set[int]:
    """Units on a path from a variable: they read one, or read a unit that does."""
    masks: dict[str, np.ndarray] = {}
    for cell in variables:
        shape = grid.sheets[cell.sheet].num.shape
        mask = masks.setdefault(cell.sheet, np.zeros(shape, dtype=bool))
        if cell.row < shape[0] and cell.col < shape[1]:
            mask[cell.row, cell.col] = True
    dynamic: set[int] = set()
    for unit in plan.units:
        if any(dep in dynamic for dep in unit.deps) or any(
            rng.sheet in masks
            and masks[rng.sheet][rng.min_row : rng.max_row + 1, rng.min_col : rng.max_col + 1].any()
            for rng in unit.reads
        ):
            dynamic.add(unit.index)
    return dynamic


def _extractor(plan, grid, variables, dynamic, cell, dtype, device) -> Extractor:
    """How to read `cell` as (batch,) from a run: a unit's output, a parameter or a constant."""
    position = plan.position(cell)
    if position is not None and position[0] in dynamic:
        index, flat = position

        def from_unit(env: Env) -> torch.Tensor:
            block = env.outputs[index]
            num = block.num
            batch = env.params.shape[0]
            if block.err is None and num.shape[0] == batch and num.numel() == batch:
                return num.view(batch)  # a single cell for every restart: one view
            shape = (env.batch, *block.num.shape[1:])
            values = block.num.expand(shape).reshape(env.batch, -1)[:, flat]
            if block.err is None:
                return values
            errors = block.err.expand(shape).reshape(env.batch, -1)[:, flat]
            return torch.where(errors != 0, torch.nan, values)

        return from_unit
    if cell in variables:
        i = variables.index(cell)
        return lambda env: env.params[:, i]
    value = grid.get(cell)
    number = float(value) if isinstance(value, (int, float, bool)) else float("nan")
    constant = torch.tensor(number, dtype=dtype, device=device)
    # A constant still joins the graph (with zero gradient) so a solver can call backward().
    return lambda env: constant + 0.0 * env.params.sum(dim=1)


def _check_objective(program: CompiledProgram, env: Env, grid: ValueGrid, dynamic: set[int]):
    """Raise when the objective holds an error or text at the workbook's current values."""
    plan, objective = program.plan, program.objective
    position = plan.position(objective)
    if position is None or position[0] not in dynamic:
        value = grid.get(objective)
        if isinstance(value, str):
            raise EvaluationError(f"{objective}: text where a number is needed ({value!r})")
        if not isinstance(value, ExcelError):
            return
    else:
        block = env.outputs[position[0]]
        if block.kind is not None:
            kinds = block.kind.expand(1, *block.num.shape[1:]).reshape(-1)
            if int(kinds[position[1]]) == Kind.TEXT:
                raise EvaluationError(f"{objective}: text where a number is needed")
        if (
            block.err is None
            or not _unit_errors(plan.units[position[0]], env, grid, dynamic)[position[1]]
        ):
            return
    if position is None:  # the objective is an input cell holding an error value
        culprit, code = objective, value.code
    else:
        culprit, code = _first_error(plan, env, grid, dynamic, position)
    message = f"{code.text} reaches the objective {objective}"
    if culprit != objective:
        message += " (first produced here)"
    if code == ErrorCode.VALUE:
        message += "; text where a number is needed?"
    raise EvaluationError(located(str(culprit), message))


def _unit_errors(unit: Unit, env: Env, grid: ValueGrid, dynamic: set[int]) -> np.ndarray:
    """Error codes of a unit's cells (flat, in output order) at the trial run."""
    if unit.index in dynamic:
        block = env.outputs[unit.index]
        if block.err is None:
            return np.zeros(unit.output.size, dtype=np.int8)
        shape = (1, *block.num.shape[1:])
        return block.err.expand(shape).reshape(-1).cpu().numpy()
    sheet = grid.sheets[unit.output.sheet]
    out = unit.output
    return sheet.err[out.min_row : out.max_row + 1, out.min_col : out.max_col + 1].reshape(-1)


def _first_error(plan: Plan, env, grid, dynamic, position) -> tuple[CellAddress, ErrorCode]:
    """The first cell (in dependency order) among the objective's ancestors holding an error."""
    ancestors: set[int] = set()
    queue = deque([position[0]])
    while queue:
        index = queue.popleft()
        if index not in ancestors:
            ancestors.add(index)
            queue.extend(plan.units[index].deps)
    for unit in plan.units:
        if unit.index in ancestors:
            errors = _unit_errors(unit, env, grid, dynamic)
            bad = np.flatnonzero(errors)
            if len(bad):
                return _cell_at(unit, int(bad[0])), ErrorCode(int(errors[bad[0]]))
    return _cell_at(plan.units[position[0]], position[1]), ErrorCode.VALUE


def _cell_at(unit: Unit, flat: int) -> CellAddress:
    """The cell at position `flat` of the unit's output (row by row)."""
    out = unit.output
    width = out.shape[1]
    return CellAddress(out.sheet, out.min_row + flat // width, out.min_col + flat % width)
