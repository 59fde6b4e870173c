"""Set cell values inside one worksheet part, streaming, changing only the target ``<c>`` elements.

Why not re-serialise a tree: writing a sheet back through ElementTree or openpyxl rewrites
namespace prefixes, attribute order, whitespace and every element Python does not model, so a
write-back would touch the whole part. Why not regular expressions: they cannot tell a ``<row>``
inside an XML comment or a CDATA section from a real one. So a real XML parser (expat, hardened as
in `xl_lesson3.workbook.safexml`) reads the part chunk by chunk and reports where each element
starts; the bytes are copied to the output as they are, except the byte ranges of the changed
``<c>`` elements, which are replaced, and the places where missing ``<row>``/``<c>`` elements are
inserted in row/column order, as the file format requires. Only the row being patched is held in
memory, never the whole part.

Excel's encoding of a cell (ECMA-376 part 1, 18.3.1.4): ``t`` is the type (absent = number,
``b`` bool, ``e`` error, ``str`` a formula's text result, ``inlineStr`` a text constant held in
``<is>``, ``s`` an index into the shared-string table); the children come in the order
``<f>`` (formula), ``<v>`` (value), ``<is>``, ``<extLst>``. A formula cell keeps its ``<f>``
(shared and array formulas included, byte for byte) and only gets a new cached ``<v>``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import numpy as np
from openpyxl.utils.cell import column_index_from_string, get_column_letter

from xl_lesson3.errors import WorkbookIOError, located
from xl_lesson3.workbook.safexml import StreamParser, encoding_problem

ERROR_TEXTS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})

_CELL_REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
# Characters XML 1.0 cannot hold; Excel writes them as _xHHHH_ escapes.
_XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")
_EXCEL_ESCAPE_RE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
# One start tag, quote-aware (">" may appear inside an attribute value).
START_TAG_RE = re.compile(rb"""<[^"'>]*(?:(?:"[^"]*"|'[^']*')[^"'>]*)*>""")
TAG_NAME_RE = re.compile(rb"<([^\s/>]+)")
_RAW_ATTR_RE = re.compile(rb"""\s+([^\s=/>]+)\s*=\s*("[^"]*"|'[^']*')""")


def cell_position(ref: str) -> tuple[int, int]:
    """(row, col) of an A1 reference such as ``B3`` or ``$B$3``; ValueError otherwise."""
    match = _CELL_REF_RE.match(ref)
    if not match:
        raise ValueError(f"{ref!r} is not a cell reference")
    return int(match.group(2)), column_index_from_string(match.group(1).upper())


