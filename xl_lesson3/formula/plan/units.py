"""Plan: the formula cells a set of targets needs, grouped into units, in dependency order.

A *unit* is what the compiler turns into one batch of tensor operations:
- a **run**: consecutive cells down one column whose formulas bind to the same R1C1 tree
  (``=SUMPRODUCT(D2:M2,$P$1:$Y$1)``, ``=SUMPRODUCT(D3:M3,$P$1:$Y$1)``, ...); or
- an **array formula**: one formula filling a block (``{=MMULT(...)}``).

Only cells the targets depend on are parsed (lazily), so a broken formula elsewhere does not
matter. Discovery (`discover`) hands them over as stretches of copied formulas, one bound tree
each, so planning a million copies of a formula costs about what planning one does. Everything here is iterative: chains of thousands of cells must not hit Python's
recursion limit. A run that depends on itself (a running total ``=C2+B3``) or on another run in a
zig-zag is split into single cells before ordering; a cycle that remains among single cells is a
real circular reference and is reported with its path. Unsupported functions anywhere in the
slice are reported together. No torch here.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from xl_lesson3.errors import CircularReferenceError, UnsupportedFunctionError, located
from xl_lesson3.formula.parse.ast import BoundRef, Call, Node, value_refs, walk
from xl_lesson3.formula.plan.discover import Stretch, discover
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import WorkbookModel


class FunctionCatalog(Protocol):
    """What the planner needs to know about functions (the registry module satisfies it)."""

    def is_supported(self, name: str) -> bool: ...

    def supported_names(self) -> list[str]: ...


@dataclass(frozen=True)
class Unit:
    """A run of identical (R1C1) formulas down a column, or one array formula's block.

    `output` is the block of cells the unit writes: ``length`` × 1 for a run, the array's ref for
    an array formula. `body` is the bound formula (R1C1 offsets from each cell). `reads` holds,
    per reference, the rectangle the whole unit reads; `deps` the units that write into them.
    """

    index: int
    body: Node
    output: RangeAddress
    is_array: bool
    reads: tuple[RangeAddress, ...] = ()
    deps: tuple[int, ...] = ()
    # An array formula copied down `stacked` consecutive rows, one row each (the course's
    # ``{=OFFSET(...)}`` per rating): one unit, a run of arrays, like a run of plain formulas.
    stacked: int = 0

    @property
    def cell_shape(self) -> tuple[int, int]:
        """The (rows, cols) each formula of the unit fills: (1, 1) for a run's cells."""
        if not self.is_array:
            return (1, 1)
        return (1, self.output.shape[1]) if self.stacked else self.output.shape

    @property
    def anchor(self) -> CellAddress:
        """The first cell: where messages about this unit point."""
        return self.output.top_left

    @property
    def length(self) -> int:
        """Cells in the run (1 for an array formula, whose shape lives in `output`)."""
        if self.stacked:
            return self.stacked
        return 1 if self.is_array else self.output.shape[0]

    @property
    def rows(self) -> range:
        """The formula rows of a run (the anchor row for an array formula)."""
        return range(self.output.min_row, self.output.min_row + self.length)

    def refs(self) -> list[BoundRef]:
        """The references whose cells the unit reads (see `ast.value_refs`)."""
        return value_refs(self.body)


@dataclass(frozen=True)
class Plan:
    """Units in an order where every unit comes after the units it reads."""

    model: WorkbookModel
    units: tuple[Unit, ...]
    index: UnitIndex = field(repr=False)
    # Tolerant plans only: units on a circular reference, as groups (each a strongly connected
    # set, in cell order). They come last in `units`, in no dependency order among themselves.
    cycles: tuple[tuple[int, ...], ...] = ()

    def position(self, cell: CellAddress) -> tuple[int, int] | None:
        """(unit index, flat position in the unit's output) of a formula cell, or None."""
        return self.index.locate(cell)

    def unit_of(self, cell: CellAddress) -> Unit | None:
        found = self.index.locate(cell)
        return None if found is None else self.units[found[0]]


