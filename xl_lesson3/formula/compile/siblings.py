"""Sibling SUMPRODUCT columns → one matrix product whose columns feed every sibling.

A spreadsheet neural net writes its k hidden units as k columns of the same formula shape,
``=SUMPRODUCT(G6:P6,$G$2:$P$2)``, ``=SUMPRODUCT(G6:P6,$G$3:$P$3)``, ...: each column reads the
same input rows against its own row (or column) of one parameter block. Lowered one unit at a
time that is k products of (batch, K) × (K, rows), each with its own parameter read; a
hand-written model computes them as one ``X · Wᵀ``. Here units are grouped when they

- are plain (not array) runs of the same rows, each ``SUMPRODUCT(a, b)`` of two references;
- read *the same cells* on their per-row side (the same rows and columns, whatever the R1C1
  offsets that name them) and, on the other side, one anchored rectangle of the same size each;
- depend on nothing computed after the first of them (so all can run at its place).

The group runs as one read of the stacked weights (a view of the parameters when the block is
laid out in rows or in columns, else one gather), one ``mm``/``matmul`` and one ``unbind`` that
hands each unit its column. Whenever a block is not plain numbers of one dtype (an error, text,
a blank or a boolean among the inputs) the group falls back, at that call, to each unit's own
general lowering, so values, error values and gradients stay those of the unfused program.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch

from xl_lesson3.formula.compile.gather import DynamicSources
from xl_lesson3.formula.compile.interpret import Dynamic, Env, UnitContext, ref_indices
from xl_lesson3.formula.functions.core import registry
from xl_lesson3.formula.parse.ast import BoundRef, Call
from xl_lesson3.formula.plan.units import Unit
from xl_lesson3.formula.values import Block

Run = Callable[[Env], Block]


@dataclass(frozen=True)
class _Candidate:
    unit: Unit
    per_row: BoundRef  # the side that moves with the row (the inputs)
    anchored: BoundRef  # the side that is the same for every row (the weights)
    key: tuple  # units with equal keys read the same inputs against same-sized weights


def sibling_groups(
    units: Sequence[Unit], dynamic: set[int], context: Callable[[Unit], UnitContext]
) -> list[list[_Candidate]]:
    """Groups (two or more, in plan order) of dynamic units that can share one product."""
    buckets: dict[tuple, list[_Candidate]] = {}
    for unit in units:
        if unit.index in dynamic and (found := _candidate(unit, context(unit))) is not None:
            buckets.setdefault(found.key, []).append(found)
    groups = []
    for members in buckets.values():
        first = members[0].unit.index
        # Every member runs where the first one does: nothing it reads may come later.
        kept = [m for m in members if all(dep < first for dep in m.unit.deps)]
        if len(kept) >= 2 and kept[0].unit.index == first:
            groups.append(kept)
    return groups


def _candidate(unit: Unit, ctx: UnitContext) -> _Candidate | None:
    body = unit.body
    if unit.is_array or unit.length < 2 or not isinstance(body, Call) or len(body.args) != 2:
        return None
    if not all(isinstance(arg, BoundRef) for arg in body.args):
        return None
    if not registry.is_supported(body.name) or registry.lookup(body.name).name != "SUMPRODUCT":
        return None
    indices = [ref_indices(arg, ctx) for arg in body.args]
    moving = [rows.shape[0] == unit.length for rows, _ in indices]
    if moving[0] == moving[1]:
        return None
    i = 0 if moving[0] else 1
    (rows, cols), (w_rows, w_cols) = indices[i], indices[1 - i]
    if (rows.shape[1], len(cols)) != (w_rows.shape[1], len(w_cols)):
        return None  # SUMPRODUCT of differently shaped ranges is #VALUE!: leave it alone
    per_row, anchored = body.args[i], body.args[1 - i]
    key = (
        unit.output.sheet,
        unit.output.min_row,
        unit.length,
        per_row.sheet,
        rows.tobytes(),
        rows.shape,
        cols.tobytes(),
        anchored.sheet,
    )
    return _Candidate(unit, per_row, anchored, key)


def fuse_siblings(
    group: list[_Candidate],
    sources: DynamicSources,
    context: Callable[[Unit], UnitContext],
    fallbacks: Sequence[Run],
    plain: set[int],
) -> tuple[Callable[[Env], None], bool] | None:
    """(one runner computing every member's output into ``env.outputs``, whether compile time
    proves it plain: `plain` holds the units known to hold numbers only). None when the weights
    cannot be read as one block (the members then run one by one, as before)."""
    contexts = [replace(context(m.unit), in_array=True) for m in group]  # SUMPRODUCT's args
    stacked = sources.resolve_stacked(
        [(m.anchored, c) for m, c in zip(group, contexts, strict=True)]
    )
    if stacked is None:
        return None
    weights, transposed = stacked
    k, rows = len(group), group[0].unit.length
    x_plain = sources.resolve_plain(group[0].per_row, contexts[0], plain)
    w_plain = _plain_weights(weights, sources, plain, transposed, k)
    if x_plain is not None and w_plain is not None:
        product = _SiblingProduct(
            tuple(m.unit.index for m in group), _runner(x_plain), w_plain, transposed, rows, ()
        )
        return product.run_plain, True
    inputs = sources.resolve(group[0].per_row, contexts[0])
    if not isinstance(inputs, Dynamic):
        inputs = contexts[0].lift(inputs)
    if not isinstance(weights, Block):
        weights = Dynamic(weights.run)
    blocks = [_runner(inputs), _runner(weights)]
    product = _SiblingProduct(
        tuple(m.unit.index for m in group), *blocks, transposed, rows, tuple(fallbacks)
    )
    return product.run, False


def _plain_weights(weights, sources: DynamicSources, plain: set[int], transposed: bool, k: int):
    """A reader of the stacked weights' numbers as (b·k, K) (or (b, K, k) transposed), or None
    when they may hold something else."""
    if isinstance(weights, Block):
        if weights.err is not None or weights.kind is not None or weights.text is not None:
            return None
        return weights.num.reshape(-1, k) if transposed else weights.num.reshape(k, -1)  # (k, K)
    if not sources.is_plain(weights, plain):
        return None
    cells = weights.size // k  # K
    return weights.plain_reader((cells, k) if transposed else (cells,))


def _runner(value) -> Callable:
    if isinstance(value, Dynamic):
        return value.run
    if callable(value):
        return value
    return lambda env: value


class _SiblingProduct:
    """Runs a group: inputs (b|1, n, R, C) · weights (b|1, 1, k, K) (or (…, K, k) transposed)."""

    def __init__(self, indices, inputs, weights, transposed, rows, fallbacks) -> None:
        self.indices = indices
        self.inputs = inputs
        self.weights = weights
        self.transposed = transposed
        self.rows = rows
        self.fallbacks = fallbacks
        self.k = len(indices)
        self._cached: tuple[torch.Tensor | None, torch.Tensor | None] = (None, None)

    def _inputs_t(self, num: torch.Tensor) -> torch.Tensor:
        """(K, n) for constant inputs (the same tensor every call): transposed once."""
        if self._cached[0] is not num:
            self._cached = (num, num.reshape(self.rows, -1).T)
        return self._cached[1]

    def run_plain(self, env: Env) -> None:
        """Inputs and weights proven to be numbers: no checks."""
        outputs = env.outputs
        x, w = self.inputs(env), self.weights(env)
        for index, column in zip(self.indices, self._product(x, w), strict=True):
            outputs[index] = Block(column)

    def run(self, env: Env) -> None:
        x_block, w_block = self.inputs(env), self.weights(env)
        x, w = x_block.num, w_block.num
        outputs = env.outputs
        if (
            x_block.err is None
            and w_block.err is None
            and x_block.kind is None
            and w_block.kind is None
            and x_block.text is None
            and w_block.text is None
            and x.dtype == w.dtype
        ):
            for index, column in zip(self.indices, self._product(x, w), strict=True):
                outputs[index] = Block(column)
            return
        for index, fallback in zip(self.indices, self.fallbacks, strict=True):
            outputs[index] = fallback(env)

    def _product(self, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Each unit's (batch, n, 1, 1) column of inputs · weightsᵀ.

        x: (b|1, n, R, C); w: (b|1, ..., k, K) (or (b|1, ..., K, k) transposed) in any
        batch-first layout of those cells."""
        n, k = self.rows, self.k
        cells = x.shape[-2] * x.shape[-1]  # K
        if not self.transposed and x.shape[0] == 1:  # (b·k, K) @ (K, n): one mm
            if w.ndim != 2 or w.shape[1] != cells:
                w = w.reshape(-1, cells)
            hidden = torch.mm(w, self._inputs_t(x))
            return hidden.view(-1, k, n, 1, 1).unbind(1)
        x = x.reshape(n, cells) if x.shape[0] == 1 else x.reshape(x.shape[0], n, cells)
        if self.transposed:
            w = w.reshape(-1, cells, k)  # (b, K, k)
        else:
            w = w.reshape(-1, k, cells).transpose(1, 2)  # (b, k, K) → (b, K, k)
        hidden = x @ w  # (b, n, k)
        return hidden.view(-1, n, k, 1, 1).unbind(2)
