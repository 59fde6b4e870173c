"""Cell values as xlwings delivers them ↔ the engine's `Block`s.

xlwings hands a UDF a range argument as a list of rows (``ndim=2``) with ``None`` for empty
cells, numbers as float, booleans as bool, text as str, and, with ``err_to_str=True``, error
cells as their text (``"#DIV/0!"``). A single cell passed as a value may arrive as a bare scalar.
Results go back the same way: a list of rows spills; a 1×1 result is returned as a scalar so it
also works in a plain (non-array) formula; an Excel error is returned as its text, which xlwings
Server turns into a real error value (classic desktop xlwings shows it as text).

No xlwings import here: this module is plain Python and torch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from xl_lesson3.errors import BadInputError
from xl_lesson3.formula.values import ERROR_TEXT, Block, ErrorCode, Kind

Cell = float | int | bool | str | None
Rows = list[list[Cell]]

_ERROR_BY_TEXT = {text: code for code, text in ERROR_TEXT.items() if text}


def as_rows(value: Any) -> Rows:
    """A scalar, a flat list (one row) or a list of rows → a rectangular list of rows."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return [[value]]
    if not value:
        return [[None]]
    if not isinstance(value[0], (list, tuple)):
        return [list(value)]
    rows = [list(row) for row in value]
    width = max(len(row) for row in rows)
    return [row + [None] * (width - len(row)) for row in rows]


def to_block(value: Any, *, device: torch.device | None = None, reference: bool = True) -> Block:
    """Nested lists / scalar → a (1, 1, rows, cols) Block with kinds, error codes and text.

    `reference`: whether Excel would see this argument as a range reference (it decides how
    aggregates treat text and booleans). A range passed to a UDF is one; a typed constant is not.
    """
    rows = as_rows(value)
    n_rows, n_cols = len(rows), len(rows[0])
    num = np.zeros((n_rows, n_cols), dtype=np.float64)
    kind = np.full((n_rows, n_cols), int(Kind.NUMBER), dtype=np.int8)
    err = np.zeros((n_rows, n_cols), dtype=np.int8)
    text = np.full((1, n_rows, n_cols), None, dtype=object)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            _fill(cell, r, c, num, kind, err, text)
    has_text = bool((kind == int(Kind.TEXT)).any())
    plain = not err.any() and not (kind != int(Kind.NUMBER)).any()

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).reshape(1, 1, n_rows, n_cols).to(device)

    return Block(
        num=tensor(num),
        err=None if plain else tensor(err),
        kind=None if plain else tensor(kind),
        text=text if has_text else None,
        from_reference=reference,
    )


def _fill(cell: Cell, r: int, c: int, num, kind, err, text) -> None:
    if cell is None or cell == "":
        kind[r, c] = Kind.BLANK
    elif isinstance(cell, bool):  # before numbers: bool is an int subclass
        kind[r, c] = Kind.BOOL
        num[r, c] = float(cell)
    elif isinstance(cell, (int, float, np.number)):
        num[r, c] = float(cell)
        if not math.isfinite(num[r, c]):
            err[r, c] = ErrorCode.NUM
    elif isinstance(cell, str) and cell.upper() in _ERROR_BY_TEXT:
        err[r, c] = _ERROR_BY_TEXT[cell.upper()]
    elif isinstance(cell, str):
        kind[r, c] = Kind.TEXT
        text[0, r, c] = cell
    else:
        raise BadInputError(f"cannot use a {type(cell).__name__} as a worksheet value")


def from_block(block: Block) -> Rows | Cell:
    """A Block of one run and one restart → list of rows, or a scalar when it is 1×1.

    Errors become their text (``"#VALUE!"``); NaN and ±inf become ``"#NUM!"``, as Excel shows a
    result it cannot represent; blanks become 0, as ``=A1`` of an empty cell does.
    """
    if block.num.shape[0] != 1 or block.num.shape[1] != 1:
        raise ValueError(f"expected one restart and one run, got shape {tuple(block.num.shape)}")
    n_rows, n_cols = block.shape
    num = block.num.detach().reshape(n_rows, n_cols).to("cpu", torch.float64).numpy()
    err = _plane(block.err, n_rows, n_cols)
    kind = _plane(block.kind, n_rows, n_cols)
    text = None if block.text is None else np.broadcast_to(block.text, (1, n_rows, n_cols))[0]
    rows: Rows = []
    for r in range(n_rows):
        row: list[Cell] = []
        for c in range(n_cols):
            row.append(_cell(num[r, c], err, kind, text, r, c))
        rows.append(row)
    return rows[0][0] if (n_rows, n_cols) == (1, 1) else rows


def _plane(tensor: torch.Tensor | None, n_rows: int, n_cols: int) -> np.ndarray | None:
    if tensor is None:
        return None
    return tensor.detach().to("cpu").broadcast_to((1, 1, n_rows, n_cols))[0, 0].numpy()


def _cell(value: float, err, kind, text, r: int, c: int) -> Cell:
    if err is not None and err[r, c]:
        return ErrorCode(int(err[r, c])).text
    cell_kind = Kind.NUMBER if kind is None else Kind(int(kind[r, c]))
    if cell_kind is Kind.TEXT:
        return str(text[r, c]) if text is not None else ""
    if cell_kind is Kind.BOOL:
        return bool(value)
    if cell_kind is Kind.BLANK:
        return 0.0
    if not math.isfinite(value):
        return ErrorCode.NUM.text
    return float(value)


def scalar_text(value: Any, default: str) -> str:
    """A text option such as a device or model kind: blank means `default`."""
    value = as_rows(value)[0][0]
    if value is None or value == "":
        return default
    return str(value).strip().lower()


def scalar_number(value: Any, default: float | None) -> float | None:
    """A numeric option such as steps or a seed: blank means `default`."""
    value = as_rows(value)[0][0]
    if value is None or value == "":
        return default
    if isinstance(value, str):
        raise BadInputError(f"expected a number, got {value!r}")
    return float(value)
