"""The write-back check's fast path: the target cells of a written sheet, read in bulk.

`xlsx_verify` re-reads the cells a write-back set. Its element reader makes three Python calls
per XML element, ~20 s for a 100k-row sheet (6.6 million elements). Here the written part goes
through what the workbook reader's fast path uses (`xlsx_fastscan`): expat checks each chunk is
well-formed (document type declarations refused), one regular expression matches every ``<c>``
element, numpy picks the target cells, and only those take a Python step. The stored form is
taken as expat would report it (entities replaced, line ends normalised, no ``_xHHHH_``
unescaping), so the comparison is the same. Raises `NotCanonical` when the part is not in the
form the expression matches; the caller then uses the element reader.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Protocol

import numpy as np

from xl_lesson3.workbook.xlsx_cells import cell_position
from xl_lesson3.workbook.xlsx_fastscan import ChunkCells, attributes, scan_chunk, text_of
from xl_lesson3.workbook.xlsx_fastsheet import ColumnOf, sheet_data
from xl_lesson3.workbook.xlsx_formulas import KEY_COLS
from xl_lesson3.workbook.xlsx_package import Package

_IS_TEXT = re.compile(rb"<t(?: [^>]*)?>([^<]*)</t>|<t ?/>")


class _Found(Protocol):
    """What `read_targets` fills (`xlsx_verify._ReadCell`)."""

    t: str | None
    has_formula: bool
    v: str | None
    inline: str | None
    count: int


class TargetReader(Protocol):
    """`xlsx_verify._CellReader`: the target cells, those found, and the array blocks."""

    targets: set[tuple[int, int]]
    cells: dict[tuple[int, int], _Found]
    arrays: list[tuple[int, int, int, int]]

    def new_cell(self) -> _Found: ...


def read_targets(package: zipfile.ZipFile, part: str, sheet: str, reader: TargetReader) -> None:
    """Fill `reader.cells` with each target cell's stored form and `reader.arrays` with every
    array formula's block, from worksheet `part` of `package`."""
    keys = np.fromiter((r * KEY_COLS + c for r, c in reader.targets), np.int64)
    keys.sort()
    col_of = ColumnOf().__getitem__
    kinds: dict[bytes, str | None] = {}
    where = Path(f"{package.filename or sheet} (written)")
    for chunk in sheet_data(Package(where, package), part):
        cells = scan_chunk(chunk, col_of)
        if cells is None:
            continue
        _note_arrays(cells, reader)
        hit = np.flatnonzero(np.isin(cells.rows * KEY_COLS + cells.cols, keys))
        rows, cols = cells.rows[hit].tolist(), cells.cols[hit].tolist()
        for i, row, col in zip(hit.tolist(), rows, cols, strict=True):
            found = reader.cells.get((row, col))
            if found is None:
                found = reader.cells[(row, col)] = reader.new_cell()
            found.count += 1
            raw = cells.attrs[i]
            if raw not in kinds:
                kind = attributes(raw).get("t")
                kinds[raw] = None if kind == "n" else kind
            found.t = kinds[raw]
            found.has_formula = bool(cells.has_f[i])
            if cells.v_text[i]:
                found.v = text_of(cells.v_text[i])
            if cells.is_body[i]:
                texts = [text_of(m) for m in _IS_TEXT.findall(cells.is_body[i])]
                found.inline = "".join(texts) if texts else None


def _note_arrays(cells: ChunkCells, reader: TargetReader) -> None:
    for raw in (a for a in cells.f_attrs if a and b"array" in a):
        attrs = attributes(raw)
        if attrs.get("t") == "array" and attrs.get("ref"):
            first, _, last = attrs["ref"].partition(":")
            (r1, c1), (r2, c2) = cell_position(first), cell_position(last or first)
            reader.arrays.append((r1, c1, r2, c2))
