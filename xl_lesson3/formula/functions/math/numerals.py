"""Numerals as text: ROMAN (all five forms), ARABIC and DECIMAL.

Text in, text out, cell by cell in Python (`core.cellwise`); elementwise over ranges and
arrays, no gradient. The rules come from Excel's saved values in formulas' test.xlsx (MATH &
TRIG rows 9, 26 and 58) and Microsoft's documentation:

- ROMAN(999, 1..4) relaxes the subtractive rule step by step (``LMVLIV``, ``XMIX``, ``VMIV``,
  ``IM``); TRUE is form 0 and FALSE form 4; 0 is the empty text; beyond 0..3999 is #VALUE!.
- ARABIC reads right to left, adding a numeral at least as large as every one after it and
  subtracting any other, so it accepts what ROMAN never writes (``"IIIIIIV"`` is -1); case
  and surrounding spaces are ignored, a leading ``-`` negates, anything else is #VALUE!.
- DECIMAL's radix is truncated and must be 2..36; a digit outside the radix is #NUM!.
"""

from __future__ import annotations

import math

from xl_lesson3.formula.functions.core.cellwise import (
    Cell,
    as_number,
    as_text,
    map_cells,
    num_error,
    value_error,
)
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.values import Block, ExcelError

CATEGORY = "Math & Trig"
LETTERS = "MDCLXVI"
VALUES = (1000, 500, 100, 50, 10, 5, 1)
ARABIC_VALUES = dict(zip(LETTERS, VALUES))
MAX_ROMAN = 3999
MAX_TEXT = 255  # ARABIC and DECIMAL refuse longer text
MAX_DECIMAL = 2.0**53  # DECIMAL's results stay below this
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def roman(number: int, form: int) -> str:
    """`number` (0..3999) in Roman numerals of `form` 0 (classic) .. 4 (most simplified).

    The algorithm of LibreOffice's ROMAN (sc/source/core/tool/interpr2.cxx), which matches
    Excel's forms: at each power of ten, a digit 4 or 9 is written as one subtraction whose
    smaller numeral may be moved up to `form` places down the list while it still fits.
    """
    out = []
    for position in range(0, len(VALUES), 2):
        digit = number // VALUES[position]
        if digit % 5 == 4:
            larger = position - 1 if digit == 4 else position - 2
            index, steps = position, 0
            while steps < form and index < len(VALUES) - 1:
                steps += 1
                if VALUES[larger] - VALUES[index + 1] <= number:
                    index += 1
                else:
                    steps = form
            out.append(LETTERS[index] + LETTERS[larger])
            number += VALUES[index] - VALUES[larger]
        else:
            if digit > 4:
                out.append(LETTERS[position - 1])
            out.append(LETTERS[position] * (digit % 5))
            number %= VALUES[position]
    return "".join(out)


def _roman_cell(number: Cell, form: Cell = 0.0) -> Cell:
    value = as_number(number)
    if isinstance(value, ExcelError):
        return value
    if isinstance(form, bool):
        style = 0.0 if form else 4.0
    else:
        style = as_number(form)
        if isinstance(style, ExcelError):
            return style
    value, style = math.trunc(value), math.trunc(style)
    if not 0 <= value <= MAX_ROMAN or not 0 <= style <= 4:
        return value_error()
    return roman(value, style)


@register("ROMAN", min_args=1, max_args=2, category=CATEGORY, differentiable=False,
          array_result=True)  # fmt: skip
def roman_(number: Block, form: Block | None = None) -> Block:
    """ROMAN(number, [form=0]): the number in Roman numerals, as text."""
    if form is None:
        return map_cells(_roman_cell, number, errors_in=True)
    return map_cells(_roman_cell, number, form, errors_in=True)


def arabic(text: str) -> float | ExcelError:
    """The value of Roman numerals read as Excel's ARABIC reads them (see the module doc)."""
    text = text.strip().upper()
    sign = 1.0
    if text.startswith("-"):
        sign, text = -1.0, text[1:]
    if len(text) > MAX_TEXT or any(letter not in ARABIC_VALUES for letter in text):
        return value_error()
    total, largest = 0, 0
    for letter in reversed(text):
        value = ARABIC_VALUES[letter]
        if value >= largest:
            total, largest = total + value, value
        else:
            total -= value
    return sign * total


def _arabic_cell(cell: Cell) -> Cell:
    if isinstance(cell, ExcelError):
        return cell
    if isinstance(cell, bool):
        return value_error()
    return arabic(as_text(cell))


@register("ARABIC", min_args=1, max_args=1, category=CATEGORY, differentiable=False,
          array_result=True)  # fmt: skip
def arabic_(text: Block) -> Block:
    """ARABIC(text): the number that Roman numerals stand for."""
    return map_cells(_arabic_cell, text, errors_in=True)


def _decimal_cell(text: Cell, radix: Cell) -> Cell:
    digits = as_text(text)
    if isinstance(digits, ExcelError):
        return digits
    base = as_number(radix)
    if isinstance(base, ExcelError):
        return base
    base = math.trunc(base)
    if not 2 <= base <= 36 or len(digits) > MAX_TEXT:
        return num_error()
    if digits == "":
        return 0.0
    if any(digit not in DIGITS[:base] for digit in digits.upper()):
        return num_error()  # a digit outside the radix, a sign or a space
    value = float(int(digits, base))
    return num_error() if value >= MAX_DECIMAL else value


@register("DECIMAL", min_args=2, max_args=2, category=CATEGORY, differentiable=False,
          array_result=True)  # fmt: skip
def decimal(text: Block, radix: Block) -> Block:
    """DECIMAL(text, radix): the number that `text` spells in base `radix` (2..36)."""
    return map_cells(_decimal_cell, text, radix)
