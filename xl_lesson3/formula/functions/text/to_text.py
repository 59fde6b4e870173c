"""VALUETOTEXT and ARRAYTOTEXT: any value written out as text (Excel 365).

``format`` 0 (concise, the default) writes values as a cell shows them: numbers in General
format, TRUE/FALSE, text as it is, blanks as nothing. 1 (strict) quotes text (``"a"``, inner
quotes doubled) and ARRAYTOTEXT wraps the array as an array constant, ``{1,2;3,4}``. Error
values are written as their text (``#N/A``), not propagated: Excel's saved
``VALUETOTEXT(#VALUE!, 0) = "#VALUE!"`` is TRUE. ``format`` is truncated (0.9 is concise,
"1.99" strict); anything but 0 or 1 is #VALUE!, and an error there is that error.

ARRAYTOTEXT reads its array whole (concise joins every value with ``", "``, by rows) and its
format one value at a time. Excel returns #VALUE! for a lone blank cell in strict format
(its saved ``ARRAYTOTEXT(H4, 1)``, H4 blank), though a blank among others is written as
nothing.
"""

from __future__ import annotations

import functools

import numpy as np

from xl_lesson3.formula.functions.core.cellwise import Cell, as_text, value_error
from xl_lesson3.formula.functions.core.registry import register_cellwise
from xl_lesson3.formula.functions.text.array_args import as_choice, map_mixed, or_default
from xl_lesson3.formula.values import ERROR_TEXT, Block, ExcelError

CATEGORY = "Text"


_reg = functools.partial(register_cellwise, category=CATEGORY)


def _written(value: Cell, strict: bool) -> str:
    """One value as VALUETOTEXT writes it."""
    if isinstance(value, ExcelError):
        return ERROR_TEXT[value.code]
    if isinstance(value, str) and strict:
        return '"' + value.replace('"', '""') + '"'
    return as_text(value)


def _value_to_text(value: Cell, fmt: Cell) -> Cell:
    strict = as_choice(fmt, range(2))
    return strict if isinstance(strict, ExcelError) else _written(value, bool(strict))


@_reg("VALUETOTEXT", 1, 2)
def valuetotext(value: Block, format_: Block | None = None) -> Block:
    """VALUETOTEXT(value, [format=0]): the value as text, concise (0) or strict (1)."""
    return map_mixed(_value_to_text, (value, or_default(format_, 0)))


def _array_to_text(array: np.ndarray, fmt: Cell) -> Cell:
    strict = as_choice(fmt, range(2))
    if isinstance(strict, ExcelError):
        return strict
    if not strict:
        return ", ".join(_written(value, False) for value in array.reshape(-1))
    if array.shape == (1, 1) and array[0, 0] is None:
        return value_error()
    rows = (",".join(_written(value, True) for value in row) for row in array)
    return "{" + ";".join(rows) + "}"


@_reg("ARRAYTOTEXT", 1, 2)
def arraytotext(array: Block, format_: Block | None = None) -> Block:
    """ARRAYTOTEXT(array, [format=0]): every value of the array as one text."""
    return map_mixed(_array_to_text, (array, or_default(format_, 0)), whole=(0,))