class UnitIndex:
    """Which unit writes which cells: per sheet column, the sorted row intervals of outputs.

    Outputs never overlap, so in each column the intervals are disjoint and one bisection finds
    the first that can meet a row range. Far cheaper than a map from every cell.
    """

    def __init__(self, units: Iterable[Unit]) -> None:
        columns: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
        for unit in units:
            out = unit.output
            for col in range(out.min_col, out.max_col + 1):
                columns.setdefault((out.sheet, col), []).append(
                    (out.min_row, out.max_row, unit.index)
                )
        self.columns = {key: sorted(spans) for key, spans in columns.items()}
        self.ends = {key: [span[1] for span in spans] for key, spans in self.columns.items()}
        self.units = {unit.index: unit for unit in units}

    def overlapping(self, rng: RangeAddress) -> set[int]:
        """Indices of the units writing any cell of `rng`."""
        found: set[int] = set()
        for col in range(rng.min_col, rng.max_col + 1):
            spans = self.columns.get((rng.sheet, col))
            if not spans:
                continue
            i = bisect.bisect_left(self.ends[(rng.sheet, col)], rng.min_row)
            while i < len(spans) and spans[i][0] <= rng.max_row:
                found.add(spans[i][2])
                i += 1
        return found

    def locate(self, cell: CellAddress) -> tuple[int, int] | None:
        spans = self.columns.get((cell.sheet, cell.col))
        if not spans:
            return None
        i = bisect.bisect_left(self.ends[(cell.sheet, cell.col)], cell.row)
        if i == len(spans) or spans[i][0] > cell.row:
            return None
        unit = self.units[spans[i][2]]
        out = unit.output
        return unit.index, (cell.row - out.min_row) * out.shape[1] + (cell.col - out.min_col)


def build_plan(
    model: WorkbookModel,
    targets: Iterable[CellAddress | RangeAddress],
    *,
    functions: FunctionCatalog | None = None,
    tolerant: bool = False,
    extra_reads: Mapping[CellAddress, Sequence[RangeAddress]] | None = None,
) -> Plan:
    """Plan the formula cells `targets` depend on (the targets included).

    `functions` tells which functions exist (pass the registry module; passed in so that this
    module stays torch-free); every call to a missing one in the slice is reported in one error.
    `tolerant` (``eval --all``, ``check``): formulas that cannot be read become `Failed` nodes,
    unsupported functions are left for evaluation to report per cell, and circular references
    are returned in `Plan.cycles` instead of raised. `extra_reads`: see `discover.discover`.
    """
    extra_reads = dict(extra_reads or {})
    stretches = discover(model, targets, tolerant=tolerant, extra_reads=extra_reads)
    if functions is not None and not tolerant:
        _check_functions(stretches, functions)
    units = _group(model, stretches)
    ordered, cyclic = _order(units, extra_reads, tolerant)
    position = {unit.index: i for i, unit in enumerate(ordered)}
    cycles = tuple(tuple(sorted(position[i] for i in group)) for group in cyclic)
    ordered = _renumber(ordered)
    return Plan(model, tuple(ordered), UnitIndex(ordered), cycles)


def _renumber(ordered: list[Unit]) -> list[Unit]:
    """Make each unit's index its position in the plan (deps renumbered to match)."""
    new_index = {unit.index: i for i, unit in enumerate(ordered)}
    return [
        Unit(
            i,
            u.body,
            u.output,
            u.is_array,
            u.reads,
            tuple(sorted(new_index[d] for d in u.deps if d in new_index)),
            u.stacked,
        )
        for i, u in enumerate(ordered)
    ]


def _check_functions(stretches: list[Stretch], functions: FunctionCatalog) -> None:
    missing: dict[str, CellAddress] = {}
    checked: dict[int, list[str]] = {}  # bound trees are shared by copied formulas: walk once
    for output, body in stretches:
        cell = output.top_left
        names = checked.get(id(body))
        if names is None:
            names = [
                node.name
                for node in walk(body)
                if isinstance(node, Call) and not functions.is_supported(node.name)
            ]
            checked[id(body)] = names
        for name in names:
            if name not in missing or cell < missing[name]:
                missing[name] = cell
    if missing:
        ordered = sorted(missing.items(), key=lambda item: item[1])
        first_name, first_cell = ordered[0]
        others = "; ".join(f"{cell}: {name}" for name, cell in ordered[1:])
        message = f"{first_name} is not supported"
        if others:
            message += f" (also unsupported: {others})"
        message += f" (supported: {', '.join(functions.supported_names())})"
        raise UnsupportedFunctionError(located(str(first_cell), message))


# -- grouping -----------------------------------------------------------------------------------


