"""What both worksheet readers share: cell values by type, and formulas by kind.

Formulas, as Excel stores them in ``<f>``:

- plain ``<f>text</f>``: ``=text``;
- shared (``t="shared" si=..``): the master's text shifted to each member (`r1c1.SharedFormula`);
- array (``t="array" ref=..``, a legacy CSE array or a dynamic-array spill whose cell carries
  ``cm=`` metadata): an `ArrayFormula` on its anchor; the block's other cells (stored with an
  empty ``<f/>`` or none at all) belong to the array and are no cells of their own; their saved
  values are kept when asked for (`WorkbookModel.cached_value`);
- what-if data tables (``t="dataTable"``): an array formula ``=TABLE(row input, column input)``
  over the table's block, as Excel displays it; the engine refuses those cells, not the workbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl.utils.datetime import from_ISO8601, to_excel

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.formula.parse.r1c1 import SharedFormula
from xl_lesson3.formula.scalars import ExcelError, is_error_text
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.columns import ColumnCells
from xl_lesson3.workbook.model import ArrayFormula
from xl_lesson3.workbook.xlsx_package import unescape_xstring

KEY_COLS = 1 << 14  # Excel's column count: row * KEY_COLS + col numbers a cell
MAX_LISTED_MEMBERS = 5_000_000


@dataclass
class SheetCells:
    """One sheet's cells as columns, its array formulas, and its array members' saved values."""

    formulas: dict[int, ColumnCells] = field(default_factory=dict)
    values: dict[int, ColumnCells] = field(default_factory=dict)
    arrays: dict[CellAddress, ArrayFormula] = field(default_factory=dict)
    array_cached: dict[CellAddress, Any] = field(default_factory=dict)
    # Where each cell's bytes are (`sheet_layout.SheetLayout`), when the reader was asked and
    # the columnar reader read the part; else None.
    layout: Any = None


class FormulaReader:
    """Turns one sheet's ``<f>`` elements into formula texts, in file order.

    Keeps the shared-formula masters met so far and the array blocks (members come after their
    anchor in a well-formed file, which is row-major).
    """

    def __init__(self, path: Path, sheet: str) -> None:
        self.path, self.sheet = path, sheet
        self.shared: dict[str, SharedFormula] = {}
        self.arrays: dict[CellAddress, ArrayFormula] = {}
        # Blocks of more than one cell (a one-cell array has no members): r1, r2, c1, c2; and
        # their members' keys (row * KEY_COLS + col) while they are few enough to list.
        self.blocks: list[tuple[int, int, int, int]] = []
        self.member_keys: set[int] | None = set()

    def text(self, row: int, col: int, attrs: Mapping[str, str], body: str | None, cm: bool):
        """The formula text of the cell at (`row`, `col`), or None for an empty ``<f/>``."""
        kind = attrs.get("t")
        if kind == "shared":
            group = attrs.get("si", "")
            if body:
                formula = "=" + body
                self.shared[group] = SharedFormula(formula, row, col)
                return formula
            if group in self.shared:
                return self.shared[group].at(row, col)
            raise WorkbookIOError(f"{self.where(row, col)}: shared formula {group} has no master")
        if kind == "array" or kind == "dataTable":
            return self._array(row, col, attrs, body, cm)
        return "=" + body if body else None

    def shared_members(self, group: str, rows: list[int], cols: list[int]) -> list[str]:
        """The texts of shared formula `group`'s members at (`rows[i]`, `cols[i]`), members
        stored as an empty ``<f t="shared" si=".."/>``; a column's members in one step."""
        master = self.shared.get(group)
        if master is None:
            where = self.where(rows[0], cols[0])
            raise WorkbookIOError(f"{where}: shared formula {group} has no master")
        if len(set(cols)) == 1:
            return master.at_rows(rows, cols[0])
        return [master.at(row, col) for row, col in zip(rows, cols, strict=True)]

    def _array(self, row: int, col: int, attrs: Mapping[str, str], body, cm: bool) -> str:
        anchor = CellAddress(self.sheet, row, col)
        try:
            block = RangeAddress.parse(attrs.get("ref") or anchor.coordinate, self.sheet)
        except (ValueError, WorkbookIOError) as exc:
            raise WorkbookIOError(f"{self.where(row, col)}: bad array range") from exc
        if attrs.get("t") == "dataTable":
            first, second = attrs.get("r1", ""), attrs.get("r2", "")
            if attrs.get("dt2D") in ("1", "true"):
                text = f"=TABLE({first},{second})"
            elif attrs.get("dtr") in ("1", "true"):
                text = f"=TABLE({first},)"
            else:
                text = f"=TABLE(,{first})"
        else:
            text = "=" + (body or "")
        self.arrays[anchor] = ArrayFormula(block, text, dynamic=cm)
        if block.shape != (1, 1):
            self._add_block(block.min_row, block.max_row, block.min_col, block.max_col)
        return text

    def _add_block(self, r1: int, r2: int, c1: int, c2: int) -> None:
        self.blocks.append((r1, r2, c1, c2))
        if self.member_keys is None:
            return
        if len(self.member_keys) + (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_LISTED_MEMBERS:
            self.member_keys = None  # huge blocks: `member` scans the blocks instead
            return
        self.member_keys.update(
            row * KEY_COLS + col
            for row in range(r1, r2 + 1)
            for col in range(c1, c2 + 1)
            if row != r1 or col != c1
        )

    def member(self, row: int, col: int) -> bool:
        """True for a cell inside an array block other than its anchor."""
        if self.member_keys is not None:
            return row * KEY_COLS + col in self.member_keys
        for r1, r2, c1, c2 in self.blocks:
            if r1 <= row <= r2 and c1 <= col <= c2 and (row != r1 or col != c1):
                return True
        return False

    def where(self, row: int, col: int) -> str:
        return f"{self.path}: {CellAddress(self.sheet, row, col)}"


def number(text: str) -> float:
    """A numeric cell's text: always a float (Excel's numbers are doubles; the fast path's bulk
    conversion gives floats too)."""
    return float(text)


def typed_value(kind: str | None, text: str, strings: list[str]) -> Any:
    """A cell's stored value by its type attribute (``t``)."""
    if not kind or kind == "n":
        return number(text)
    if kind == "s":
        try:
            return strings[int(text)]
        except (ValueError, IndexError) as exc:
            raise WorkbookIOError(f"shared string {text!r} does not exist") from exc
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "e":
        return ExcelError.from_text(text) if is_error_text(text) else text
    if kind == "d":
        return float(to_excel(from_ISO8601(text)))
    if kind == "str":  # a formula's text result: Excel escapes control characters as _xHHHH_
        return unescape_xstring(text)
    return text  # inlineStr
