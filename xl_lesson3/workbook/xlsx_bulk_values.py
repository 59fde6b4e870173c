"""The values of a write-back in row-major order, numbers encoded in bulk.

A write-back sets ~6 numbers per row of a 100k-row sheet. ``repr`` of one float costs ~1.3 µs
(CPython's shortest round-trip conversion), 0.8 s for 600k values: here orjson writes them all
in one call (~0.03 s, the same shortest round-trip digits, proven by the tests against ``repr``
over millions of values). Its notation differs from ``repr`` only outside
1e-4 <= |x| < 1e16 (``0.00001`` for ``1e-05``); those few values take the `number_text` of
`xlsx_cells`, which remains the reference every bulk text equals.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from functools import cached_property
from operator import itemgetter

import numpy as np
import orjson
from openpyxl.utils.cell import get_column_letter

from xl_lesson3.workbook.changeset import SheetUpdates
from xl_lesson3.workbook.xlsx_cells import number_text

# Exact types encoded in bulk (bool is not among them: type(True) is bool, stored as t="b").
_NUMBER_TYPES = frozenset({float, int, np.float64})


class Targets:
    """The cells of one sheet to set, sorted by (row, col), as parallel arrays.

    `numeric`: the value is a finite number (encoded in bulk); `numbers` holds it as float64
    (NaN elsewhere). Other values (text, booleans, errors, None, non-finite numbers) keep the
    per-cell encoding of `xlsx_cells.encode_value`.
    """

    def __init__(self, updates: Mapping[tuple[int, int], object]) -> None:
        if isinstance(updates, SheetUpdates):  # a write-back's: arrays already
            rows, cols = updates.rows.astype(np.int64), updates.cols.astype(np.int64)
            self._values: list[object] = updates.values_list
        else:
            keys = list(updates)
            rows = np.fromiter(map(itemgetter(0), keys), np.int64, len(keys))
            cols = np.fromiter(map(itemgetter(1), keys), np.int64, len(keys))
            self._values = list(updates.values())
        n = len(rows)
        self.order = np.lexsort((cols, rows))  # sorted index -> index in `updates`
        self.rows, self.cols = rows[self.order], cols[self.order]  # (n,) each
        numbers, numeric = _numbers(self._values)
        self.numbers, self.numeric = numbers[self.order], numeric[self.order]  # (n,) each
        self.n = n
        # Grouped by row: target row k holds targets first[k] to first[k + 1].
        self.target_rows, first = np.unique(self.rows, return_index=True)  # (n_rows,)
        self.first = np.append(first, n)

    # Target row k's columns are colsets[colset_of[k]] (a sheet has few distinct column sets),
    # spelt letters[colset_of[k]]: made on first use (a spliced write-back never needs them).
    @cached_property
    def _grouping(self) -> tuple[np.ndarray, list[tuple[int, ...]]]:
        cols = self.cols.tolist()
        colsets = [tuple(cols[a:b]) for a, b in itertools.pairwise(self.first.tolist())]
        ids: dict[tuple[int, ...], int] = {}
        colset_of = np.array([ids.setdefault(c, len(ids)) for c in colsets], np.int64)
        return colset_of, list(ids)

    @property
    def colset_of(self) -> np.ndarray:
        return self._grouping[0]

    @property
    def colsets(self) -> list[tuple[int, ...]]:
        return self._grouping[1]

    @cached_property
    def letters(self) -> list[list[bytes]]:
        return [[get_column_letter(c).encode() for c in cs] for cs in self.colsets]

    def value(self, index: int) -> object:
        """The value of target `index` (in sorted order)."""
        return self._values[int(self.order[index])]

    def updates(self, lo: int, hi: int) -> dict[tuple[int, int], object]:
        """Targets `lo` to `hi` (sorted indices) as a (row, col) → value mapping."""
        keys = zip(self.rows[lo:hi].tolist(), self.cols[lo:hi].tolist(), strict=True)
        values = [self._values[i] for i in self.order[lo:hi].tolist()]
        return dict(zip(keys, values, strict=True))


def _numbers(values: list[object]) -> tuple[np.ndarray, np.ndarray]:
    if set(map(type, values)) <= {float}:
        numbers = np.fromiter(values, np.float64, len(values))
        return numbers, np.isfinite(numbers)
    is_number = np.fromiter((type(v) in _NUMBER_TYPES for v in values), bool, len(values))
    numbers = np.full(len(values), np.nan)
    for i in np.flatnonzero(is_number).tolist():
        try:
            numbers[i] = float(values[i])  # type: ignore[arg-type]
        except OverflowError:  # an int beyond float: the per-cell encoding reports it
            is_number[i] = False
    return numbers, is_number & np.isfinite(numbers)


def number_texts(numbers: np.ndarray) -> list[bytes]:
    """`number_text` of each finite float64 of `numbers`, as UTF-8 bytes, in bulk."""
    if len(numbers) == 0:
        return []
    numbers = np.where(numbers == 0, 0.0, numbers)  # -0.0 is stored as "0"
    joined = orjson.dumps(numbers, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1] + b","
    texts = joined.replace(b".0,", b",")[:-1].split(b",")  # integral: "3.0" -> "3"
    size = np.abs(numbers)
    plain = ((size >= 1e-4) & (size < 1e16)) | (numbers == 0)
    for i in np.flatnonzero(~plain).tolist():
        texts[i] = number_text(float(numbers[i])).encode()
    return texts


def value_ends(texts: list[bytes]) -> list[bytes]:
    """``<v>text</v></c>`` for each text, built by C-level joins and splits (texts hold no NUL)."""
    if not texts:
        return []
    joined = b"\0".join(texts).replace(b"\0", b"</v></c>\0<v>")
    return (b"<v>" + joined + b"</v></c>").split(b"\0")