def _group(model: WorkbookModel, stretches: list[Stretch]) -> list[Unit]:
    """Arrays become units; other stretches join runs of equal bodies in consecutive rows.

    A body whose ranges grow from row to row (see `_groupable`) stays one unit per cell.
    """
    units: list[Unit] = []
    runs: list[Stretch] = []
    known: dict[int, bool] = {}

    def groupable(body: Node) -> bool:
        if id(body) not in known:
            known[id(body)] = _groupable(body)
        return known[id(body)]

    arrays: list[tuple[RangeAddress, Node]] = []
    for output, body in stretches:
        array = model.array_formulas.get(output.top_left) if output.is_cell else None
        if array is not None:
            arrays.append((array.ref, body))
        else:
            runs.append((output, body))
    for ref, body, count in _stack_arrays(arrays):
        units.append(Unit(len(units), body, ref, True, stacked=count if count > 1 else 0))
    runs.sort(key=lambda run: (run[0].sheet, run[0].min_col, run[0].min_row))
    merged: list[Stretch] = []
    for output, body in runs:
        if merged:
            last, last_body = merged[-1]
            if (
                output.sheet == last.sheet
                and output.min_col == last.min_col
                and output.min_row == last.max_row + 1
                and _same(body, last_body)
            ):
                merged[-1] = (
                    RangeAddress(
                        last.sheet, last.min_row, last.min_col, output.max_row, last.max_col
                    ),
                    body,
                )
                continue
        merged.append((output, body))
    for output, body in merged:
        if groupable(body):
            units.append(Unit(len(units), body, output, False))
        else:
            units.extend(
                Unit(len(units) + k, body, RangeAddress.from_cell(cell), False)
                for k, cell in enumerate(output.cells())
            )
    return units


def _stack_arrays(arrays: list[tuple[RangeAddress, Node]]):
    """Join one-row array formulas copied down consecutive rows: (block, body, how many)."""
    arrays = sorted(arrays, key=lambda item: (item[0].sheet, item[0].min_col, item[0].min_row))
    joined: list[list] = []
    for ref, body in arrays:
        if joined:
            last, last_body, count = joined[-1]
            if (
                ref.shape[0] == 1
                and last.shape[0] == count
                and ref.sheet == last.sheet
                and (ref.min_col, ref.max_col) == (last.min_col, last.max_col)
                and ref.min_row == last.max_row + 1
                and _groupable(body)
                and _same(body, last_body)
            ):
                grown = RangeAddress(
                    ref.sheet, last.min_row, last.min_col, ref.max_row, last.max_col
                )
                joined[-1] = [grown, last_body, count + 1]
                continue
        joined.append([ref, body, 1])
    return [tuple(item) for item in joined]


def _same(a: Node, b: Node) -> bool:
    return a is b or a == b


def _groupable(body: Node) -> bool:
    """False when a range has one end anchored and one moving (``SUM($A$1:A5)``): its size
    changes from row to row, so the cells cannot share one (rows, cols) block shape."""
    return all(
        ref.row1.absolute == ref.row2.absolute for ref in walk(body) if isinstance(ref, BoundRef)
    )


def _split(unit: Unit, index: int) -> list[Unit]:
    out = unit.output
    if unit.stacked:  # back to one array formula per row
        return [
            Unit(
                index + k,
                unit.body,
                RangeAddress(out.sheet, row, out.min_col, row, out.max_col),
                True,
            )
            for k, row in enumerate(range(out.min_row, out.max_row + 1))
        ]
    return [
        Unit(index + k, unit.body, RangeAddress.from_cell(cell), False)
        for k, cell in enumerate(out.cells())
    ]


def _with_deps(units: list[Unit], extra_reads: Mapping[CellAddress, Sequence[RangeAddress]]):
    """Fill `reads` (per reference, the rectangle the whole unit reads) and `deps`."""
    index = UnitIndex(units)
    done = []
    for unit in units:
        reads: list[RangeAddress] = [
            rng
            for cell, found in extra_reads.items()
            if unit.output.contains(cell)
            for rng in found
        ]
        deps = {i for rng in reads for i in index.overlapping(rng)}
        first, last = unit.output.min_row, unit.output.min_row + unit.length - 1
        col = unit.output.min_col
        for ref in unit.refs():
            a, b = ref.at(first, col), ref.at(last, col)
            rng = RangeAddress(
                a.sheet,
                min(a.min_row, b.min_row),
                min(a.min_col, b.min_col),
                max(a.max_row, b.max_row),
                max(a.max_col, b.max_col),
            )
            reads.append(rng)
            deps |= index.overlapping(rng)
        done.append(
            Unit(
                unit.index,
                unit.body,
                unit.output,
                unit.is_array,
                tuple(reads),
                tuple(sorted(deps)),
                unit.stacked,
            )
        )
    return done


# -- ordering -----------------------------------------------------------------------------------


