"""Reading references inside a compiled program: constants, parameters and other units' cells.

A reference in a dynamic unit may mix cells of several kinds: constants (folded into the grid),
variable cells (columns of ``params``) and cells computed by earlier dynamic units. Everything
about *which* cell comes from where is worked out once, at compile time, into one index vector;
at run time a reference costs one ``cat`` of its sources and one ``index_select`` (or nothing at
all when it reads exactly one earlier unit's output in order, the common ``[@Relu1]`` case).
Either way the cost does not depend on how many rows the run has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from xl_lesson3.formula.compile.interpret import Dynamic, Env, UnitContext, ref_indices
from xl_lesson3.formula.evaluate.grid import ValueGrid
from xl_lesson3.formula.parse.ast import BoundRef
from xl_lesson3.formula.plan.units import Unit
from xl_lesson3.formula.scalars import Kind
from xl_lesson3.formula.values import Block
from xl_lesson3.workbook.address import CellAddress

PARAMS = 0  # source id of the parameter vector; unit u is source u + 1


class DynamicSources:
    """Where each cell on a path from the variables comes from (per sheet: source id, position)."""

    def __init__(self, grid: ValueGrid, variables: Sequence[CellAddress], units: Sequence[Unit]):
        self.grid = grid
        self.ids: dict[str, np.ndarray] = {}
        self.positions: dict[str, np.ndarray] = {}
        self.sizes: dict[int, int] = {PARAMS: len(variables)}
        for i, cell in enumerate(variables):
            self._mark(
                cell.sheet,
                slice(cell.row, cell.row + 1),
                slice(cell.col, cell.col + 1),
                PARAMS,
                np.array([[i]]),
            )
        for unit in units:
            out = unit.output
            source = unit.index + 1
            self.sizes[source] = out.size
            positions = np.arange(out.size).reshape(out.shape)
            self._mark(
                out.sheet,
                slice(out.min_row, out.max_row + 1),
                slice(out.min_col, out.max_col + 1),
                source,
                positions,
            )

    def _mark(self, sheet: str, rows: slice, cols: slice, source: int, positions) -> None:
        shape = self.grid.sheets[sheet].num.shape
        if sheet not in self.ids:
            self.ids[sheet] = np.full(shape, -1, dtype=np.int32)
            self.positions[sheet] = np.zeros(shape, dtype=np.int64)
        self.ids[sheet][rows, cols] = source
        self.positions[sheet][rows, cols] = positions

    def resolve(self, ref: BoundRef, ctx: UnitContext) -> Block | Dynamic:
        """The reference's block: a constant when it reads no dynamic cell, else a gather."""
        value = self._reference(ref, ctx)
        return value if isinstance(value, Block) else Dynamic(value.run)

    def _reference(self, ref: BoundRef, ctx: UnitContext) -> Block | _Gather:
        rows, cols = ref_indices(ref, ctx)
        const = self.grid.gather(ref.sheet, rows, cols)
        ids_sheet = self.ids.get(ref.sheet)
        if ids_sheet is None:
            return const
        _, r, c = self.grid.indices(ref.sheet, rows, cols)
        ids = ids_sheet[r[:, :, None], c[None, None, :]]  # (n', R, C)
        if (ids < 0).all():
            return const
        positions = self.positions[ref.sheet][r[:, :, None], c[None, None, :]]
        return _Gather.build(const, ids, positions, self.sizes, ctx)

    def resolve_plain(
        self, ref: BoundRef, ctx: UnitContext, plain: set[int], any_layout: bool = False
    ) -> torch.Tensor | Callable[[Env], torch.Tensor] | None:
        """The reference's numbers alone, when compile time proves it holds nothing else: a
        constant tensor (no error, text, blank or boolean among its cells), or a reader of
        the parameters and of units in `plain` (whose outputs are numbers by construction).
        None otherwise (the general `resolve` is then the one to use). `any_layout`: the cells
        may come in another (batch-first, 4-D) shape, for a reduction over all of them."""
        gather = self._reference(ref, ctx)
        if isinstance(gather, Block):
            if gather.err is not None or gather.kind is not None or gather.text is not None:
                return None
            return ctx.lift(gather).num
        if not self.is_plain(gather, plain):
            return None
        source = gather.sources[0] if gather.sources else PARAMS
        # A plain unit is a run: its output is (batch, length, 1, 1), known now.
        if (
            gather.mode == "same"
            and source != PARAMS
            and (any_layout or gather.shape == (self.sizes[source], 1, 1))
        ):
            return lambda env: env.outputs[source - 1].num
        return gather.plain_reader(() if any_layout else None)

    def is_plain(self, gather: _Gather, plain: set[int]) -> bool:
        """True when `gather` reads only numbers: parameters, units in `plain`, and constant
        cells without error, text, blank or boolean."""
        return (
            gather.const_err is None
            and gather.const_kind is None
            and gather.text is None
            and all(source == PARAMS or source - 1 in plain for source in gather.sources)
        )

    def resolve_stacked(
        self, parts: Sequence[tuple[BoundRef, UnitContext]]
    ) -> tuple[Block | _Gather, bool] | None:
        """Several anchored references of K cells each, one per sibling unit, read as one
        (batch, 1, k, K) block, or (batch, 1, K, k) when that layout is a plain view of its
        source (a parameter block whose units are columns): (value, transposed).

        None when a reference moves with the row or holds text (the siblings stay apart).
        """
        ids, positions, nums, errs, kinds = [], [], [], [], []
        sheet = parts[0][0].sheet
        for ref, ctx in parts:
            rows, cols = ref_indices(ref, ctx)
            if rows.shape[0] != 1 or ref.sheet != sheet:
                return None
            grid, r, c = self.grid.indices(sheet, rows, cols)
            rc = (r[:, :, None], c[None, None, :])
            if (grid.kind[rc] == Kind.TEXT).any():
                return None
            nums.append(grid.num[rc].reshape(-1))
            errs.append(grid.err[rc].reshape(-1))
            kinds.append(grid.kind[rc].reshape(-1))
            ids_sheet = self.ids.get(sheet)
            if ids_sheet is None:
                ids.append(np.full(nums[-1].shape, -1, dtype=np.int32))
                positions.append(np.zeros(nums[-1].shape, dtype=np.int64))
            else:
                ids.append(ids_sheet[rc].reshape(-1))
                positions.append(self.positions[sheet][rc].reshape(-1))
        if len({len(n) for n in nums}) != 1:
            return None
        stacked = [np.stack(a) for a in (ids, positions, nums, errs, kinds)]  # each (k, K)
        ctx = parts[0][1]
        choice = None
        for transposed in (False, True):
            ids_t, pos_t, num, err, kind = (a.T if transposed else a for a in stacked)
            const = Block(
                torch.from_numpy(np.ascontiguousarray(num))[None, None],
                err=torch.from_numpy(np.ascontiguousarray(err))[None, None] if err.any() else None,
                kind=torch.from_numpy(np.ascontiguousarray(kind))[None, None]
                if kind.any()
                else None,
                from_reference=True,
            )
            if (ids_t < 0).all():
                return ctx.lift(const), transposed
            gather = _Gather.build(const, ids_t[None], pos_t[None], self.sizes, ctx)
            if choice is None or gather.mode != "general":
                choice = (gather, transposed)
            if gather.mode != "general":
                break
        return choice


