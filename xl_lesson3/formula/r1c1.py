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
from functools import lru_cache

from openpyxl.utils.cell import column_index_from_string

# A cell reference not glued to a longer word, a function call, a sheet name or a bracket.
_CELL = re.compile(r"(?<![\w.$'\]])(\$?)([A-Za-z]{1,3})(\$?)(\d+)(?![\w(.!\[])")
_WHOLE_ROWS = re.compile(r"(?<![\w.$])\$?\d+:\$?\d+(?![\w(.])")
# String literals ("..." with "" escapes) and bracketed structured-reference bodies.
_OPAQUE = re.compile(r'"(?:[^"]|"")*"|\[(?:[^\[\]]|\[[^\[\]]*\])*\]')


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