def _order(
    units: list[Unit], extra_reads: Mapping[CellAddress, Sequence[RangeAddress]], tolerant: bool
) -> tuple[list[Unit], list[list[int]]]:
    """Topological order (Kahn); split runs caught in cycles, then report real cycles.

    Tolerant: real cycles are not raised; their units (and what hangs below them) come last,
    and the cyclic groups are returned beside the order.
    """
    while True:
        units = _with_deps(units, extra_reads)
        order, stuck = _kahn(units)
        if not stuck:
            return [units[i] for i in order], []
        cyclic = _trim_sinks(units, stuck)
        splittable = [i for i in cyclic if units[i].length > 1]
        if not splittable and tolerant:
            return _cycles_last(units, order, stuck, cyclic)
        if not splittable:
            raise _circular_error(units, cyclic)
        rebuilt: list[Unit] = []
        split_set = set(splittable)
        for unit in units:
            if unit.index in split_set:
                rebuilt.extend(_split(unit, len(rebuilt)))
            else:
                rebuilt.append(
                    Unit(len(rebuilt), unit.body, unit.output, unit.is_array, stacked=unit.stacked)
                )
        units = rebuilt


def _cycles_last(
    units: list[Unit], order: list[int], stuck: set[int], cyclic: set[int]
) -> tuple[list[Unit], list[list[int]]]:
    """The acyclic order, then the cyclic units in cell order, then the units below them.

    Units below a cycle come in an order that respects their dependencies outside the cycle
    (Kahn again, with the cyclic units' edges taken as satisfied).
    """
    groups = _components(units, cyclic)
    tail_units = sorted(cyclic, key=lambda i: units[i].anchor)
    below = stuck - cyclic
    done = set(order) | cyclic
    rest: list[int] = []
    pending = sorted(below, key=lambda i: units[i].anchor)
    while pending:
        ready = [i for i in pending if all(d in done for d in units[i].deps)]
        if not ready:  # another cycle downstream was trimmed with the sinks: keep cell order
            ready = pending[:1]
        for i in ready:
            done.add(i)
            rest.append(i)
        pending = [i for i in pending if i not in done]
    return [units[i] for i in (*order, *tail_units, *rest)], groups


def _components(units: list[Unit], cyclic: set[int]) -> list[list[int]]:
    """The cyclic units grouped by which are connected through dependencies (undirected)."""
    parent = {i: i for i in cyclic}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in cyclic:
        for dep in units[i].deps:
            if dep in cyclic:
                parent[root(i)] = root(dep)
    groups: dict[int, list[int]] = {}
    for i in sorted(cyclic, key=lambda i: units[i].anchor):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _kahn(units: list[Unit]) -> tuple[list[int], set[int]]:
    dependents: list[list[int]] = [[] for _ in units]
    missing = [0] * len(units)
    for unit in units:
        for dep in unit.deps:
            dependents[dep].append(unit.index)
            missing[unit.index] += 1
    ready = deque(i for i, count in enumerate(missing) if count == 0)
    order = []
    while ready:
        i = ready.popleft()
        order.append(i)
        for j in dependents[i]:
            missing[j] -= 1
            if missing[j] == 0:
                ready.append(j)
    return order, {i for i, count in enumerate(missing) if count > 0}


def _trim_sinks(units: list[Unit], stuck: set[int]) -> set[int]:
    """Drop units that only sit downstream of a cycle; what stays lies on (or between) cycles."""
    alive = set(stuck)
    users = {i: 0 for i in alive}
    for i in alive:
        for dep in units[i].deps:
            if dep in alive:
                users[dep] += 1
    sinks = deque(i for i, n in users.items() if n == 0)
    while sinks:
        i = sinks.popleft()
        alive.discard(i)
        for dep in units[i].deps:
            if dep in alive:
                users[dep] -= 1
                if users[dep] == 0:
                    sinks.append(dep)
    return alive


def _circular_error(units: list[Unit], cyclic: set[int]) -> CircularReferenceError:
    """Walk dependencies inside the cyclic set until a unit repeats; name that loop."""
    start = min(cyclic, key=lambda i: units[i].anchor)
    path, seen = [start], {start: 0}
    while True:
        nxt = next(dep for dep in units[path[-1]].deps if dep in cyclic)
        if nxt in seen:
            loop = path[seen[nxt] :] + [nxt]
            break
        seen[nxt] = len(path)
        path.append(nxt)
    names = " → ".join(str(units[i].anchor) for i in loop)
    return CircularReferenceError(
        located(str(units[loop[0]].anchor), f"circular reference: {names}")
    )
