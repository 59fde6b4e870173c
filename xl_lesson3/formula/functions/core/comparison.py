"""Excel's comparison operators and text concatenation ``&``.

Comparisons order values across types as Excel does: every number is less than every text, and
every text is less than every boolean (``1 < "a" < FALSE``). Text compares case-insensitively
(``"abc" = "ABC"``). A blank cell takes the type of the other side: it is 0 against a number,
``""`` against text and FALSE against a boolean. Results are booleans (kind BOOL, num 1/0).
Comparisons are not differentiable: the gradient of a step is zero almost everywhere.

LibreOffice stores booleans as numbers, so it says ``TRUE > 5`` is FALSE and ``"a" < TRUE`` is
FALSE; Excel says TRUE for both, and we follow Excel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from xl_lesson3.formula.functions.core.shapes import (
    align,
    is_plain,
    kind_constant,
    merge_errors,
    numpy_to_tensor,
    same_for_every_restart,
    text_array,
)
from xl_lesson3.formula.values import Block, Kind

# Type order for comparisons; a blank's rank is decided by the other operand.
_RANK_OF_KIND = {Kind.NUMBER: 0, Kind.TEXT: 1, Kind.BOOL: 2, Kind.BLANK: -1}
_TEXT_RANK = _RANK_OF_KIND[Kind.TEXT]


def _comparison(test: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
    """An Excel comparison operator from a torch comparison (torch.lt, torch.eq, ...)."""

    def operator(left: Block, right: Block) -> Block:
        left, right = align(left, right)
        if is_plain(left, right):
            return Block(
                test(left.num, right.num).to(left.num.dtype),
                kind=kind_constant(Kind.BOOL, left.num),
            )
        order = compare(left, right)  # -1, 0, 1 per cell
        values = test(order, torch.zeros_like(order)).to(left.num.dtype)
        return Block(
            values, err=merge_errors(left.err, right.err), kind=kind_constant(Kind.BOOL, left.num)
        )

    operator.__doc__ = f"Excel's comparison computed by torch.{test.__name__} on the type order."
    return operator


def compare(left: Block, right: Block) -> torch.Tensor:
    """-1, 0 or 1 per cell (as `left.num`'s dtype): how `left` orders against `right` in Excel.

    The blocks must already be aligned (`shapes.align`).
    """
    rank_l, rank_r = _rank(left), _rank(right)
    blank_l, blank_r = rank_l < 0, rank_r < 0
    rank_l = torch.where(blank_l, rank_r.clamp(min=0), rank_l)
    rank_r = torch.where(blank_r, rank_l.clamp(min=0), rank_r)
    num_l, num_r = left.num.detach(), right.num.detach()
    order = (num_l > num_r).to(num_l.dtype) - (num_l < num_r).to(num_l.dtype)
    if left.text is not None or right.text is not None:
        order = torch.where(rank_l == _TEXT_RANK, _text_order(left, right, order), order)
    by_type = torch.sign(rank_l - rank_r).to(order.dtype)
    return torch.where(rank_l != rank_r, by_type, order)


def _rank(block: Block) -> torch.Tensor:
    """The type rank per cell as an int8 tensor broadcastable to the block."""
    if block.kind is None:
        return torch.zeros((1, 1, 1, 1), dtype=torch.int8, device=block.num.device)
    ranks = torch.tensor(
        [_RANK_OF_KIND[k] for k in Kind], dtype=torch.int8, device=block.num.device
    )
    return ranks[block.kind.long()]


def _fold(value: object) -> str:
    return value.casefold() if isinstance(value, str) else ""


def _folded(texts: np.ndarray) -> np.ndarray:
    """`_fold` of every cell, computed once per distinct value (a text column of 100k rows
    holds a handful of categories; C-level hashing and lookups instead of 100k calls)."""
    values = texts.ravel().tolist()
    try:
        fold = {value: _fold(value) for value in set(values)}
    except TypeError:  # an unhashable cell (never made by the engine): one by one
        fold = None
    out = np.empty(len(values), dtype=object)
    out[:] = list(map(fold.__getitem__, values)) if fold is not None else list(map(_fold, values))
    return out.reshape(texts.shape)


def _text_order(left: Block, right: Block, like: torch.Tensor) -> torch.Tensor:
    """Case-insensitive order of the two blocks' text (blank and non-text read as "")."""
    text_l, text_r = _folded(text_array(left)), _folded(text_array(right))
    order = (text_l > text_r).astype(np.int8) - (text_l < text_r).astype(np.int8)
    return numpy_to_tensor(order, like)


def format_number(value: float) -> str:
    """A number as Excel's General format writes it into text: at most 15 significant digits.

    ``1.5 -> "1.5"``, ``3.0 -> "3"``, ``1e20 -> "1E+20"``. Excel's exact switch between plain
    and scientific notation for very small numbers is only approximated.
    """
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.15g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}E{exponent[0]}{int(exponent[1:]):02d}"
    return text


def _as_text(block: Block) -> np.ndarray:
    """Each cell as the text ``&`` would use, ``(run, rows, cols)`` object array."""
    numbers = same_for_every_restart(block.num, "a number joined by &")  # (run, rows, cols)
    run_shape = numbers.shape
    kinds = np.zeros(run_shape, dtype=np.int8)
    if block.kind is not None:
        kinds = np.broadcast_to(block.kind[0].cpu().numpy(), run_shape)
    texts = text_array(block)
    out = np.empty(run_shape, dtype=object)
    for index in np.ndindex(run_shape):
        kind = kinds[index]
        if kind == Kind.TEXT:
            out[index] = texts[index]
        elif kind == Kind.BOOL:
            out[index] = "TRUE" if numbers[index] else "FALSE"
        elif kind == Kind.BLANK:
            out[index] = ""
        else:
            out[index] = format_number(float(numbers[index]))
    return out


def concatenate(left: Block, right: Block) -> Block:
    """``left & right``: both sides as text (``1.5 & TRUE = "1.5TRUE"``); not differentiable."""
    left, right = align(left, right)
    err = merge_errors(left.err, right.err)
    text = np.char.add(_as_text(left).astype(str), _as_text(right).astype(str)).astype(object)
    num = torch.zeros((1, *text.shape), dtype=left.num.dtype, device=left.num.device)
    return Block(num, err=err, kind=kind_constant(Kind.TEXT, num), text=text)


COMPARISONS: dict[str, Callable[[Block, Block], Block]] = {
    "=": _comparison(torch.eq),
    "<>": _comparison(torch.ne),
    "<": _comparison(torch.lt),
    ">": _comparison(torch.gt),
    "<=": _comparison(torch.le),
    ">=": _comparison(torch.ge),
}
