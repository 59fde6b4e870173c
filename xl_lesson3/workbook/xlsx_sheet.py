"""Read one worksheet part into columns: rows, values and formula texts per sheet column.

`read_sheet` takes the fast path (`xlsx_fastsheet`) and falls back to the element reader here
when the part is not in the canonical form the fast path matches. The element reader streams
``<sheetData>`` a row element at a time through the hardened parser (`xml_safe`), clearing each
row once read, so memory holds the columns and nothing of the XML. Values stay as stored:
numbers, shared or inline strings, booleans, error values; dates are serial numbers because
nothing here looks at styles. Formulas: see `xlsx_formulas`.
"""

from __future__ import annotations

from typing import Any

from openpyxl.utils.cell import column_index_from_string

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.xlsx_columnar import read_sheet_columnar
from xl_lesson3.workbook.xlsx_fastscan import NotCanonical
from xl_lesson3.workbook.xlsx_fastsheet import read_sheet_fast, sorted_column
from xl_lesson3.workbook.xlsx_formulas import FormulaReader, SheetCells, typed_value
from xl_lesson3.workbook.xlsx_package import Package, item_text

_MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_DIGITS = "0123456789"


def read_sheet(
    package: Package,
    part: str,
    sheet: str,
    strings: list[str],
    cached_values: bool,
    layout: bool = False,
) -> SheetCells:
    """Read the worksheet `part` of `package` as sheet `sheet`.

    `strings` is the shared string table; `cached_values` keeps formula cells' saved results
    (otherwise their value is None: the engine recalculates). `layout`: note where each cell's
    bytes are, for a write-back (only the columnar reader does; the others leave it None).
    """
    try:
        return read_sheet_columnar(package, part, sheet, strings, cached_values, layout)
    except NotCanonical:
        pass
    try:
        return read_sheet_fast(package, part, sheet, strings, cached_values)
    except NotCanonical:
        pass
    return _ElementReader(package, part, sheet, strings, cached_values).run()


class _Tags:
    """The element names of one namespace, spelled out once for the hot loop."""

    def __init__(self, namespace: str) -> None:
        self.row, self.v, self.f, self.is_ = (
            f"{{{namespace}}}{n}" for n in ("row", "v", "f", "is")
        )


_TAGS = {tags.row: tags for tags in (_Tags(ns) for ns in _MAIN_NAMESPACES)}


class _ElementReader:
    def __init__(
        self, package: Package, part: str, sheet: str, strings: list[str], cached: bool
    ) -> None:
        self.package, self.part, self.sheet = package, part, sheet
        self.strings, self.cached = strings, cached
        self.out = SheetCells()
        self.value_cols: dict[int, tuple[list[int], list[Any]]] = {}
        self.formula_cols: dict[int, tuple[list[int], list[Any], list[str]]] = {}
        self.formulas = FormulaReader(package.path, sheet)
        self.col_of: dict[str, int] = {}

    def run(self) -> SheetCells:
        row = 0
        for elem in self.package.elements(self.part):
            tags = _TAGS.get(elem.tag)
            if tags is None:
                continue
            row_text = elem.get("r")
            row = int(row_text) if row_text else row + 1
            self._row(elem, row, tags)
            elem.clear()
        return self._finish()

    def _row(self, row_elem: Any, row: int, tags: _Tags) -> None:
        col = 0
        for c in row_elem:
            ref = c.get("r")
            if ref is None:
                col += 1
            else:
                letters = ref.rstrip(_DIGITS)
                col = self.col_of.get(letters) or self._column(letters, ref)
            text = formula = None
            for child in c:
                if child.tag == tags.v:
                    text = child.text
                elif child.tag == tags.f:
                    formula = child
                elif child.tag == tags.is_:
                    text = item_text(child)
            if self.formulas.blocks and self.formulas.member(row, col):
                self._member(row, col, c.get("t"), text, formula)
                continue
            self._cell(row, col, c, text, formula)

    def _cell(self, row: int, col: int, c: Any, text: str | None, f: Any) -> None:
        kind = c.get("t")
        formula = None
        if f is not None:
            formula = self.formulas.text(row, col, f.attrib, f.text, c.get("cm") is not None)
        value = None
        if text is not None and (self.cached or formula is None):
            value = self._value(kind, text, row, col)
        if formula is not None:
            rows, values, texts = self.formula_cols.setdefault(col, ([], [], []))
            rows.append(row)
            values.append(value)
            texts.append(formula)
        elif value is not None:
            rows, values = self.value_cols.setdefault(col, ([], []))
            rows.append(row)
            values.append(value)

    def _member(self, row: int, col: int, kind, text: str | None, f: Any) -> None:
        if f is not None and f.text:
            where = self.formulas.where(row, col)
            raise WorkbookIOError(f"{where}: a formula inside another array formula")
        if self.cached and text is not None:
            value = self._value(kind, text, row, col)
            self.out.array_cached[CellAddress(self.sheet, row, col)] = value

    def _value(self, kind: str | None, text: str, row: int, col: int) -> Any:
        try:
            return typed_value(kind, text, self.strings)
        except (ValueError, WorkbookIOError) as exc:
            raise WorkbookIOError(f"{self.formulas.where(row, col)}: bad value ({exc})") from exc

    def _column(self, letters: str, ref: str) -> int:
        try:
            col = column_index_from_string(letters)
        except ValueError as exc:
            where = f"{self.package.path}: {self.sheet}!{ref}"
            raise WorkbookIOError(f"{where}: bad cell reference") from exc
        self.col_of[letters] = col
        return col

    def _finish(self) -> SheetCells:
        for col, (rows, values) in self.value_cols.items():
            self.out.values[col] = sorted_column(self.sheet, col, rows, values, None)
        for col, (rows, values, texts) in self.formula_cols.items():
            self.out.formulas[col] = sorted_column(self.sheet, col, rows, values, texts)
        self.out.arrays = self.formulas.arrays
        return self.out
