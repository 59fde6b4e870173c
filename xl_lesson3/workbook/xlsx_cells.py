"""Set cell values inside one worksheet part by editing its XML text, not by re-serialising it.

Why strings and not an XML tree: writing a sheet back through ElementTree or openpyxl rewrites
namespace prefixes, attribute order, whitespace and every element Python does not model, so a
write-back would touch the whole part. Here each changed ``<c>`` element is cut out and replaced;
every byte between changed cells stays as it was. Missing ``<row>``/``<c>`` elements are created
in row/column order, as the file format requires.

Excel's encoding of a cell (ECMA-376 part 1, 18.3.1.4): ``t`` is the type (absent = number,
``b`` bool, ``e`` error, ``str`` a formula's text result, ``inlineStr`` a text constant held in
``<is>``, ``s`` an index into the shared-string table); the children come in the order
``<f>`` (formula), ``<v>`` (value), ``<is>``, ``<extLst>``. A formula cell keeps its ``<f>``
(shared and array formulas included) and only gets a new cached ``<v>``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from openpyxl.utils.cell import column_index_from_string, get_column_letter

from xl_lesson3.errors import WorkbookIOError, located

ERROR_TEXTS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})

_SHEET_DATA_RE = re.compile(r"<(?:(\w+):)?sheetData\b[^>]*?(/?)>")
_ATTR_RE = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_T_ATTR_RE = re.compile(r"""\s+t\s*=\s*(?:"[^"]*"|'[^']*')""")
_CELL_REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
# Characters XML 1.0 cannot hold; Excel writes them as _xHHHH_ escapes.
_XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")
_EXCEL_ESCAPE_RE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def _element_re(prefix: str, tag: str) -> re.Pattern[str]:
    """``<p:tag attrs/>`` or ``<p:tag attrs>inner</p:tag>``; groups: attrs, inner (None: empty)."""
    p = re.escape(prefix)
    return re.compile(rf"<{p}{tag}\b([^>]*?)(?:/>|>(.*?)</{p}{tag}>)", re.DOTALL)


def attribute(attrs: str, name: str) -> str | None:
    """The value of attribute `name` in an element's attribute text, or None."""
    for match in _ATTR_RE.finditer(attrs):
        if match.group(1) == name:
            return match.group(2) if match.group(2) is not None else match.group(3)
    return None


def _cell_position(ref: str) -> tuple[int, int]:
    match = _CELL_REF_RE.match(ref)
    if not match:
        raise ValueError(ref)
    return int(match.group(2)), column_index_from_string(match.group(1).upper())


def _excel_text(text: str) -> str:
    """Escape text for an XML text node the way Excel does (``_x000D_`` for control chars)."""
    text = _EXCEL_ESCAPE_RE.sub(r"_x005F_\1", text)  # a literal "_x0041_" must stay literal
    text = _XML_ILLEGAL_RE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return escape(text)


