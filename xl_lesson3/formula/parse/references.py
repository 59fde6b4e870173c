"""Reference syntax: the text of one reference operand → `A1Ref`, `NameRef` or `StructRef`.

Pure text processing (no workbook): the planner binds the result to real cells later
(`xl_lesson3.formula.plan.bind`). openpyxl's tokenizer hands us each reference as one operand token,
structured references included (``Table1[[#This Row],[SibSp]:[Ones]]``).
"""

from __future__ import annotations

import re

from openpyxl.utils.cell import column_index_from_string

from xl_lesson3.errors import FormulaSyntaxError
from xl_lesson3.formula.parse.ast import (
    A1Ref,
    Binary,
    Coord,
    ErrorLiteral,
    ExternalRef,
    NameRef,
    Node,
    SheetSpan,
    StructRef,
)
from xl_lesson3.workbook.address import MAX_COL, MAX_ROW, split_sheet

_CELL = re.compile(r"^(\$?)([A-Za-z]{1,3})(\$?)(\d+)$")
_COLUMN = re.compile(r"^(\$?)([A-Za-z]{1,3})$")
_ROW = re.compile(r"^(\$?)(\d+)$")
_NAME = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.\\?]*$")
_EXTERNAL = re.compile(r"^('?)\[(\d+)\]")
_EXTERNAL_INSIDE = re.compile(r":'?\[\d+\][^\[\]]*!")

SPECIAL_ITEMS = ("all", "data", "headers", "totals", "this row")


def parse_reference(text: str) -> Node:
    """Parse one reference operand; raises FormulaSyntaxError for what Excel would reject."""
    external = _EXTERNAL.match(text)
    if external:
        return _external(text, external)
    if _EXTERNAL_INSIDE.search(text):  # A2:'[2]Sheet'!A2: a range from here into another book
        return ErrorLiteral("#VALUE!")
    if "#REF!" in text.upper():
        return ErrorLiteral("#REF!")
    if "[" in text:
        return _parse_structured(text)
    if text.count(":") > 1 and "'" not in text and text.count("!") <= 1:
        return _range_chain(text)
    bangs = _unquoted_bangs(text)  # a quoted sheet name may hold "!" itself: '!"'!A1
    first_bang, last_bang = (bangs[0], bangs[-1]) if bangs else (-1, -1)
    if first_bang != last_bang:  # Sheet2!A1:Sheet2!B2
        colon = text.rfind(":", first_bang, last_bang)
        sheet, first = split_sheet(text[:colon])
        other_sheet, last = split_sheet(text[colon + 1 :])
        if colon < 0 or other_sheet != sheet or ":" in first:
            raise FormulaSyntaxError(f"{text}: a range must stay on one sheet")
        sep = ":"
    else:
        sheet, ref = split_sheet(text) if "!" in text else (None, text)
        first, sep, last = ref.partition(":")
    if sheet is not None and _is_3d(sheet):
        first_sheet, _, last_sheet = sheet.partition(":")
        parsed = _parse_a1(None, first, last if sep else None)
        if parsed is None:
            raise FormulaSyntaxError(f"{text}: not a valid 3-D reference")
        return SheetSpan(first_sheet, last_sheet, parsed)
    parsed = _parse_a1(sheet, first, last if sep else None)
    if parsed is not None:
        return parsed
    if not sep and _NAME.match(first):
        return NameRef(sheet, first)
    raise FormulaSyntaxError(f"{text}: not a valid reference")


def _external(text: str, match: re.Match) -> Node:
    """``[1]Sheet1!$A$1``, ``'[2]My Sheet'!A1``, ``[2]!Name``: book number and inner reference."""
    rest = match.group(1) + text[match.end() :]  # '[2]My Sheet'!A1 → 'My Sheet'!A1
    if rest.startswith("!"):  # a name defined in the other book
        return ExternalRef(int(match.group(2)), NameRef(None, rest[1:]))
    return ExternalRef(int(match.group(2)), parse_reference(rest))


def _unquoted_bangs(text: str) -> list[int]:
    """Positions of the ``!`` outside quoted sheet names (``''`` is a quote inside one)."""
    found, quoted = [], False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted  # '' inside a name toggles twice: still quoted
        elif ch == "!" and not quoted:
            found.append(i)
    return found


def _range_chain(text: str) -> Node:
    """``C14:E14:G13:I14``: the range operator between cells (or names), i.e. their bounding
    rectangle."""
    sheet, body = split_sheet(text) if "!" in text else (None, text)
    pieces = body.split(":")
    # a piece may be a defined name: B2:E5:f spans B2:E5 and the range named f
    nodes = [
        _parse_a1(sheet, piece, None) or (NameRef(sheet, piece) if _NAME.match(piece) else None)
        for piece in pieces
    ]
    if any(node is None for node in nodes):
        raise FormulaSyntaxError(f"{text}: not a valid reference")
    node: Node = nodes[0]
    for other in nodes[1:]:
        node = Binary(":", node, other)
    return node