@dataclass
class _Gather:
    """One reference's run-time read: cat(constant part, sources...)[index] → (b, n', R, C).

    How to assemble it is decided once, when it is built (`build`), into one of three modes:
    ``same`` (the reference reads exactly one earlier unit's output in order: its block as is),
    ``slice`` (one contiguous stretch of a single source, such as a row of parameters: a view)
    and ``general`` (concatenate the parts, then one ``index_select``).
    """

    shape: tuple[int, ...]  # (n', R, C)
    sources: list[int]
    index: torch.Tensor | None  # None: the concatenation is already in order
    const_num: torch.Tensor | None  # (1, N) or None when no cell is constant
    const_err: torch.Tensor | None
    const_kind: torch.Tensor | None
    text: np.ndarray | None
    mode: str = "general"
    start: int = 0  # "slice": first flat position read from the source

    @property
    def size(self) -> int:
        """Cells the reference reads."""
        n, rows, cols = self.shape
        return n * rows * cols

    @classmethod
    def build(cls, const: Block, ids, positions, sizes, ctx: UnitContext) -> _Gather:
        flat_ids, flat_pos = ids.reshape(-1), positions.reshape(-1)
        n_cells = flat_ids.size
        is_const = flat_ids < 0
        sources = sorted(int(s) for s in np.unique(flat_ids[~is_const]))
        offsets, start = {}, (n_cells if is_const.any() else 0)
        for source in sources:
            offsets[source] = start
            start += sizes[source]
        offset_of = np.zeros(max(sources, default=0) + 2, dtype=np.int64)  # source + 1 → offset
        for source, offset in offsets.items():
            offset_of[source + 1] = offset
        index = np.where(is_const, np.arange(n_cells), offset_of[flat_ids + 1] + flat_pos)
        single = not is_const.any() and len(sources) == 1
        in_order = (
            single and sizes[sources[0]] == n_cells and bool((index == np.arange(n_cells)).all())
        )
        stretch = single and bool((np.diff(index) == 1).all())
        device, dtype = ctx.device, ctx.dtype

        def flat(t: torch.Tensor | None, as_dtype) -> torch.Tensor | None:
            if t is None or not is_const.any():
                return None
            return t.expand(const.num.shape).reshape(1, -1).to(device=device, dtype=as_dtype)

        text = None
        if const.text is not None:
            text = np.array(const.text, dtype=object).reshape(-1)
            text[~is_const] = None
            text = text.reshape(ids.shape)
        return cls(
            shape=tuple(ids.shape),
            sources=sources,
            index=None if in_order else torch.as_tensor(index, device=device),
            const_num=flat(const.num, dtype) if is_const.any() else None,
            const_err=flat(const.err, torch.int8),
            const_kind=flat(const.kind, torch.int8),
            text=text,
            mode="same" if in_order else ("slice" if stretch else "general"),
            start=int(index[0]) if n_cells else 0,
        )

    def run(self, env: Env) -> Block:
        if self.mode == "same":
            return self._same(env)
        elif self.mode == "slice":
            return self._slice(env)
        batch = env.batch
        blocks = [_source_block(env, source) for source in self.sources]
        num = self._assemble(batch, self.const_num, [b.num for b in blocks], blocks)
        err = kind = None
        if self.const_err is not None or any(b.err is not None for b in blocks):
            err = self._assemble(batch, self.const_err, [b.err for b in blocks], blocks)
        if self.const_kind is not None or any(b.kind is not None for b in blocks):
            kind = self._assemble(batch, self.const_kind, [b.kind for b in blocks], blocks)
        return Block(num, err=err, kind=kind, text=self.text, from_reference=True)

    def plain_reader(self, shape: tuple[int, ...] | None = None) -> Callable[[Env], torch.Tensor]:
        """`run`'s numbers alone, for sources known to hold no masks (see `resolve_plain`),
        reshaped to (-1, *shape) (default: (batch, n', R, C); a shape whose size is a part of
        the reference's merges restarts into the first dimension); ``shape=()`` leaves an
        earlier unit's output in its own shape (for a reduction over all its cells)."""
        size, start = self.size, self.start
        source = self.sources[0] if self.sources else PARAMS
        if shape is None or (shape == () and (self.mode != "same" or source == PARAMS)):
            shape = self.shape
        # reshape, not view: a shape that merges restarts with cells (a weight matrix of
        # restarts x units rows) is a view of contiguous parameters, a copy of a narrowed part.
        if self.mode == "same" and source == PARAMS:
            return lambda env: env.params.reshape(-1, *shape)
        if self.mode == "slice" and source == PARAMS:
            return lambda env: env.params.narrow(1, start, size).reshape(-1, *shape)
        if self.mode == "same":
            index = source - 1
            if shape == ():
                return lambda env: env.outputs[index].num

            def same(env: Env) -> torch.Tensor:
                num = env.outputs[index].num
                return num if num.shape[1:] == shape else num.reshape(-1, *shape)

            return same
        if self.sources == [PARAMS] and self.const_num is None and self.index is not None:
            index = self.index  # parameters in another order: one index_select
            return lambda env: env.params.index_select(1, index).reshape(-1, *shape)
        return lambda env: self.run(env).num.reshape(-1, *shape)

    def _same(self, env: Env) -> Block:
        """Exactly one earlier unit's output, in order: its block, reshaped when the reference
        reads it in another shape (a column of a run read as one range, ``AVERAGE(V6:V717)``)."""
        block = _source_block(env, self.sources[0])
        if block.num.shape[1:] == self.shape:
            return Block(
                block.num, err=block.err, kind=block.kind, text=self.text, from_reference=True
            )
        cells = block.num.shape[1:]

        def reshaped(t: torch.Tensor | None) -> torch.Tensor | None:
            if t is None:
                return None
            if t.shape[1:] != cells:  # a mask broadcast over the run: spell it out first
                t = t.expand(t.shape[0], *cells)
            return t.reshape(-1, *self.shape)

        return Block(
            reshaped(block.num),
            err=reshaped(block.err),
            kind=reshaped(block.kind),
            text=self.text,
            from_reference=True,
        )

    def _slice(self, env: Env) -> Block:
        """A contiguous stretch of one source: views, no copy (the usual row of parameters)."""
        source, size = self.sources[0], self.size
        if source == 0:  # the parameters: (batch, n_vars), no masks
            num = env.params.narrow(1, self.start, size)
            return Block(num.view(-1, *self.shape), text=self.text, from_reference=True)
        block = env.outputs[source - 1]

        def take(t: torch.Tensor | None) -> torch.Tensor | None:
            if t is None:
                return None
            full = t.expand(t.shape[0], *block.num.shape[1:]).reshape(t.shape[0], -1)
            return full.narrow(1, self.start, size).view(-1, *self.shape)

        return Block(
            take(block.num),
            err=take(block.err),
            kind=take(block.kind),
            text=self.text,
            from_reference=True,
        )

    def _assemble(self, batch: int, const, parts: list, blocks: list[Block]) -> torch.Tensor:
        """cat(constant part, each source flattened)[index], viewed as (batch, n', R, C).

        A source without an err/kind mask contributes zeros (no error, a number).
        """
        pieces = []
        if self.const_num is not None:
            n_const = self.const_num.shape[1]
            pieces.append(
                const.expand(batch, n_const)
                if const is not None
                else torch.zeros((batch, n_const), dtype=torch.int8, device=self.const_num.device)
            )
        for part, block in zip(parts, blocks, strict=True):
            shape = (batch, *block.num.shape[1:])
            if part is None:
                size = block.num[0].numel()
                pieces.append(torch.zeros((batch, size), dtype=torch.int8, device=block.num.device))
            else:
                pieces.append(part.expand(shape).reshape(batch, -1))
        values = pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=1)
        if self.index is not None:
            values = values.index_select(1, self.index)
        return values.view(batch, *self.shape)


def _source_block(env: Env, source: int) -> Block:
    if source == 0:
        params = env.params
        return Block(params.view(params.shape[0], 1, 1, -1))
    return env.outputs[source - 1]


class _OpCounter(TorchFunctionMode):
    """Counts the torch functions and tensor methods run inside it (property reads excluded).

    A torch-function mode rather than a dispatch mode: the latter imports torch._dynamo on first
    use, which costs seconds.
    """

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") != "__get__":
            self.count += 1
        return func(*args, **(kwargs or {}))


def count_ops(fn: Callable, *args):
    """Run ``fn(*args)`` and count its torch operations; returns (result, count)."""
    with _OpCounter() as counter:
        result = fn(*args)
    return result, counter.count