def _number_text(value: numbers.Real) -> str:
    """Shortest text that reads back as the same double; integral values without ``.0``."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def encode_value(value: object, *, formula: bool, prefix: str = "") -> tuple[str | None, str]:
    """The ``t`` attribute (None = number/no value) and the XML children holding `value`.

    `formula`: the cell holds a formula (or lies inside an array formula's range), so text is a
    cached result (``t="str"`` with ``<v>``) rather than a constant (``t="inlineStr"``). A float
    that is not finite becomes ``#NUM!``, which is what Excel shows for an overflow. An object that
    is none of None/bool/number/str counts as an Excel error when its ``str()`` is an error text
    (``#DIV/0!``), which is how the formula engine's ``ExcelError`` prints.
    """
    if value is None:
        return None, ""
    v = f"{prefix}v"
    if isinstance(value, (bool, np.bool_)):
        return "b", f"<{v}>{int(bool(value))}</{v}>"
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            return "e", f"<{v}>#NUM!</{v}>"
        return None, f"<{v}>{_number_text(value)}</{v}>"
    if isinstance(value, str):
        text = _excel_text(value)
        if formula:
            return "str", f"<{v}>{text}</{v}>"
        t = f"{prefix}t"
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return "inlineStr", f"<{prefix}is><{t}{space}>{text}</{t}></{prefix}is>"
    if str(value) in ERROR_TEXTS:
        return "e", f"<{v}>{value}</{v}>"
    raise TypeError(f"cannot store a {type(value).__name__} in a cell")


class _SheetPatcher:
    """Patches the ``<sheetData>`` of one worksheet part; see the module docstring."""

    def __init__(self, xml: str, sheet: str) -> None:
        self.xml = xml
        self.sheet = sheet
        opening = _SHEET_DATA_RE.search(xml)
        if opening is None:
            raise WorkbookIOError(located(sheet, "the worksheet part has no <sheetData>"))
        self.opening = opening
        self.prefix = f"{opening.group(1)}:" if opening.group(1) else ""
        self.row_re = _element_re(self.prefix, "row")
        self.cell_re = _element_re(self.prefix, "c")
        self.formula_re = _element_re(self.prefix, "f")
        self.ext_re = _element_re(self.prefix, "extLst")
        self.array_ranges = self._array_ranges()

    def _array_ranges(self) -> list[tuple[int, int, int, int]]:
        """(min_row, min_col, max_row, max_col) of every array formula on the sheet."""
        ranges = []
        for match in re.finditer(rf"<{re.escape(self.prefix)}f\b([^>]*)>", self.xml):
            ref = attribute(match.group(1), "ref")
            if attribute(match.group(1), "t") != "array" or not ref:
                continue
            first, _, last = ref.partition(":")
            (r1, c1), (r2, c2) = _cell_position(first), _cell_position(last or first)
            ranges.append((r1, c1, r2, c2))
        return ranges

    def _in_array(self, row: int, col: int) -> bool:
        return any(r1 <= row <= r2 and c1 <= col <= c2 for r1, c1, r2, c2 in self.array_ranges)

    def patch(self, updates: Mapping[tuple[int, int], object]) -> str:
        """The sheet XML with every (row, col) in `updates` set to its value."""
        by_row: dict[int, dict[int, object]] = {}
        for (row, col), value in updates.items():
            by_row.setdefault(row, {})[col] = value
        xml, opening = self.xml, self.opening
        if opening.group(2):  # <sheetData/>: an empty sheet
            tag = f"{self.prefix}sheetData"
            body = self._patch_rows("", by_row)
            return f"{xml[: opening.start()]}<{tag}>{body}</{tag}>{xml[opening.end() :]}"
        closing = xml.find(f"</{self.prefix}sheetData>", opening.end())
        if closing < 0:
            raise WorkbookIOError(located(self.sheet, "the worksheet part has no </sheetData>"))
        body = self._patch_rows(xml[opening.end() : closing], by_row)
        return xml[: opening.end()] + body + xml[closing:]

    def _patch_rows(self, body: str, by_row: dict[int, dict[int, object]]) -> str:
        existing = []  # (row number, match); a row without r= follows the previous one
        number = 0
        for match in self.row_re.finditer(body):
            r = attribute(match.group(1), "r")
            number = int(r) if r else number + 1
            existing.append((number, match))
        pending = sorted(by_row.items())
        return _merge(body, existing, pending, self._new_row, self._patch_row)

    def _new_row(self, row: int, cells: dict[int, object]) -> str:
        inner = "".join(self._new_cell(row, col, value) for col, value in sorted(cells.items()))
        tag = f"{self.prefix}row"
        return f'<{tag} r="{row}">{inner}</{tag}>' if inner else ""

    def _patch_row(self, row: int, match: re.Match[str], cells: dict[int, object]) -> str:
        attrs, inner = match.group(1), match.group(2) or ""
        existing = []
        col = 0
        for cell in self.cell_re.finditer(inner):
            ref = attribute(cell.group(1), "r")
            col = _cell_position(ref)[1] if ref else col + 1
            existing.append((col, cell))
        pending = sorted(cells.items())

        def patch_cell(col: int, cell: re.Match[str], value: object) -> str:
            return self._patch_cell(row, col, cell, value)

        def new_cell(col: int, value: object) -> str:
            return self._new_cell(row, col, value)

        new_inner = _merge(inner, existing, pending, new_cell, patch_cell)
        if new_inner == inner:
            return match.group(0)
        if match.group(2) is None:  # was <row .../>
            attrs = attrs.rstrip()
        attrs = _widen_spans(attrs, [c for c, _ in pending])
        tag = f"{self.prefix}row"
        return f"<{tag}{attrs}>{new_inner}</{tag}>"

    def _new_cell(self, row: int, col: int, value: object) -> str:
        if value is None:
            return ""
        t, content = self._encode(row, col, value, self._in_array(row, col))
        tag = f"{self.prefix}c"
        t_attr = f' t="{t}"' if t else ""
        return f'<{tag} r="{get_column_letter(col)}{row}"{t_attr}>{content}</{tag}>'

    def _patch_cell(self, row: int, col: int, cell: re.Match[str], value: object) -> str:
        attrs, inner = cell.group(1), cell.group(2) or ""
        formula = self.formula_re.search(inner)
        is_formula = formula is not None or self._in_array(row, col)
        t, content = self._encode(row, col, value, is_formula)
        attrs = _T_ATTR_RE.sub("", attrs).rstrip()
        if t:
            attrs = f'{attrs} t="{t}"'
        ext = self.ext_re.search(inner)
        children = (formula.group(0) if formula else "") + content + (ext.group(0) if ext else "")
        tag = f"{self.prefix}c"
        return f"<{tag}{attrs}>{children}</{tag}>" if children else f"<{tag}{attrs}/>"

    def _encode(self, row: int, col: int, value: object, formula: bool) -> tuple[str | None, str]:
        try:
            return encode_value(value, formula=formula, prefix=self.prefix)
        except TypeError as exc:
            where = f"{self.sheet}!{get_column_letter(col)}{row}"
            raise WorkbookIOError(located(where, str(exc))) from exc


def _merge(
    text: str,
    existing: list[tuple[int, re.Match[str]]],
    pending: list[tuple[int, Any]],
    make_new: Callable[[int, Any], str],
    patch_old: Callable[[int, re.Match[str], Any], str],
) -> str:
    """Walk `existing` (index, match) elements of `text` and sorted `pending` (index, update).

    Updates whose index matches an element patch it (`patch_old(index, match, update)`); the others
    become new elements (`make_new(index, update)`) placed before the first larger index. Text
    between elements is copied unchanged.
    """
    pieces: list[str] = []
    pos = 0
    i = 0
    for index, match in existing:
        fresh = []
        while i < len(pending) and pending[i][0] < index:
            fresh.append(make_new(*pending[i]))
            i += 1
        if fresh:
            pieces += [text[pos : match.start()], *fresh]
            pos = match.start()
        if i < len(pending) and pending[i][0] == index:
            pieces += [text[pos : match.start()], patch_old(index, match, pending[i][1])]
            pos = match.end()
            i += 1
    tail_at = existing[-1][1].end() if existing else 0
    tail_at = max(tail_at, pos)
    pieces.append(text[pos:tail_at])
    pieces += [make_new(*item) for item in pending[i:]]
    pieces.append(text[tail_at:])
    return "".join(pieces)


def _widen_spans(attrs: str, cols: list[int]) -> str:
    """Keep a row's optional ``spans="first:last"`` hint covering cells that were added."""
    spans = attribute(attrs, "spans")
    if not spans or not cols or not re.fullmatch(r"\d+:\d+", spans):
        return attrs
    first, last = (int(x) for x in spans.split(":"))
    new = f"{min(first, *cols)}:{max(last, *cols)}"
    if new == spans:
        return attrs
    return re.sub(r"""(\bspans\s*=\s*)(["'])[^"']*\2""", rf'\g<1>"{new}"', attrs, count=1)


def patch_sheet_xml(xml: str, updates: Mapping[tuple[int, int], object], sheet: str) -> str:
    """`xml` (one worksheet part) with each (row, col) of `updates` set; see the module docstring.

    Values: None (clears a constant, or drops a formula's cached value), bool, int/float (numpy
    scalars too), str, or an Excel error. `sheet` is used in error messages only.
    """
    if not updates:
        return xml
    return _SheetPatcher(xml, sheet).patch(updates)
