"""Set cell values in a canonical worksheet part in bulk: the fast path of the write-back.

Writes exactly the bytes `xlsx_cells.SheetPatcher` writes (the tests compare them on many
shapes), at a cost per block of rows instead of per XML element. A part is cut into pieces of
whole rows (`xlsx_canonical.sheet_pieces`); in each, the rows holding target cells are grouped
into blocks (consecutive rows that exist and want the same columns), and one regular expression
split per block finds their target-column cells. When every target cell is there once, in
order, in canonical form, the block is rebuilt from the split's pieces by list slicing: each
cell keeps its reference, its other attributes and its ``<f>`` byte for byte, and gets the new
``t`` and ``<v>`` (numbers encoded in bulk, `xlsx_bulk_values`). Rows where that does not hold
(a cell to insert, a cell with ``<extLst>``, ...) and rows to create go, one at a time, through
`SheetPatcher` itself. Raises `NotCanonical` when the part is not in the form this reads; the
caller then streams the whole part through `SheetPatcher`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from xml.sax.saxutils import quoteattr

import numpy as np
from openpyxl.utils.cell import get_column_letter

from xl_lesson3.errors import WorkbookIOError, located
from xl_lesson3.workbook.safexml import encoding_problem
from xl_lesson3.workbook.xlsx_bulk_values import Targets, number_texts, value_ends
from xl_lesson3.workbook.xlsx_canonical import (
    ATTRS,
    DIGITS,
    STRIDE,
    BlockCells,
    F,
    NotCanonical,
    RowIndex,
    TargetRowWalk,
    blocks,
    cell_pattern,
    head_namespace,
    sheet_pieces,
)
from xl_lesson3.workbook.xlsx_cells import SheetPatcher, encode_value, retag

_CELL_START = b'<c r="'
_ROW_START = b"<row "


def patch_sheet_bulk(
    chunks: Iterable[bytes],
    updates: Mapping[tuple[int, int], object],
    sheet: str,
    write: Callable[[bytes], None],
) -> None:
    """`xlsx_cells.patch_sheet_stream` for canonical parts; raises NotCanonical otherwise
    (possibly after writing some output: the caller starts the part again)."""
    BulkPatcher(updates, sheet, write).run(chunks)


class BulkPatcher:
    """One worksheet part through the bulk path; see the module docstring."""

    def __init__(
        self,
        updates: Mapping[tuple[int, int], object],
        sheet: str,
        write: Callable[[bytes], None],
        targets: Targets | None = None,
    ) -> None:
        """`targets`: `Targets(updates)` when the caller has it already."""
        self.sheet, self.write = sheet, write
        self.targets = t = targets if targets is not None else Targets(updates)
        # What follows each number cell's start tag and <f>: "<v>text</v></c>" (others: per cell)
        self.ends: list[bytes] = [b""] * t.n
        numeric = np.flatnonzero(t.numeric)
        self.all_numeric = len(numeric) == t.n  # then no block needs the per-cell encoding
        if self.all_numeric:
            self.ends = value_ends(number_texts(t.numbers))
        else:
            ends = value_ends(number_texts(t.numbers[numeric]))
            for i, end in zip(numeric.tolist(), ends, strict=True):
                self.ends[i] = end
        # Per column set, the fixed start of each match of a row: the row's, then each cell's.
        self.heads = [[_ROW_START] + [_CELL_START + x for x in xs] for xs in t.letters]
        self.walk = TargetRowWalk(t.target_rows)
        self.arrays = self.walk.arrays
        self.ns = ""
        self.openers: dict[tuple[bytes, str | None, bool], bytes] = {}
        self.number_openers = _Openers(lambda attrs: self._opener(attrs, None, False))
        self.number_openers[None] = b""  # a row's start

    def run(self, chunks: Iterable[bytes]) -> None:
        """Patch the part read from `chunks`, writing it out piece by piece."""
        for kind, piece in sheet_pieces(chunks):
            if kind == "head":
                if encoding_problem(piece[:256]):
                    raise NotCanonical  # the general path reports it
                self.ns = head_namespace(piece)
                self.write(piece)
            elif kind == "tail":
                self.write(piece)
            else:
                self.write(b"".join(self._piece(piece, last=kind == "last")))

    # -- pieces and blocks -----------------------------------------------------------------
    def _piece(self, piece: bytes, *, last: bool) -> list:
        """The pieces of the patched `piece` (whole rows; the last one when `last`)."""
        t = self.targets
        rows, lo, hi = self.walk.enter(piece, last=last)
        if lo == hi:
            return [piece]
        view = memoryview(piece)
        out: list = []
        done = 0
        for a, b, at, exists in blocks(rows, t.target_rows[lo:hi], t.colset_of[lo:hi]):
            start = rows.starts[at]
            out.append(view[done:start])
            if exists:
                done = rows.starts[at + b - a]
                out += self._block(view[start:done], rows, at, lo + a, lo + b)
            else:
                done = start
                out.append(self._delegate(b"", lo + a, lo + b))
        out.append(view[done:])
        return out

    def _block(self, segment: memoryview, rows: RowIndex, at: int, lo: int, hi: int) -> list[bytes]:
        """Target rows `lo` to `hi`, which are the piece's rows `at`, `at + 1`, ..."""
        new = self._quick(segment, rows.digits[at : at + hi - lo], lo, hi)
        if new is not None:
            return new
        out = []
        base = rows.starts[at]
        for k in range(hi - lo):  # row by row: only the rows that need it go the slow way
            row = segment[rows.starts[at + k] - base : rows.starts[at + k + 1] - base]
            new = self._quick(row, rows.digits[at + k : at + k + 1], lo + k, lo + k + 1)
            out += [self._delegate(row.tobytes(), lo + k, lo + k + 1)] if new is None else new
        return out

    def _quick(self, segment: memoryview, digits: list[bytes], lo: int, hi: int) -> list | None:
        """Target rows `lo` to `hi` (same columns) patched by slicing, or None when their
        target cells are not exactly there (`BlockCells`)."""
        colset = int(self.targets.colset_of[lo])
        pattern = cell_pattern(self.targets.colsets[colset])
        cells = BlockCells(segment, pattern, STRIDE, self.targets.letters[colset], digits)
        if not cells.exact:
            return None
        first, last = int(self.targets.first[lo]), int(self.targets.first[hi])
        return self._rebuild(cells, first, last, colset)

    # -- cells -----------------------------------------------------------------------------
    def _rebuild(self, cells: BlockCells, lo: int, hi: int, colset: int) -> list[bytes]:
        """The pieces of the block with targets `lo` to `hi` (its cells, in order) set: each
        match (a row's start or a cell) gives six, laid out by list slicing (fewer pieces make
        the final join cheaper: it costs per piece)."""
        m, w, rows = cells.n, cells.width, cells.rows
        heads = self.heads[colset] * rows  # '<row ', then '<c r="' + each column's letters
        digits = cells.group(DIGITS)
        digits[0::w] = [b""] * rows
        attrs, formulas = cells.group(ATTRS), cells.group(F)
        if None in formulas:  # rows' starts and <c .../>: no <f>
            formulas = [f or b"" for f in formulas]
        opens = list(map(self.number_openers.__getitem__, attrs))
        ends = cells.place(self.ends[lo:hi], b"")
        numeric = self.targets.numeric[lo:hi]
        if not (self.all_numeric or numeric.all()):
            for k in np.flatnonzero(~numeric).tolist():
                j = (k // (w - 1)) * w + k % (w - 1) + 1
                opens[j], content, after = self._other(lo + k, attrs[j], formulas[j])
                ends[j] = content + after
        out: list[bytes] = [b""] * (6 * m + 1)
        out[0::6] = cells.parts[0::STRIDE]
        for k, pieces in enumerate((heads, digits, opens, formulas, ends)):
            out[k + 1 :: 6] = pieces
        return out

    def _other(self, index: int, attrs: bytes, formula: bytes) -> tuple[bytes, bytes, bytes]:
        """(rest of the start tag, content, end) of a target cell that is not a number."""
        t = self.targets
        row, col = int(t.rows[index]), int(t.cols[index])
        is_formula = bool(formula) or self.arrays.covers(row, col)
        try:
            kind, content = encode_value(t.value(index), formula=is_formula)
        except TypeError as exc:
            where = f"{self.sheet}!{get_column_letter(col)}{row}"
            raise WorkbookIOError(located(where, str(exc))) from exc
        if formula or content:
            return self._opener(attrs, kind, False), content.encode(), b"</c>"
        return self._opener(attrs, kind, True), b"", b""

    def _opener(self, attrs: bytes, kind: str | None, empty: bool) -> bytes:
        """The start tag after the reference (from its closing quote), ``t`` set as
        `xlsx_cells.retag` sets it; cached: a sheet has few distinct attribute strings."""
        key = (attrs, kind, empty)
        found = self.openers.get(key)
        if found is None:
            found = self.openers[key] = start_tag_rest(attrs, kind, empty)
        return found

    def _delegate(self, segment: bytes, lo: int, hi: int) -> bytes:
        """Target rows `lo` to `hi` set by `SheetPatcher` in `segment` (their rows, or b"" to
        create them), with the array formulas it would have seen before them."""
        first, last = int(self.targets.first[lo]), int(self.targets.first[hi])
        head = b"<worksheet xmlns=" + quoteattr(self.ns).encode() + b"><sheetData>"
        tail = b"</sheetData></worksheet>"
        out: list[bytes] = []
        patcher = SheetPatcher(self.targets.updates(first, last), self.sheet, out.append)
        patcher.array_ranges = self.arrays.before_row(int(self.targets.target_rows[lo]))
        patcher.feed(head + segment + tail)
        patcher.close()
        data = b"".join(out)
        if not (data.startswith(head) and data.endswith(tail)):
            raise NotCanonical  # cannot happen: the wrapper holds no target
        return data[len(head) : -len(tail)]


def start_tag_rest(attrs: bytes, kind: str | None, empty: bool = False) -> bytes:
    """A cell's start tag from its reference's closing quote (`attrs`: that quote, then the
    other attributes), with ``t`` set to `kind` as `xlsx_cells.retag` sets it (None: removed,
    as for a number), ending ``/>`` when `empty`, else ``>``."""
    tag = retag(b"<c" + attrs[1:] + b">", {"t": kind})
    return b'"' + tag[2:-1] + (b"/>" if empty else b">")


class _Openers(dict):
    """attributes → start-tag rest, filled on first sight (so `map` over it stays in C)."""

    def __init__(self, make: Callable[[bytes], bytes]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, attrs: bytes) -> bytes:
        found = self[attrs] = self.make(attrs)
        return found
