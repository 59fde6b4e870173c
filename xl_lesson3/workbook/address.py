"""Cell and range addresses that always carry their sheet.

Rows and columns are 1-based, as in Excel. The text form quotes sheet names that need it:
``Sheet1!B3``, ``'My Sheet'!B3:D9``. No bare ``"B3"`` strings travel between modules; parse them
here with the sheet they belong to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from openpyxl.utils.cell import column_index_from_string, get_column_letter

from xl_lesson3.errors import UnknownReferenceError

MAX_ROW = 1_048_576
MAX_COL = 16_384

_CELL_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_SIMPLE_SHEET_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def quote_sheet(sheet: str) -> str:
    """Quote a sheet name the way Excel does when it holds spaces or punctuation."""
    if _SIMPLE_SHEET_RE.match(sheet) and not _CELL_RE.match(sheet):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


def split_sheet(text: str) -> tuple[str | None, str]:
    """Split ``'My Sheet'!A1`` into (``My Sheet``, ``A1``); no sheet gives (None, text)."""
    text = text.strip()
    if "!" not in text:
        return None, text
    sheet, _, ref = text.rpartition("!")
    if sheet.startswith("'") and sheet.endswith("'") and len(sheet) >= 2:
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, ref


@dataclass(frozen=True, order=True, slots=True)  # slots: a big sheet holds millions
class CellAddress:
    """One cell: sheet name, 1-based row and column."""

    sheet: str
    row: int
    col: int

    @property
    def coordinate(self) -> str:
        """The A1 form without the sheet, e.g. ``B3`` (for openpyxl indexing only)."""
        return f"{get_column_letter(self.col)}{self.row}"

    def offset(self, rows: int = 0, cols: int = 0) -> CellAddress:
        return CellAddress(self.sheet, self.row + rows, self.col + cols)

    def __str__(self) -> str:
        return f"{quote_sheet(self.sheet)}!{self.coordinate}"

    @classmethod
    def parse(cls, text: str, default_sheet: str | None = None) -> CellAddress:
        """Parse ``Sheet1!B3`` (or ``B3`` with `default_sheet`)."""
        rng = RangeAddress.parse(text, default_sheet)
        if not rng.is_cell:
            raise UnknownReferenceError(f"{text}: expected a single cell, got a range")
        return rng.top_left


@dataclass(frozen=True, order=True, slots=True)
class RangeAddress:
    """A rectangular block of cells on one sheet (inclusive bounds, 1-based)."""

    sheet: str
    min_row: int
    min_col: int
    max_row: int
    max_col: int

    def __post_init__(self) -> None:
        if self.min_row > self.max_row or self.min_col > self.max_col:
            raise UnknownReferenceError(f"{self.sheet}: empty range {self.min_row},{self.min_col}")

    @classmethod
    def from_cells(cls, first: CellAddress, last: CellAddress) -> RangeAddress:
        """The block spanned by two corner cells, in any order."""
        return cls(
            first.sheet,
            min(first.row, last.row),
            min(first.col, last.col),
            max(first.row, last.row),
            max(first.col, last.col),
        )

    @classmethod
    def from_cell(cls, cell: CellAddress) -> RangeAddress:
        return cls(cell.sheet, cell.row, cell.col, cell.row, cell.col)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (self.max_row - self.min_row + 1, self.max_col - self.min_col + 1)

    @property
    def size(self) -> int:
        rows, cols = self.shape
        return rows * cols

    @property
    def is_cell(self) -> bool:
        return self.shape == (1, 1)

    @property
    def top_left(self) -> CellAddress:
        return CellAddress(self.sheet, self.min_row, self.min_col)

    @property
    def coordinate(self) -> str:
        first = f"{get_column_letter(self.min_col)}{self.min_row}"
        if self.is_cell:
            return first
        return f"{first}:{get_column_letter(self.max_col)}{self.max_row}"

    def cells(self) -> list[CellAddress]:
        """Every cell, row by row (Excel's reading order)."""
        return [
            CellAddress(self.sheet, r, c)
            for r in range(self.min_row, self.max_row + 1)
            for c in range(self.min_col, self.max_col + 1)
        ]

    def contains(self, cell: CellAddress) -> bool:
        return (
            cell.sheet == self.sheet
            and self.min_row <= cell.row <= self.max_row
            and self.min_col <= cell.col <= self.max_col
        )

    def __str__(self) -> str:
        return f"{quote_sheet(self.sheet)}!{self.coordinate}"

    @classmethod
    def parse(cls, text: str, default_sheet: str | None = None) -> RangeAddress:
        """Parse ``Sheet1!A1:B2``, ``'My Sheet'!$A$1``, ``A:C`` or ``2:5`` (whole columns/rows)."""
        sheet, ref = split_sheet(text)
        sheet = sheet if sheet is not None else default_sheet
        if not sheet:
            raise UnknownReferenceError(f"{text}: a reference needs a sheet, e.g. Sheet1!A1")
        first, _, last = ref.replace("$", "").partition(":")
        last = last or first
        try:
            if first.isdigit() and last.isdigit():  # whole rows, 2:5
                return cls(sheet, int(first), 1, int(last), MAX_COL)
            if first.isalpha() and last.isalpha():  # whole columns, A:C
                c1, c2 = (
                    column_index_from_string(first.upper()),
                    column_index_from_string(last.upper()),
                )
                return cls(sheet, 1, min(c1, c2), MAX_ROW, max(c1, c2))
            a, b = _parse_cell(first), _parse_cell(last)
        except ValueError as exc:
            raise UnknownReferenceError(f"{text}: not a cell or range reference") from exc
        return cls.from_cells(CellAddress(sheet, *a), CellAddress(sheet, *b))


def _parse_cell(text: str) -> tuple[int, int]:
    match = _CELL_RE.match(text)
    if not match:
        raise ValueError(text)
    row, col = int(match.group(2)), column_index_from_string(match.group(1).upper())
    if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
        raise ValueError(text)
    return row, col
