"""Excel's array shape rule and error bookkeeping, shared by every function.

Broadcasting (Excel's "array rule") works on the last two dims, ``(rows, cols)``: a 1-row or
1-column operand is repeated to fit the other (torch's own broadcasting does exactly that), and
where both operands are larger than 1 but differ, the result takes the larger size and every cell
outside the overlap is ``#N/A``. The leading ``(batch, run)`` dims broadcast as torch does.

Errors travel as int8 codes (`ErrorCode`, 0 = none). Excel keeps the *first* error it meets:
the left operand's before the right's, and in a range the first cell in row-major order.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from xl_lesson3.formula.values import Block, ErrorCode, Kind

ERR_DTYPE = torch.int8


def error_where(mask: torch.Tensor, code: ErrorCode) -> torch.Tensor:
    """An int8 error tensor holding `code` where `mask` is true and 0 elsewhere."""
    return mask.to(ERR_DTYPE) * int(code)


def merge_errors(*errs: torch.Tensor | None) -> torch.Tensor | None:
    """Combine error tensors cell by cell; the first (leftmost) non-zero code wins."""
    out = None
    for err in errs:
        if err is None:
            continue
        out = err if out is None else torch.where(out != 0, out, err)
    return out


def first_error(err: torch.Tensor | None) -> torch.Tensor | None:
    """The first error of each range in row-major order: ``(b, r, R, C) -> (b, r, 1, 1)``."""
    if err is None:
        return None
    flat = err.flatten(-2)  # (b, r, R*C)
    # argmax returns the index of the *first* maximum, which is what Excel's scan order needs.
    index = (flat != 0).to(torch.uint8).argmax(dim=-1, keepdim=True)
    return flat.gather(-1, index).unsqueeze(-1)


def first_error_along(err: torch.Tensor | None, dim: int) -> torch.Tensor | None:
    """The first error along one dim (-1: along each row, -2: down each column), kept as size 1."""
    if err is None:
        return None
    index = (err != 0).to(torch.uint8).argmax(dim=dim, keepdim=True)
    return err.gather(dim, index)


def kind_constant(kind: Kind, like: torch.Tensor) -> torch.Tensor:
    """A (1, 1, 1, 1) kind tensor, broadcastable to any block (e.g. "every cell is a boolean")."""
    return torch.full((1, 1, 1, 1), int(kind), dtype=ERR_DTYPE, device=like.device)


def text_array(block: Block) -> np.ndarray:
    """The block's text as an object array of shape ``(run, rows, cols)``; None where no text."""
    shape = (block.num.shape[1], *block.shape)
    if block.text is None:
        return np.full(shape, None, dtype=object)
    text = np.asarray(block.text, dtype=object)
    return np.broadcast_to(text.reshape((1,) * (3 - text.ndim) + text.shape), shape)


def numpy_to_tensor(array: np.ndarray, like: torch.Tensor, dtype=None) -> torch.Tensor:
    """A numpy ``(run, rows, cols)`` array as a ``(1, run, rows, cols)`` tensor beside `like`."""
    tensor = torch.as_tensor(np.ascontiguousarray(array), device=like.device)
    return tensor.to(dtype or like.dtype).unsqueeze(0)


def broadcast_shape(*shapes: tuple[int, int]) -> tuple[tuple[int, int], bool]:
    """Excel's result shape for operands of these (rows, cols), and whether any need #N/A padding."""
    rows = max(shape[0] for shape in shapes)
    cols = max(shape[1] for shape in shapes)
    padded = any(r not in (1, rows) or c not in (1, cols) for r, c in shapes)
    return (rows, cols), padded


def align(*blocks: Block) -> tuple[Block, ...]:
    """Blocks broadcastable against each other by Excel's array rule (see module docstring).

    The common case (equal shapes, or 1-row/1-col against a block) returns the blocks unchanged
    and leaves the repetition to torch's broadcasting; only genuinely mismatched shapes are
    padded, with ``#N/A`` in the padding.
    """
    (rows, cols), padded = broadcast_shape(*(block.shape for block in blocks))
    if not padded:
        return blocks
    return tuple(_pad(block, rows, cols) for block in blocks)


def _pad(block: Block, rows: int, cols: int) -> Block:
    """Extend a dimension that is neither 1 nor the target size with #N/A cells."""
    r, c = block.shape
    new_r = r if r == 1 else rows
    new_c = c if c == 1 else cols
    if (new_r, new_c) == (r, c):
        return block
    num = F.pad(block.num, (0, new_c - c, 0, new_r - r))  # zeros, differentiable
    lead = block.num.shape[:2]
    err = torch.full((*lead, new_r, new_c), int(ErrorCode.NA), dtype=ERR_DTYPE, device=num.device)
    err[..., :r, :c] = 0 if block.err is None else block.err.expand(*lead, r, c)
    kind = None
    if block.kind is not None:
        kind = torch.zeros((*lead, new_r, new_c), dtype=ERR_DTYPE, device=num.device)
        kind[..., :r, :c] = block.kind.expand(*lead, r, c)
    text = None
    if block.text is not None:
        text = np.full((lead[1], new_r, new_c), None, dtype=object)
        text[:, :r, :c] = text_array(block)
    return Block(num, err=err, kind=kind, text=text, from_reference=block.from_reference)


def is_plain(*blocks: Block) -> bool:
    """True when every block is plain numbers without errors: the fast path, no mask work."""
    return all(b.err is None and b.kind is None and b.text is None for b in blocks)


def same_for_every_restart(values: torch.Tensor, what: str) -> np.ndarray:
    """``values[0]`` as a numpy ``(run, rows, cols)`` array, for building text.

    Text lives in numpy, outside the batch of solver restarts, so text that would differ
    between restarts (``IF(A1>0,"yes","no")`` with A1 a variable) cannot be represented.
    """
    values = values.detach()
    if values.shape[0] > 1 and not bool((values == values[:1]).all()):
        from xl_lesson3.errors import EvaluationError

        raise EvaluationError(f"{what} differs between solver restarts; text cannot depend on them")
    return values[0].cpu().numpy()


def select(
    chosen: torch.Tensor, first: torch.Tensor | None, second: torch.Tensor | None
) -> torch.Tensor | None:
    """``where(chosen, first, second)`` for optional int8 tensors (None reads as all zeros)."""
    if first is None and second is None:
        return None
    zero = torch.zeros((), dtype=ERR_DTYPE, device=chosen.device)
    return torch.where(chosen, zero if first is None else first, zero if second is None else second)