def excel_text(text: str) -> str:
    """`text` with Excel's ``_xHHHH_`` escapes for characters XML 1.0 cannot hold (not XML-escaped)."""
    text = _EXCEL_ESCAPE_RE.sub(r"_x005F_\1", text)  # a literal "_x0041_" must stay literal
    return _XML_ILLEGAL_RE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def number_text(value: numbers.Real) -> str:
    """Shortest text that reads back as the same double; integral values without ``.0``."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def stored_form(value: object, *, formula: bool) -> tuple[str | None, str | None]:
    """(``t`` attribute, text of ``<v>`` or ``<is><t>``) that `value` is stored as; None: absent.

    `formula`: the cell holds a formula (or lies inside an array formula's range), so text is a
    cached result (``t="str"``) rather than a constant (``t="inlineStr"``). A float that is not
    finite becomes ``#NUM!``, which is what Excel shows for an overflow. An object that is none
    of None/bool/number/str counts as an Excel error when its ``str()`` is an error text
    (``#DIV/0!``), which is how the formula engine's ``ExcelError`` prints.
    """
    if value is None:
        return None, None
    if isinstance(value, (bool, np.bool_)):
        return "b", str(int(bool(value)))
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            return "e", "#NUM!"
        return None, number_text(value)
    if isinstance(value, str):
        return ("str" if formula else "inlineStr"), excel_text(value)
    if str(value) in ERROR_TEXTS:
        return "e", str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in a cell")


def encode_value(value: object, *, formula: bool, prefix: str = "") -> tuple[str | None, str]:
    """The ``t`` attribute (None = number/no value) and the XML children holding `value`."""
    t, text = stored_form(value, formula=formula)
    if text is None:
        return None, ""
    if t == "inlineStr":
        space = ' xml:space="preserve"' if value != str(value).strip() else ""
        return t, f"<{prefix}is><{prefix}t{space}>{escape(text)}</{prefix}t></{prefix}is>"
    return t, f"<{prefix}v>{escape(text)}</{prefix}v>"


@dataclass
class _Open:
    """A start tag the parser has reported: where it is and what we need of it."""

    local: str
    start: int  # absolute byte offset of "<"
    tag_end: int  # absolute offset just past the start tag's ">"
    empty: bool  # written as <x/>
    attrs: dict[str, str]
    index: int = 0  # row or column number (rows and cells)
    target: bool = False
    children: dict[str, tuple[int, int]] = field(default_factory=dict)  # f/extLst byte spans


class SheetPatcher:
    """Streams one worksheet part through, setting the cells of `updates`; see module docstring.

    `updates`: (row, col) → value (None clears a constant or drops a formula's cached value).
    `write` receives the output in pieces. Call `feed` with consecutive chunks, then `close`.
    """

    def __init__(
        self, updates: Mapping[tuple[int, int], object], sheet: str, write: Callable[[bytes], None]
    ) -> None:
        self.sheet = sheet
        self.write = write
        self.pending: dict[int, dict[int, object]] = {}
        for (row, col), value in updates.items():
            self.pending.setdefault(row, {})[col] = value
        self.row_order = sorted(self.pending)  # pending rows, walked once in file order
        self.next_row = 0
        self.col_order: list[int] = []  # the current target row's pending columns
        self.next_col = 0
        self.buf = bytearray()
        self.base = 0  # absolute offset of buf[0]
        self.splices: list[tuple[int, int, bytes]] = []  # (start, end, new bytes), in order
        self.hold: int | None = None  # nothing at or after this offset may be written yet
        self.last_event = 0
        self.stack: list[_Open] = []
        self.prefix = ""  # the prefix the part uses for its main namespace ("x:" or "")
        self.ns = ""
        self.row_number = 0
        self.col_number = 0
        self.array_ranges: list[tuple[int, int, int, int]] = []
        self.seen_sheet_data = False
        self._added_cols: list[int] = []  # columns of cells added to the row being patched
        self.parser = StreamParser(self._start, self._end, where=sheet)

    # -- streaming -------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the part and write out whatever can no longer change."""
        if self.base == 0 and not self.buf:
            problem = encoding_problem(chunk[:256])
            if problem:
                raise WorkbookIOError(located(self.sheet, problem))
        self.buf += chunk
        self.parser.feed(chunk)
        self._flush(self.hold if self.hold is not None else self.last_event)

    def close(self) -> None:
        """Finish the part; raises WorkbookIOError when the sheet has no ``<sheetData>``."""
        self.parser.close()
        if not self.seen_sheet_data:
            raise WorkbookIOError(located(self.sheet, "the worksheet part has no <sheetData>"))
        self._flush(self.base + len(self.buf))

    def _flush(self, upto: int) -> None:
        # Splices come almost in order (a row's start tag is patched at the row's end), so
        # sorting here is near-linear; those before `upto` are applied, the rest wait.
        self.splices.sort(key=lambda splice: (splice[0], splice[1]))
        pos = self.base
        pieces = []
        done = 0
        for start, end, new in self.splices:
            if start >= upto:
                break
            pieces += [self.buf[pos - self.base : start - self.base], new]
            pos = end
            done += 1
        del self.splices[:done]
        if pos < upto:
            pieces.append(self.buf[pos - self.base : upto - self.base])
            pos = upto
        out = b"".join(pieces)
        if out:
            self.write(out)
        del self.buf[: pos - self.base]
        self.base = pos

    # -- parser events ---------------------------------------------------------------------
    def _start(self, name: str, attrs: dict[str, str], index: int) -> None:
        # Hot path: most elements are neither a target nor needed to find one, so they are
        # pushed as their bare local name; only those we may rewrite get an `_Open` record.
        self.last_event = index
        ns, _, local = name.rpartition(" ")
        if not self.stack:
            self.ns = ns
            self.stack.append(local)
            return
        parent = self.stack[-1]
        parent_local = parent if isinstance(parent, str) else parent.local
        if ns != self.ns:
            self.stack.append(local)
        elif local == "row" and parent_local == "sheetData":
            r = attrs.get("r")
            self.row_number = int(r) if r else self.row_number + 1
            self.col_number = 0
            self._rows_before(self.row_number, index)
            if self.row_number in self.pending:
                self.stack.append(self._start_target_row(self._open(local, index, attrs)))
            else:
                self.stack.append(local)
        elif local == "c" and isinstance(parent, _Open) and parent.local == "row":
            ref = attrs.get("r")  # cells are numbered in target rows only
            self.col_number = cell_position(ref)[1] if ref else self.col_number + 1
            self.stack.append(self._start_cell(self._open(local, index, attrs), parent))
        elif local == "f" and parent_local == "c":
            self._note_array(attrs)
            target = isinstance(parent, _Open) and parent.target
            self.stack.append(self._open(local, index, attrs) if target else local)
        elif local == "extLst" and isinstance(parent, _Open) and parent.target:
            self.stack.append(self._open(local, index, attrs))
        elif local == "sheetData" and len(self.stack) == 1:
            element = self._open(local, index, attrs)
            self.seen_sheet_data = True
            raw_tag = self.buf[index - self.base : element.tag_end - self.base]
            raw_name = TAG_NAME_RE.match(raw_tag).group(1).decode()
            self.prefix = raw_name[: -len("sheetData")]
            self.stack.append(element)
        else:
            self.stack.append(local)

    def _open(self, local: str, index: int, attrs: dict[str, str]) -> _Open:
        """The record of an element we may rewrite: where its start tag ends, whether empty."""
        tag = START_TAG_RE.match(self.buf, index - self.base)
        if tag is None:  # cannot happen for well-formed input: expat reported the tag
            raise WorkbookIOError(located(self.sheet, f"cannot locate <{local}> at byte {index}"))
        text = tag.group(0)
        return _Open(local, index, index + len(text), text.endswith(b"/>"), attrs)

    def _end(self, name: str, index: int) -> None:
        element = self.stack.pop()
        if isinstance(element, str):
            return
        end = element.tag_end if element.empty else self._end_tag_end(index)
        if not element.empty:
            self.last_event = index
        parent = self.stack[-1] if self.stack else None
        if element.local == "sheetData":
            self._end_sheet_data(element, index)
        elif element.local == "row" and element.target:
            self._end_row(element, index, end)
        elif element.local == "c" and element.target:
            self._end_cell(element, end)
        elif isinstance(parent, _Open) and parent.target and element.local in ("f", "extLst"):
            parent.children[element.local] = (element.start, end)

    def _end_tag_end(self, index: int) -> int:
        close = self.buf.find(b">", index - self.base)
        return self.base + close + 1

    # -- rows and cells --------------------------------------------------------------------
    def _rows_before(self, row_number: int, at: int) -> None:
        """Insert the pending rows numbered below `row_number` (missing from the file) at `at`."""
        earlier = []
        while self.next_row < len(self.row_order) and self.row_order[self.next_row] < row_number:
            if self.row_order[self.next_row] in self.pending:
                earlier.append(self.row_order[self.next_row])
            self.next_row += 1
        if earlier:
            self._insert(at, b"".join(self._new_row(n) for n in earlier))

    def _start_target_row(self, row: _Open) -> _Open:
        row.index = self.row_number
        row.target = True
        self.hold = row.start
        self._added_cols = []
        self.col_order = sorted(self.pending[row.index])
        self.next_col = 0
        return row

    def _start_cell(self, cell: _Open, row: _Open) -> _Open:
        cell.index = self.col_number
        cells = self.pending[row.index]
        earlier = []
        while self.next_col < len(self.col_order) and self.col_order[self.next_col] < cell.index:
            if self.col_order[self.next_col] in cells:
                earlier.append(self.col_order[self.next_col])
            self.next_col += 1
        if earlier:
            new = b"".join(self._new_cell(row.index, c, cells.pop(c)) for c in earlier)
            self._insert(cell.start, new)
        cell.target = cell.index in cells
        return cell

    def _note_array(self, attrs: Mapping[str, str]) -> None:
        ref = attrs.get("ref")
        if attrs.get("t") != "array" or not ref:
            return
        first, _, last = ref.partition(":")
        (r1, c1), (r2, c2) = cell_position(first), cell_position(last or first)
        self.array_ranges.append((r1, c1, r2, c2))

    def _end_cell(self, cell: _Open, end: int) -> None:
        row = self.row_number
        value = self.pending[row].pop(cell.index)
        formula = "f" in cell.children or self._in_array(row, cell.index)
        t, content = self._encode(row, cell.index, value, formula)
        raw_tag = bytes(self.buf[cell.start - self.base : cell.tag_end - self.base])
        opening = retag(raw_tag, {"t": t})
        children = (
            self._span(cell.children.get("f"))
            + content.encode()
            + self._span(cell.children.get("extLst"))
        )
        qname = TAG_NAME_RE.match(raw_tag).group(1)
        if children:
            new = opening.removesuffix(b"/>").removesuffix(b">") + b">" + children
            new += b"</" + qname + b">"
        else:
            new = opening.removesuffix(b"/>").removesuffix(b">") + b"/>"
        self._splice(cell.start, end, new)

    def _span(self, span: tuple[int, int] | None) -> bytes:
        if span is None:
            return b""
        return bytes(self.buf[span[0] - self.base : span[1] - self.base])

    def _end_row(self, row: _Open, index: int, end: int) -> None:
        cells = self.pending.pop(row.index)
        new_cells = b"".join(self._new_cell(row.index, c, v) for c, v in sorted(cells.items()))
        raw_tag = bytes(self.buf[row.start - self.base : row.tag_end - self.base])
        widened = _widen_spans(raw_tag, row.attrs.get("spans"), self._added_cols)
        if row.empty and new_cells:
            opening = widened.removesuffix(b"/>").rstrip() + b">"
            qname = TAG_NAME_RE.match(raw_tag).group(1)
            self._splice(row.start, end, opening + new_cells + b"</" + qname + b">")
        else:
            if widened != raw_tag:
                self._splice(row.start, row.tag_end, widened)
            if new_cells:
                self._insert(index, new_cells)
        self._added_cols = []
        self.hold = None

    def _end_sheet_data(self, sheet_data: _Open, index: int) -> None:
        rows = b"".join(self._new_row(n) for n in sorted(self.pending))
        self.pending.clear()
        if not rows:
            return
        if sheet_data.empty:
            raw_tag = bytes(self.buf[sheet_data.start - self.base : sheet_data.tag_end - self.base])
            qname = TAG_NAME_RE.match(raw_tag).group(1)
            opening = raw_tag.removesuffix(b"/>").rstrip() + b">"
            self._splice(
                sheet_data.start, sheet_data.tag_end, opening + rows + b"</" + qname + b">"
            )
        else:
            self._insert(index, rows)

    def _insert(self, at: int, data: bytes) -> None:
        if data:
            self._splice(at, at, data)

    def _splice(self, start: int, end: int, data: bytes) -> None:
        self.splices.append((start, end, data))

    def _new_row(self, row: int) -> bytes:
        cells = self.pending.pop(row, {})
        inner = b"".join(self._new_cell(row, col, value) for col, value in sorted(cells.items()))
        tag = f"{self.prefix}row".encode()
        return b"<" + tag + f' r="{row}">'.encode() + inner + b"</" + tag + b">" if inner else b""

    def _new_cell(self, row: int, col: int, value: object) -> bytes:
        if value is None:
            return b""
        self._added_cols = [*self._added_cols, col]
        t, content = self._encode(row, col, value, self._in_array(row, col))
        tag = f"{self.prefix}c"
        t_attr = f' t="{t}"' if t else ""
        return f'<{tag} r="{get_column_letter(col)}{row}"{t_attr}>{content}</{tag}>'.encode()

    def _in_array(self, row: int, col: int) -> bool:
        return any(r1 <= row <= r2 and c1 <= col <= c2 for r1, c1, r2, c2 in self.array_ranges)

    def _encode(self, row: int, col: int, value: object, formula: bool) -> tuple[str | None, str]:
        try:
            return encode_value(value, formula=formula, prefix=self.prefix)
        except TypeError as exc:
            where = f"{self.sheet}!{get_column_letter(col)}{row}"
            raise WorkbookIOError(located(where, str(exc))) from exc


def retag(raw_tag: bytes, changes: Mapping[str, str | None]) -> bytes:
    """Start tag `raw_tag` with the unprefixed attributes of `changes` set (None: removed).

    The other attributes keep their text, quotes and order; a changed one goes last.
    """
    name = TAG_NAME_RE.match(raw_tag)
    pos = name.end()
    kept = [raw_tag[:pos]]
    for match in _RAW_ATTR_RE.finditer(raw_tag, pos):
        if match.start() != pos:
            break
        pos = match.end()
        if match.group(1).decode() not in changes:
            kept.append(match.group(0))
    kept += [f' {key}="{value}"'.encode() for key, value in changes.items() if value is not None]
    closing = b"/>" if raw_tag.endswith(b"/>") else b">"
    return b"".join(kept) + closing


def _widen_spans(raw_tag: bytes, spans: str | None, cols: Iterable[int]) -> bytes:
    """Keep a row's optional ``spans="first:last"`` hint covering cells that were added."""
    cols = list(cols)
    if not spans or not cols or not re.fullmatch(r"\d+:\d+", spans):
        return raw_tag
    first, last = (int(x) for x in spans.split(":"))
    new = f"{min(first, *cols)}:{max(last, *cols)}"
    return raw_tag if new == spans else retag(raw_tag, {"spans": new})


def patch_sheet_stream(
    chunks: Iterable[bytes],
    updates: Mapping[tuple[int, int], object],
    sheet: str,
    write: Callable[[bytes], None],
) -> None:
    """Stream a worksheet part from `chunks` to `write` with each (row, col) of `updates` set.

    Values: None (clears a constant, or drops a formula's cached value), bool, int/float (numpy
    scalars too), str, or an Excel error. `sheet` is used in error messages only.
    """
    patcher = SheetPatcher(updates, sheet, write)
    for chunk in chunks:
        patcher.feed(chunk)
    patcher.close()


def patch_sheet_xml(xml: str, updates: Mapping[tuple[int, int], object], sheet: str) -> str:
    """`xml` (one whole worksheet part, as text) with each (row, col) of `updates` set."""
    if not updates:
        return xml
    out: list[bytes] = []
    patch_sheet_stream([xml.encode("utf-8")], updates, sheet, out.append)
    return b"".join(out).decode("utf-8")
