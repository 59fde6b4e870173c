"""What the array-shaping functions share: reading their count arguments, and one gather.

VSTACK, TAKE, TOCOL, WRAPROWS, SORTBY... only move cells around. Each decides, per cell of a
run, a *layout*: for every output cell, which input cell it shows (a row-major position in the
inputs laid end to end) or which error code. The decision reads the count arguments and, for
TOCOL's ``ignore`` or SORTBY's keys, the cells' values; those must be the same for every solver
restart (a result's shape cannot vary within one batch). The values themselves then move with
one differentiable gather (`lookups.take`), so gradients reach the cells a layout picks.

Cells of a run may get results of different shapes (``=TAKE(A1:C9,B1)`` copied down): each is
padded with ``#N/A`` to the largest, which is what an array range larger than its result shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from xl_lesson3.errors import EvaluationError
from xl_lesson3.formula.functions.core.shapes import text_array
from xl_lesson3.formula.functions.lookup.lookups import _numbers, take
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError, Kind

OMITTED = None  # an optional argument left out (trailing, or empty as in ``TAKE(x,,2)``)


@dataclass(frozen=True)
class Layout:
    """One result: ``flat`` (R, C) positions into the joined inputs, ``err`` (R, C) codes that
    replace them where non-zero."""

    flat: np.ndarray
    err: np.ndarray

    @classmethod
    def of(cls, flat: np.ndarray) -> Layout:
        flat = np.asarray(flat, dtype=np.int64)
        return cls(flat, np.zeros(flat.shape, dtype=np.int8))

    @classmethod
    def error(cls, code: ErrorCode) -> Layout:
        return cls(np.zeros((1, 1), dtype=np.int64), np.full((1, 1), int(code), dtype=np.int8))


def run_length(*blocks: Block | None) -> int:
    """How many cells of a run the arguments describe (1 when all are constants)."""
    return max((b.num.shape[1] for b in blocks if b is not None), default=1)


def is_omitted(block: Block | None) -> bool:
    """An argument left out: absent, or an empty argument (a blank that is not a cell)."""
    if block is None:
        return True
    if block.from_reference or not block.is_scalar or block.kind is None:
        return False
    return bool((block.kind == int(Kind.BLANK)).all()) and block.err is None


def same_over_batch(array: np.ndarray, what: str) -> np.ndarray:
    """``array[0]`` (N, ...), after checking every solver restart agrees."""
    if array.shape[0] > 1 and not (array == array[:1]).all():
        raise EvaluationError(f"{what} differ between solver restarts; a result's shape cannot")
    return array[0]


def counts(block: Block | None, run: int, what: str) -> list[float | ExcelError | None]:
    """A scalar numeric argument per cell of the run: a number (as arithmetic reads it: text
    ``"1.1"`` is 1.1, TRUE 1, a blank cell 0), its error, or `OMITTED`."""
    if is_omitted(block):
        return [OMITTED] * run
    values, err = _numbers(block, 0.0)
    values = same_over_batch(values[..., 0, 0], what)  # (N,)
    err = same_over_batch(err[..., 0, 0], what)
    out: list[float | ExcelError | None] = []
    for n in range(run):
        i = min(n, len(values) - 1)
        out.append(ExcelError(ErrorCode(int(err[i]))) if err[i] else float(values[i]))
    return out


def first_error(*values: object) -> ExcelError | None:
    """The leftmost error among one cell's arguments (Excel reports the first)."""
    return next((v for v in values if isinstance(v, ExcelError)), None)


def errors_and_blanks(block: Block, run: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Per cell of the run, (N, R, C) error codes and a blank mask of the block's cells."""
    shape = (block.num.shape[0], block.num.shape[1], *block.shape)
    err = np.zeros(shape, dtype=np.int8)
    if block.err is not None:
        err = np.broadcast_to(block.err.cpu().numpy(), shape)
    blank = np.zeros(shape, dtype=bool)
    if block.kind is not None:
        blank = np.broadcast_to(block.kind.cpu().numpy() == int(Kind.BLANK), shape)
    err, blank = same_over_batch(err, what), same_over_batch(blank, what)
    target = (run, *block.shape)
    return np.broadcast_to(err, target), np.broadcast_to(blank, target)


def joined(blocks: list[Block]) -> tuple[Block, list[int]]:
    """The blocks' cells end to end in one row, ``(B, N, 1, total)``, and where each starts."""
    batch = max(b.num.shape[0] for b in blocks)
    run = max(b.num.shape[1] for b in blocks)
    starts, total = [], 0
    for block in blocks:
        starts.append(total)
        total += block.shape[0] * block.shape[1]

    def flat(block: Block, tensor: torch.Tensor | None, dtype) -> torch.Tensor:
        rows, cols = block.shape
        if tensor is None:
            tensor = torch.zeros((1, 1, 1, 1), dtype=dtype, device=blocks[0].num.device)
        return tensor.expand(batch, run, rows, cols).reshape(batch, run, 1, rows * cols)

    def cat(get, dtype) -> torch.Tensor | None:
        if all(get(b) is None for b in blocks):
            return None
        return torch.cat([flat(b, get(b), dtype) for b in blocks], dim=-1)

    text = None
    if any(b.text is not None for b in blocks):
        parts = [np.broadcast_to(text_array(b), (run, *b.shape)).reshape(run, 1, -1)
                 for b in blocks]  # fmt: skip
        text = np.concatenate(parts, axis=-1)
    dtype = blocks[0].num.dtype
    num = torch.cat([flat(b, b.num.to(dtype), dtype) for b in blocks], dim=-1)
    source = Block(
        num, err=cat(lambda b: b.err, torch.int8), kind=cat(lambda b: b.kind, torch.int8), text=text
    )
    return source, starts


def assemble(source: Block, layouts: list[Layout]) -> Block:
    """The run's results from `source` (see `joined`), one layout per cell of the run, each
    padded with #N/A to the largest."""
    rows = max(layout.flat.shape[0] for layout in layouts)
    cols = max(layout.flat.shape[1] for layout in layouts)
    flat = np.zeros((len(layouts), rows, cols), dtype=np.int64)
    err = np.full((len(layouts), rows, cols), int(ErrorCode.NA), dtype=np.int8)
    for n, layout in enumerate(layouts):
        r, c = layout.flat.shape
        flat[n, :r, :c] = layout.flat
        err[n, :r, :c] = layout.err
    return take(source, flat[None], err[None])  # one layout (N = 1) serves every cell


def error_block(code: ErrorCode, like: Block) -> Block:
    return Block.error(code, dtype=like.num.dtype, device=like.num.device)
