"""Where each cell of a worksheet part lies, byte by byte: what a write-back splices by.

The bulk patcher (`xlsx_bulk_patch`) finds the cells to change by splitting the part with a
regular expression, ~1 s per 100k rows before any cell is written. The columnar reader has
already found every cell's bytes; recording them while it reads costs a few numpy operations
per chunk. The write-back then splices the new values in at those offsets (`xlsx_splice`),
provided the part is still the one read: same name, CRC-32 and sizes.

Per cell, in file order (rows, then columns, ascending): its row and column; ``tail_at``, the
offset just after the reference's closing quote (the start tag's other attributes follow);
``attr``, which distinct attribute text follows (``attr_texts``); ``empty`` for ``<c .../>``;
``f_len``, the bytes from the end of the start tag to the end of the formula element (0 when
none); ``v_len``, the bytes from there to the end of the cell (its value, ``</c>``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xl_lesson3.workbook.xlsx_formulas import KEY_COLS  # row * KEY_COLS + col: file order
from xl_lesson3.workbook.xlsx_tokens import Cells, Tokens


@dataclass(frozen=True, eq=False)
class SheetLayout:
    """The cells of one worksheet part as the file holds them (see the module docstring)."""

    part: str
    crc: int
    file_size: int
    compress_size: int
    rows: np.ndarray  # int32
    cols: np.ndarray  # int16
    tail_at: np.ndarray  # int64
    attr: np.ndarray  # int32, into attr_texts
    empty: np.ndarray  # bool
    f_len: np.ndarray  # int32
    v_len: np.ndarray  # int32
    attr_texts: tuple[bytes, ...]

    ARRAYS = ("rows", "cols", "tail_at", "attr", "empty", "f_len", "v_len")

    def keys(self) -> np.ndarray:
        """row * KEY_COLS + col of each cell (strictly ascending)."""
        return self.rows.astype(np.int64) * KEY_COLS + self.cols

    def body_at(self, index: np.ndarray) -> np.ndarray:
        """Where the start tag of cells `index` ends (after ``>`` or ``/>``)."""
        lengths = np.fromiter(map(len, self.attr_texts), np.int64, len(self.attr_texts))
        return self.tail_at[index] + lengths[self.attr[index]] + 1 + self.empty[index]

    def __len__(self) -> int:
        return len(self.rows)


class LayoutBuilder:
    """Collects a part's cells chunk by chunk as the columnar reader tokenises them."""

    def __init__(self, part: str, crc: int, file_size: int, compress_size: int) -> None:
        self.identity = (part, crc, file_size, compress_size)
        self.ids: dict[bytes, int] = {}
        self.pieces: dict[str, list[np.ndarray]] = {name: [] for name in SheetLayout.ARRAYS}

    def add(self, cells: Cells, tokens: Tokens, base: int) -> None:
        """The cells of one chunk that starts at offset `base` of the part."""
        if not cells.n:
            return
        f_end, cell_end = cells.ends(tokens)
        body_at = tokens.end[cells.tag] + 1
        local = np.array([self.ids.setdefault(t, len(self.ids)) for t in cells.attrs.texts])
        add = self.pieces
        add["rows"].append(cells.rows.astype(np.int32))
        add["cols"].append(cells.cols.astype(np.int16))
        add["tail_at"].append(cells.tail_at.astype(np.int64) + base)
        add["attr"].append(local.astype(np.int32)[cells.attrs.index])
        add["empty"].append(cells.empty.copy())
        add["f_len"].append((f_end - body_at).astype(np.int32))
        add["v_len"].append((cell_end - f_end).astype(np.int32))

    def finish(self) -> SheetLayout | None:
        """The layout, or None when the cells are not in strictly ascending order (a file
        that breaks the format's order: the write-back then finds the cells itself)."""
        arrays = {
            name: np.concatenate(pieces) if pieces else np.zeros(0, _DTYPES[name])
            for name, pieces in self.pieces.items()
        }
        layout = SheetLayout(*self.identity, **arrays, attr_texts=tuple(self.ids))
        if len(layout) > 1 and not bool((np.diff(layout.keys()) > 0).all()):
            return None
        return layout


_DTYPES = {
    "rows": np.int32,
    "cols": np.int16,
    "tail_at": np.int64,
    "attr": np.int32,
    "empty": bool,
    "f_len": np.int32,
    "v_len": np.int32,
}
