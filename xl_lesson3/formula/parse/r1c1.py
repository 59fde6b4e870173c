"""A cheap R1C1 key for formula text, so a column of copied formulas is parsed and bound once.

``=IF(R6<0,0,R6)`` in S6 and ``=IF(R7<0,0,R7)`` in S7 have different texts but the same R1C1
form, ``=IF(RC[-1]<0,0,RC[-1])``. Converting the text with one regular expression costs a few
microseconds, against a tokenizer pass and a binding walk per cell; the planner binds one cell per
key and reuses the tree for the rest. The conversion is exact and invertible for a given cell, so
two cells share a key only when one formula is the other copied; text inside string literals and
structured-reference brackets is left alone (``"A1"`` is not a reference, ``[Age2]`` is a column).
Formulas with whole-row references (``2:5``) are not keyed: the parser handles them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from openpyxl.formula.translate import Translator
from openpyxl.utils.cell import column_index_from_string, get_column_letter

# A cell reference not glued to a longer word, a function call, a sheet name or a bracket.
_CELL = re.compile(r"(?<![\w.$'\]])(\$?)([A-Za-z]{1,3})(\$?)(\d+)(?![\w(.!\[])")
_WHOLE_ROWS = re.compile(r"(?<![\w.$])\$?\d+:\$?\d+(?![\w(.])")
# String literals ("..." with "" escapes) and bracketed structured-reference bodies.
_OPAQUE = re.compile(r'"(?:[^"]|"")*"|\[(?:[^\[\]]|\[[^\[\]]*\])*\]')
_SEP = "\0"  # joins many copies' texts into one string; no formula holds it


def r1c1_key(text: str, row: int, col: int) -> str | None:
    """`text` with every A1 cell reference rewritten relative to (`row`, `col`), or None."""
    if '"' not in text and "[" not in text:  # nothing opaque: one pass
        if _WHOLE_ROWS.search(text):
            return None
        return _CELL.sub(lambda m: _relative(m, row, col), text)
    split = _split(text)
    if split is None:
        return None
    pieces, has_cells = split
    if not has_cells:  # a table column's [@...] formula: the same text in every row
        return text
    return "".join(
        piece if opaque else _CELL.sub(lambda m: _relative(m, row, col), piece)
        for piece, opaque in pieces
    )


@lru_cache(maxsize=4096)
def _split(text: str) -> tuple[tuple[tuple[str, bool], ...], bool] | None:
    """Plain and opaque (string, bracket) pieces of `text`, and whether any plain piece holds a
    cell reference; None when it has whole-row references."""
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _OPAQUE.finditer(text):
        pieces += [(text[last : match.start()], False), (match.group(0), True)]
        last = match.end()
    pieces.append((text[last:], False))
    plain = [piece for piece, opaque in pieces if not opaque]
    if any(_WHOLE_ROWS.search(piece) for piece in plain):
        return None
    return tuple(pieces), any(_CELL.search(piece) for piece in plain)


def _relative(match: re.Match, row: int, col: int) -> str:
    col_abs, letters, row_abs, digits = match.groups()
    try:
        c = column_index_from_string(letters.upper())
    except ValueError:
        return match.group(0)
    r = int(digits)
    row_part = f"R{r}" if row_abs else f"R[{r - row}]"
    col_part = f"C{c}" if col_abs else f"C[{c - col}]"
    return row_part + col_part


# -- runs of copied formulas ----------------------------------------------------------------------


def row_template(text: str, row: int) -> tuple[str, tuple[int, ...]] | None:
    """`text` (a formula in `row`) as a ``%``-template over its relative row numbers.

    Returns (template, offsets): field ``i`` (a ``%d``) stands for row ``r + offsets[i]`` when
    the formula is copied to row ``r`` of the same column, so ``template % (r + offsets[0], ...)``
    is the copy's text. None when the text has whole-row references (left to the parser) or a
    NUL character (`_fill` uses it as a separator).
    """
    if _SEP in text:
        return None
    if '"' not in text and "[" not in text:
        if _WHOLE_ROWS.search(text):
            return None
        pieces: tuple[tuple[str, bool], ...] = ((text, False),)
    else:
        split = _split(text)
        if split is None:
            return None
        pieces = split[0]
    offsets: list[int] = []
    out: list[str] = []
    for piece, opaque in pieces:
        last = 0
        for match in () if opaque else _CELL.finditer(piece):
            if match.group(3) or not _is_column(match.group(2)):  # $-anchored row, or not a cell
                continue
            offsets.append(int(match.group(4)) - row)
            out += [piece[last : match.start(4)].replace("%", "%%"), "%d"]
            last = match.end(4)
        out.append(piece[last:].replace("%", "%%"))
    return "".join(out), tuple(offsets)


def copied_runs(texts: Sequence[str], first_row: int) -> list[int]:
    """Where runs of copied formulas start in `texts`, the formulas of consecutive rows of one
    column from `first_row` on: index i starts a run unless ``texts[i]`` is ``texts[i - 1]``
    copied down one row.

    Each run costs one template (`row_template`), then the copies' texts are built and compared
    in C-level bulk operations, in chunks that double, so a run of a million copies costs well
    under a microsecond per cell and a column of all-different formulas stays linear.
    """
    starts: list[int] = []
    i = 0
    while i < len(texts):
        starts.append(i)
        i = _run_end(texts, first_row, i)
    return starts


def _run_end(texts: Sequence[str], first_row: int, start: int) -> int:
    """The end (exclusive) of the run of copies of ``texts[start]``."""
    template = row_template(texts[start], first_row + start)
    if template is None:
        return start + 1
    fmt, offsets = template
    n, i, step = len(texts), start + 1, 1
    while i < n:
        stop = min(n, i + step)
        expected = _fill(texts[start], fmt, offsets, first_row + i, first_row + stop)
        actual = texts[i:stop]
        if expected != actual:
            return i + next(k for k, (a, b) in enumerate(zip(expected, actual)) if a != b)
        i, step = stop, step * 2
    return n


def _fill(text: str, fmt: str, offsets: tuple[int, ...], first: int, stop: int) -> list[str]:
    """The texts of the copies in rows first..stop-1 (one ``%`` over all of them at once)."""
    if not offsets:
        return [text] * (stop - first)
    args = np.add.outer(np.arange(first, stop), offsets).ravel().tolist()
    return (_SEP.join([fmt] * (stop - first)) % tuple(args)).split(_SEP)


def _is_column(letters: str) -> bool:
    try:
        column_index_from_string(letters.upper())
    except ValueError:
        return False
    return True


# -- shared formulas ------------------------------------------------------------------------------


class SharedFormula:
    """The master of an Excel shared formula (``<f t="shared" si=..>``), expanded per member.

    Excel stores a block of copied formulas once, on its top-left cell; every other member holds
    only the group's id, and its text is the master's with relative references shifted by the
    member's offset. Copies down one column (nearly all of them) use `row_template`: one ``%``
    per member. Anything else (column shifts, whole-row references, quoted sheet names, which the
    regular expressions here do not tokenise) goes through openpyxl's `Translator`, the tokenizer
    openpyxl itself expands shared formulas with.
    """

    __slots__ = ("_template", "col", "row", "text")

    def __init__(self, text: str, row: int, col: int) -> None:
        self.text, self.row, self.col = text, row, col
        self._template = row_template(text, row) if "'" not in text else None

    def at(self, row: int, col: int) -> str:
        """The formula text of the member at (`row`, `col`)."""
        if col == self.col and self._template is not None:
            fmt, offsets = self._template
            return fmt % tuple(row + offset for offset in offsets)
        origin = f"{get_column_letter(self.col)}{self.row}"
        return Translator(self.text, origin).translate_formula(f"{get_column_letter(col)}{row}")

    def at_rows(self, rows: Sequence[int], col: int) -> list[str]:
        """The texts of the members at `rows` of column `col`, all at once when `col` is the
        master's (one ``%`` over all of them, as `copied_runs` builds copies)."""
        if col != self.col or self._template is None or not rows:
            return [self.at(row, col) for row in rows]
        fmt, offsets = self._template
        if not offsets:
            return [fmt % ()] * len(rows)
        args = np.add.outer(np.asarray(rows), offsets).ravel().tolist()
        return (_SEP.join([fmt] * len(rows)) % tuple(args)).split(_SEP)
