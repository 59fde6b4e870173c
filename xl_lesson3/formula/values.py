"""Spreadsheet values as tensors: the one data type every function takes and returns.

A `Block` holds a rectangle of cell values for a whole *run* of identical formulas at once, for
every restart of the solver at once. Its tensors have shape ``(batch, run, rows, cols)``:

- ``batch``: solver restarts (1 for plain evaluation); constants carry 1 and broadcast;
- ``run``: the cells of one vectorised run (712 rows of one column formula); 1 for a single cell
  or for a reference that is the same for every cell of the run (``$P$1:$Y$1``);
- ``rows, cols``: the shape of a range argument (1, 1 for a scalar).

Errors are data, as in Excel: ``err`` holds an `ErrorCode` per cell (0 = no error), beside the
numbers, so ``#DIV/0!`` flows through formulas exactly as Excel's would, and IFERROR can catch it.
``kind`` tells numbers from booleans, text and blanks, because Excel treats them differently (SUM
skips text and booleans in ranges, ``TRUE+1`` is 2, blank is 0). Text itself cannot live in a
tensor: it sits in ``text``, a numpy object array that never depends on the solver's variables.
``None`` in ``err``/``kind``/``text`` means "all numbers, no errors": the fast, common case.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

# The scalar types live in a torch-free module (the workbook model and parse/plan use them);
# they are re-exported here, where the function library has always imported them from.
from xl_lesson3.formula.scalars import (  # noqa: F401
    _TEXT_TO_ERROR,
    ERROR_TEXT,
    ErrorCode,
    ExcelError,
    Kind,
)


@dataclass(frozen=True)
class Block:
    """A rectangle of values for a run of cells; see the module docstring for the shape rules.

    ``num``: float tensor ``(batch, run, rows, cols)``; booleans are 1/0, blanks 0, text and
    errors 0. ``err``/``kind``: int8 tensors broadcastable to ``num`` or None. ``text``: object
    array broadcastable to ``(run, rows, cols)`` (str where kind is TEXT) or None.
    ``from_reference``: True when the argument was written as a reference (``A1:B3``) rather
    than a value, since Excel's aggregates skip text and booleans only in references.
    """

    num: torch.Tensor
    err: torch.Tensor | None = None
    kind: torch.Tensor | None = None
    text: np.ndarray | None = None
    from_reference: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the range part."""
        return (self.num.shape[-2], self.num.shape[-1])

    @property
    def is_scalar(self) -> bool:
        return self.shape == (1, 1)

    def with_(self, **changes) -> Block:
        """A copy with some fields replaced."""
        return replace(self, **changes)

    @classmethod
    def scalar(cls, value: float, *, dtype=torch.float64, device=None) -> Block:
        """A number as a (1, 1, 1, 1) block."""
        return cls(torch.full((1, 1, 1, 1), float(value), dtype=dtype, device=device))

    @classmethod
    def error(cls, code: ErrorCode, *, dtype=torch.float64, device=None) -> Block:
        """A single error value as a (1, 1, 1, 1) block."""
        num = torch.zeros((1, 1, 1, 1), dtype=dtype, device=device)
        err = torch.full((1, 1, 1, 1), int(code), dtype=torch.int8, device=device)
        return cls(num, err=err)
