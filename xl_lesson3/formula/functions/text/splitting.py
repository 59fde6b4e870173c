"""TEXTSPLIT, TEXTBEFORE and TEXTAFTER: text cut at delimiters (Excel 365).

The delimiter arguments take a whole array: every value in it is a delimiter (a number as
``&`` shows it, ``{",", ";"}`` splits at either). Where several start at the same place the
longest wins, and the text is scanned left to right for non-overlapping delimiters.
``match_mode`` 1 ignores case; other arguments are read one value at a time, so a range of
texts gives an array of results (each cut to its first piece for TEXTSPLIT, see `array_args`).

TEXTSPLIT cuts rows at ``row_delimiter`` and then columns at ``col_delimiter``; with
``ignore_empty`` TRUE, empty pieces (two delimiters in a row) are dropped; rows shorter than the
longest are padded with ``pad_with`` (#N/A by default). Empty text, or an empty delimiter, is
#VALUE! (Excel's saved values).

TEXTBEFORE / TEXTAFTER take the ``instance_num``-th delimiter (counted from the end when
negative); 0, or more than the text has characters, is #VALUE!; too few delimiters is
``if_not_found`` (#N/A by default). With ``match_end`` the end of the text (the start, when
counting back) counts as a delimiter too.
"""

from __future__ import annotations

import functools

import numpy as np
import regex

from xl_lesson3.formula.functions.core.cellwise import (
    Cell,
    as_number,
    as_text,
    first_error_of,
    na_error,
    value_error,
)
from xl_lesson3.formula.functions.core.registry import register_cellwise
from xl_lesson3.formula.functions.text.array_args import (
    as_choice,
    as_logical,
    map_mixed,
    or_default,
)
from xl_lesson3.formula.values import Block, ExcelError

CATEGORY = "Text"


_reg = functools.partial(register_cellwise, category=CATEGORY)


def _delimiters(values: np.ndarray | None) -> list[str] | ExcelError | None:
    """The delimiter texts of a whole-array argument, its first error, or None if omitted."""
    if values is None:
        return None
    cells = tuple(values.reshape(-1))
    error = first_error_of(cells)
    return error if error is not None else [as_text(value) for value in cells]


def _finder(delimiters: list[str], ignore_case: bool) -> regex.Pattern:
    longest_first = sorted(set(delimiters), key=len, reverse=True)
    alternatives = "|".join(regex.escape(delimiter) for delimiter in longest_first)
    return regex.compile(alternatives, regex.IGNORECASE if ignore_case else 0)


def _cut(text: str, delimiters: list[str] | None, ignore_case: bool, drop_empty: bool) -> list:
    if delimiters is None:
        return [text]
    pieces = _finder(delimiters, ignore_case).split(text)
    return [piece for piece in pieces if piece != ""] if drop_empty else pieces


def _split(text, col_delims, row_delims, ignore_empty, match_mode, pad_with) -> object:
    columns, rows = _delimiters(col_delims), _delimiters(row_delims)
    error = first_error_of((text, columns, rows, ignore_empty, match_mode))
    if error is not None:
        return error
    drop, mode = as_logical(ignore_empty), as_choice(match_mode, range(2))
    error = first_error_of((drop, mode))
    if error is not None:
        return error
    subject = as_text(text)
    given = [d for d in (columns, rows) if d is not None]
    if subject == "" or not given or any("" in d for d in given):
        return value_error()
    lines = [
        _cut(line, columns, bool(mode), drop) for line in _cut(subject, rows, bool(mode), drop)
    ]
    lines = [line for line in lines if line] or [[""]]
    width = max(len(line) for line in lines)
    return [line + [pad_with] * (width - len(line)) for line in lines]


def _given(block: Block | None) -> Block | None:
    """None for an argument left out (see `or_default`), else the block."""
    return None if block is None or or_default(block, None) is not block else block


@_reg("TEXTSPLIT", 2, 6)
def textsplit(
    text: Block,
    col_delimiter: Block,
    row_delimiter: Block | None = None,
    ignore_empty: Block | None = None,
    match_mode: Block | None = None,
    pad_with: Block | None = None,
) -> Block:
    """TEXTSPLIT(text, col_delimiter, [row_delimiter], [ignore_empty=FALSE], [match_mode=0],
    [pad_with=#N/A]): the text cut into rows and columns, spilled."""
    args = (
        text,
        _given(col_delimiter),
        _given(row_delimiter),
        or_default(ignore_empty, False),
        or_default(match_mode, 0),
        or_default(pad_with, na_error()),
    )
    return map_mixed(_split, args, whole=(1, 2))


def _cut_at(text, delims, instance, match_mode, match_end, if_not_found, *, after: bool) -> Cell:
    delimiters = _delimiters(delims)
    error = first_error_of((text, delimiters, instance, match_mode, match_end))
    if error is not None:
        return error
    number, mode, at_end = (
        as_number(instance),
        as_choice(match_mode, range(2)),
        as_logical(match_end),
    )
    error = first_error_of((number, mode, at_end))
    if error is not None:
        return error
    subject, n = as_text(text), int(number)
    if n == 0 or abs(n) > len(subject):
        return value_error()
    spans = [m.span() for m in _finder(delimiters, bool(mode)).finditer(subject)]
    if at_end:
        spans = spans + [(len(subject), len(subject))] if n > 0 else [(0, 0)] + spans
    if abs(n) > len(spans):
        return if_not_found
    start, end = spans[n - 1] if n > 0 else spans[n]
    return subject[end:] if after else subject[:start]


def _register_cut(name: str, side: str) -> None:
    """Register TEXTBEFORE or TEXTAFTER: the same arguments, the text on one `side` of the cut."""

    def cut(
        text: Block,
        delimiter: Block,
        instance_num: Block | None = None,
        match_mode: Block | None = None,
        match_end: Block | None = None,
        if_not_found: Block | None = None,
    ) -> Block:
        blocks = (
            text,
            delimiter,
            or_default(instance_num, 1),
            or_default(match_mode, 0),
            or_default(match_end, False),
            or_default(if_not_found, na_error()),
        )
        after = side == "after"
        return map_mixed(lambda *values: _cut_at(*values, after=after), blocks, whole=(1,))

    # set before registering: the registry's summary is the docstring's first line
    cut.__doc__ = (
        f"{name}(text, delimiter, [instance_num=1], [match_mode=0], [match_end=0], "
        f"[if_not_found=#N/A]): the text {side} the n-th delimiter."
    )
    cut.__name__ = cut.__qualname__ = name.lower()
    _reg(name, 2, 6)(cut)


_register_cut("TEXTBEFORE", "before")
_register_cut("TEXTAFTER", "after")
