"""Bind references to other workbooks to the values Excel saved for them.

Excel computes with its saved copy of a linked workbook while that book is closed (see
`workbook.external_links`); so do we: ``[1]Sheet1!$A$1`` becomes the constant saved for that
cell, a range becomes an array constant. What the copy lacks is what Excel shows then: a sheet
it could not refresh (or does not list) is ``#REF!``, a name defined in the other book
``#NAME?`` (its value is not saved), a cell missing from a listed sheet 0.
"""

from __future__ import annotations

from xl_lesson3.formula.parse.ast import (
    A1Ref,
    ArrayLiteral,
    Bool,
    ErrorLiteral,
    ExternalRef,
    NameRef,
    Node,
    Number,
    Text,
)
from xl_lesson3.formula.scalars import ExcelError
from xl_lesson3.workbook.external_links import external_books
from xl_lesson3.workbook.model import WorkbookModel

# A linked range is inlined as constants: past this many cells we refuse rather than bloat.
MAX_CELLS = 100_000


def bind_external(node: ExternalRef, model: WorkbookModel) -> Node:
    """The saved value(s) `node` refers to, as literal nodes."""
    book = external_books(getattr(model, "source_path", None)).get(node.book)
    ref = node.ref
    if isinstance(ref, NameRef):
        return ErrorLiteral("#NAME?")
    if book is None or not isinstance(ref, A1Ref) or None in (ref.row1, ref.col1):
        return ErrorLiteral("#REF!")
    sheet = (ref.sheet or "").lower()
    if sheet not in {name.lower() for name in book.sheets} or sheet in book.broken:
        return ErrorLiteral("#REF!")
    r1, r2 = sorted((ref.row1.value, ref.row2.value))
    c1, c2 = sorted((ref.col1.value, ref.col2.value))
    if (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_CELLS:
        return ErrorLiteral("#REF!")
    rows = tuple(
        tuple(_literal(book.cells.get((sheet, r, c))) for c in range(c1, c2 + 1))
        for r in range(r1, r2 + 1)
    )
    return rows[0][0] if (r1, c1) == (r2, c2) else ArrayLiteral(rows)


def _literal(value: object) -> Node:
    if value is None:
        return Number(0.0)  # a blank cell of the linked book reads as 0
    if isinstance(value, bool):
        return Bool(value)
    if isinstance(value, ExcelError):
        return ErrorLiteral(value.code.text)
    if isinstance(value, str):
        return Text(value)
    return Number(float(value))