def _is_3d(sheet: str) -> bool:
    return ":" in sheet and not sheet.startswith("'")


def _parse_a1(sheet: str | None, first: str, last: str | None) -> A1Ref | None:
    """Cells/ranges (``$A$1``, ``A1:B2``), whole columns (``A:C``), whole rows (``2:5``)."""
    a = _CELL.match(first)
    if a and (last is None or _CELL.match(last)):
        b = _CELL.match(last) if last is not None else a
        r1, c1 = _cell_coords(a)
        r2, c2 = _cell_coords(b)
        return A1Ref(sheet, r1, c1, r2, c2)
    if last is None:
        return None
    ca, cb = _COLUMN.match(first), _COLUMN.match(last)
    if ca and cb:
        c1, c2 = _col_coord(ca.group(1), ca.group(2)), _col_coord(cb.group(1), cb.group(2))
        return A1Ref(sheet, None, c1, None, c2)
    ra, rb = _ROW.match(first), _ROW.match(last)
    if ra and rb:
        r1, r2 = _row_coord(ra.group(1), ra.group(2)), _row_coord(rb.group(1), rb.group(2))
        return A1Ref(sheet, r1, None, r2, None)
    return None


def _cell_coords(match: re.Match) -> tuple[Coord, Coord]:
    col = _col_coord(match.group(1), match.group(2))
    row = _row_coord(match.group(3), match.group(4))
    return row, col


def _col_coord(dollar: str, letters: str) -> Coord:
    col = column_index_from_string(letters.upper())
    if col > MAX_COL:
        raise FormulaSyntaxError(f"{letters}: column out of range")
    return Coord(col, bool(dollar))


def _row_coord(dollar: str, digits: str) -> Coord:
    row = int(digits)
    if not 1 <= row <= MAX_ROW:
        raise FormulaSyntaxError(f"{digits}: row out of range")
    return Coord(row, bool(dollar))


# -- structured references ----------------------------------------------------------------------


def _parse_structured(text: str) -> StructRef:
    """``Table1[Age]``, ``Table1[[#This Row],[A]:[B]]``, ``[@Age]``, ``Table1[#Data]`` ..."""
    open_at = text.index("[")
    if not text.endswith("]"):
        raise FormulaSyntaxError(f"{text}: unbalanced brackets in a structured reference")
    table = text[:open_at].strip() or None
    if table is not None and "!" in table:  # Sheet1!Table1[...] is legal; the sheet is redundant
        table = split_sheet(table)[1]
    body = text[open_at + 1 : -1].strip()
    items: list[str] = []
    columns: list[str] = []
    range_sep = False
    if body.startswith("@"):
        items.append("this row")
        body = body[1:].strip()
    if body and "[" not in body:
        _classify(body, items, columns, text)
    elif body:
        for part, sep in _bracket_items(body, text):
            _classify(part, items, columns, text)
            range_sep = range_sep or sep == ":"
    if len(columns) > 2 or (len(columns) == 2 and not range_sep):
        raise FormulaSyntaxError(f"{text}: unions of table columns are not supported")
    for item in items:
        if item not in SPECIAL_ITEMS:
            raise FormulaSyntaxError(f"{text}: unknown special item #{item}")
    first = columns[0] if columns else None
    last = columns[-1] if columns else None
    return StructRef(table, tuple(dict.fromkeys(items)), first, last)


def _classify(part: str, items: list[str], columns: list[str], text: str) -> None:
    part = part.strip()
    if part.startswith("#"):
        items.append(part[1:].strip().lower())
    elif part:
        columns.append(_unescape(part))
    else:
        raise FormulaSyntaxError(f"{text}: empty item in a structured reference")


def _bracket_items(body: str, text: str) -> list[tuple[str, str]]:
    """Split ``[#This Row],[A]:[B]`` into [(item, separator before it)]."""
    found: list[tuple[str, str]] = []
    i, sep = 0, ""
    while i < len(body):
        ch = body[i]
        if ch in " ,:":
            if ch != " ":
                sep = ch
            i += 1
            continue
        if ch != "[":
            raise FormulaSyntaxError(f"{text}: unexpected {ch!r} in a structured reference")
        j = i + 1
        while j < len(body) and body[j] != "]":
            j += 2 if body[j] == "'" else 1
        if j >= len(body):
            raise FormulaSyntaxError(f"{text}: unbalanced brackets in a structured reference")
        found.append((body[i + 1 : j], sep))
        i, sep = j + 1, ""
    return found


def _unescape(name: str) -> str:
    """Column names escape ``[ ] # '`` with a leading apostrophe."""
    out, i = [], 0
    while i < len(name):
        if name[i] == "'" and i + 1 < len(name):
            i += 1
        out.append(name[i])
        i += 1
    return "".join(out)
