"""The fast worksheet reader: `xlsx_fastscan`'s bulk matches turned into the sheet's columns.

Per chunk of ``<sheetData>`` (cut at a row's end): numbers of plain cells are converted by numpy
in one call; formula cells, strings, booleans and errors take a short Python step each; array
members are found with one numpy mask per array block. Columns are assembled once at the end.
Raises `NotCanonical` (nothing is kept) when the part is not in the form `xlsx_fastscan` matches.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
from openpyxl.utils.cell import column_index_from_string

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.columns import ColumnCells
from xl_lesson3.workbook.xlsx_fastscan import (
    OTHER_ENCODING,
    ChunkCells,
    NotCanonical,
    attributes,
    formula_texts,
    grouped,
    inline_text,
    numbers,
    scan_chunk,
    text_of,
)
from xl_lesson3.workbook.xlsx_formulas import KEY_COLS, FormulaReader, SheetCells, typed_value
from xl_lesson3.workbook.xlsx_package import Package

_EMPTY_SHEET_DATA = re.compile(rb"<sheetData\s*/>")
_ROW_END = b"</row>"
MAX_NUMBER_TEXT = 64  # bytes; Excel writes at most 17 significant digits and an exponent


def read_sheet_fast(
    package: Package, part: str, sheet: str, strings: list[str], cached: bool
) -> SheetCells:
    """Read worksheet `part` as `sheet` (see `xlsx_sheet.read_sheet`), or raise NotCanonical."""
    reader = _FastReader(package, sheet, strings, cached)
    for chunk in sheet_data(package, part):
        cells = scan_chunk(chunk, reader.col_of)
        if cells is not None:
            reader.add(cells)
    return reader.finish()


def sheet_data(package: Package, part: str) -> Iterator[bytes]:
    """The body of ``<sheetData>`` in pieces that end at a row's end; the whole part is read
    (and so checked by expat) even after ``</sheetData>``."""
    buf = b""
    state = "before"
    for chunk in package.checked_chunks(part):
        if state == "after":
            continue
        buf += chunk
        if state == "before":
            start = buf.find(b"<sheetData>")
            if start < 0:
                if _EMPTY_SHEET_DATA.search(buf):
                    state, buf = "after", b""
                elif b"sheetData" in buf:  # a namespace prefix or attributes
                    raise NotCanonical
                continue
            if OTHER_ENCODING.match(buf):
                raise NotCanonical  # the texts are decoded as UTF-8 here
            buf, state = buf[start + len(b"<sheetData>") :], "inside"
        end = buf.find(b"</sheetData>")
        if end >= 0:
            yield buf[:end]
            state, buf = "after", b""
            continue
        cut = buf.rfind(_ROW_END)
        if cut >= 0:
            yield buf[: cut + len(_ROW_END)]
            buf = buf[cut + len(_ROW_END) :]
    if state == "inside":
        raise NotCanonical


class ColumnOf(dict):
    """Column letters → column number, filled on first sight."""

    def __missing__(self, letters: bytes) -> int:
        try:
            col = column_index_from_string(letters.decode("ascii"))
        except ValueError as exc:
            raise NotCanonical from exc
        self[letters] = col
        return col


class _Parts:
    """Cells accumulated over chunks, in file order: rows, columns, values (and formulas)."""

    def __init__(self, with_texts: bool) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.values: list[Any] = []
        self.texts: list[str] | None = [] if with_texts else None

    def grouped(self, sheet: str) -> dict[int, ColumnCells]:
        if not self.rows:
            return {}
        rows, cols = np.concatenate(self.rows), np.concatenate(self.cols)
        return grouped(sheet, cols, rows, self.values, self.texts)


class _FastReader:
    def __init__(self, package: Package, sheet: str, strings: list[str], cached: bool) -> None:
        self.sheet, self.strings, self.cached = sheet, strings, cached
        self.col_of = ColumnOf().__getitem__
        self.formulas = FormulaReader(package.path, sheet)
        self.value_parts, self.formula_parts = _Parts(False), _Parts(True)
        self.array_cached: dict[CellAddress, Any] = {}
        self.kinds: dict[bytes, tuple[str | None, bool]] = {}  # attributes → (t, has cm)
        self.f_attrs: dict[bytes, dict[str, str]] = {}
        self.inline: dict[bytes, str] = {}  # inline string bodies repeat (a category column)

    def _kind(self, attrs: bytes) -> tuple[str | None, bool]:
        found = self.kinds.get(attrs)
        if found is None:
            parsed = attributes(attrs)
            kind = parsed.get("t")
            found = self.kinds[attrs] = (None if kind == "n" else kind, "cm" in parsed)
        return found

    def add(self, cells: ChunkCells) -> None:
        rows, cols = cells.rows.tolist(), cells.cols.tolist()
        is_formula, texts = self._formulas(cells, rows, cols)
        member = self._members(cells)
        if member is not None:
            if (member & is_formula).any():
                i = int(np.flatnonzero(member & is_formula)[0])
                where = self.formulas.where(rows[i], cols[i])
                raise WorkbookIOError(f"{where}: a formula inside another array formula")
            self._keep_members(cells, np.flatnonzero(member).tolist(), rows, cols)
        f_idx = np.flatnonzero(is_formula)
        values = self._values(cells, f_idx.tolist(), rows, cols) if self.cached else None
        self._append(self.formula_parts, cells, f_idx, values or [None] * len(f_idx), texts)
        plain_cells = ~is_formula if member is None else ~(is_formula | member)
        v_idx = np.flatnonzero(plain_cells)
        keep, values = self._plain_values(cells, v_idx, rows, cols)
        self._append(self.value_parts, cells, v_idx[keep], values, None)

    def _formulas(self, cells: ChunkCells, rows: list[int], cols: list[int]):
        """(which cells hold a formula, their texts in file order).

        Plain ``<f>text</f>`` (no attributes: what openpyxl writes for every cell) are converted
        in bulk; shared, array and data-table formulas one by one, in file order (a shared
        formula's master comes before its members).
        """
        n = cells.n
        if not cells.has_f.any():
            return np.zeros(n, bool), []
        plain = cells.has_f & ~np.fromiter(map(bool, cells.f_attrs), bool, n)
        plain &= np.fromiter(map(bool, cells.f_text), bool, n)
        texts = formula_texts(list(itertools.compress(cells.f_text, plain.tolist())))
        other = np.flatnonzero(cells.has_f & ~plain).tolist()
        if not other:
            return plain, texts
        found = dict(zip(np.flatnonzero(plain).tolist(), texts, strict=True))
        for i in other:
            text = self._formula(cells, i, rows[i], cols[i])
            if text is not None:
                found[i] = text
        is_formula = np.zeros(n, bool)
        is_formula[list(found)] = True
        return is_formula, [found[i] for i in np.flatnonzero(is_formula).tolist()]

    def _formula(self, cells: ChunkCells, i: int, row: int, col: int) -> str | None:
        raw_attrs, body = cells.f_attrs[i], cells.f_text[i]
        if not raw_attrs.strip():
            return "=" + text_of(body) if body else None
        attrs = self.f_attrs.get(raw_attrs)
        if attrs is None:
            attrs = self.f_attrs[raw_attrs] = attributes(raw_attrs)
        cm = self._kind(cells.attrs[i])[1]
        return self.formulas.text(row, col, attrs, text_of(body) if body else None, cm)

    def _members(self, cells: ChunkCells) -> np.ndarray | None:
        formulas = self.formulas
        if not formulas.blocks:
            return None
        r, c = cells.rows, cells.cols
        if formulas.member_keys is not None:
            listed = np.fromiter(formulas.member_keys, np.int64, len(formulas.member_keys))
            return np.isin(r * KEY_COLS + c, listed)
        member = np.zeros(cells.n, bool)
        for r1, r2, c1, c2 in formulas.blocks:
            inside = (r >= r1) & (r <= r2) & (c >= c1) & (c <= c2)
            inside &= (r != r1) | (c != c1)
            member |= inside
        return member

    def _keep_members(self, cells: ChunkCells, idx: list[int], rows, cols) -> None:
        if not self.cached:
            return
        for i, value in zip(idx, self._values(cells, idx, rows, cols), strict=True):
            if value is not None:
                self.array_cached[CellAddress(self.sheet, rows[i], cols[i])] = value

    def _values(self, cells: ChunkCells, idx: list[int], rows, cols) -> list[Any]:
        """The stored values of cells `idx` (None where there is none), one by one."""
        found: list[Any] = []
        for i in idx:
            kind = self._kind(cells.attrs[i])[0]
            body = cells.is_body[i]
            if body:
                text = self.inline.get(body)
                if text is None:
                    text = self.inline[body] = inline_text(body)
                found.append(text)
                continue
            raw = cells.v_text[i]
            found.append(None if not raw else self._typed(kind, text_of(raw), rows[i], cols[i]))
        return found

    def _plain_values(self, cells: ChunkCells, idx: np.ndarray, rows, cols):
        """(which of `idx` hold a value, their values): numbers in bulk, the rest one by one."""
        for attrs in set(cells.attrs):
            self._kind(attrs)
        codes = {attrs: kind is None for attrs, (kind, _) in self.kinds.items()}
        is_number = np.fromiter(map(codes.__getitem__, cells.attrs), bool, cells.n)
        has_v = np.fromiter(map(bool, cells.v_text), bool, cells.n)
        has_is = np.fromiter(map(bool, cells.is_body), bool, cells.n)
        wanted = np.zeros(cells.n, bool)
        wanted[idx] = True
        numeric_all = is_number & has_v & ~has_is & wanted  # (n,)
        numeric = numeric_all[idx]  # (len(idx),)
        other = ((has_v | has_is) & ~(is_number & has_v & ~has_is))[idx]
        values = np.empty(len(idx), object)
        if numeric.any():
            # only the numeric texts go into a fixed-width array: a long text would size it all
            picked = list(itertools.compress(cells.v_text, numeric_all.tolist()))
            if max(map(len, picked)) > MAX_NUMBER_TEXT:
                raise NotCanonical  # the element reader reads (or names) such a cell
            values[numeric] = numbers(np.array(picked)).tolist()
        keep = numeric | other
        if other.any():
            found = self._values(cells, idx[other].tolist(), rows, cols)
            values[other] = found
            if None in found:  # a value that came out None (not possible today) is no cell
                keep[np.flatnonzero(other)[[v is None for v in found]]] = False
        return keep, values[keep].tolist()

    def _typed(self, kind: str | None, text: str, row: int, col: int) -> Any:
        try:
            return typed_value(kind, text, self.strings)
        except (ValueError, WorkbookIOError) as exc:
            raise WorkbookIOError(f"{self.formulas.where(row, col)}: bad value ({exc})") from exc

    @staticmethod
    def _append(parts: _Parts, cells: ChunkCells, idx: np.ndarray, values, texts) -> None:
        if len(idx) == 0:
            return
        parts.rows.append(cells.rows[idx])
        parts.cols.append(cells.cols[idx])
        parts.values.extend(values)
        if parts.texts is not None:
            parts.texts.extend(texts)

    def finish(self) -> SheetCells:
        return SheetCells(
            formulas=self.formula_parts.grouped(self.sheet),
            values=self.value_parts.grouped(self.sheet),
            arrays=self.formulas.arrays,
            array_cached=self.array_cached,
        )


def sorted_column(sheet: str, col: int, rows: list[int], values: list, texts) -> ColumnCells:
    """Columns come in row order from a well-formed file; sort (and drop repeats) otherwise."""
    if len(rows) > 1 and bool((np.diff(np.array(rows)) <= 0).any()):
        last: dict[int, int] = {row: i for i, row in enumerate(rows)}  # a repeated cell: last wins
        order = sorted(last.values(), key=rows.__getitem__)
        rows = [rows[i] for i in order]
        values = [values[i] for i in order]
        texts = None if texts is None else [texts[i] for i in order]
    return ColumnCells(sheet, col, rows, values, texts)
