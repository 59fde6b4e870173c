"""Numbers to text and back: TEXT, FIXED, VALUE, NUMBERVALUE.

TEXT and FIXED show a number with a format code (`number_format`). VALUE reads text the way
Excel's arithmetic does (dates and times too); NUMBERVALUE reads it with the separators given,
and no dates. None is differentiable.
"""

from __future__ import annotations

import functools
import re

from xl_lesson3.formula.functions.core.cellwise import (
    Cell,
    as_number,
    as_text,
    first_error_of,
    map_cells,
    value_error,
)
from xl_lesson3.formula.functions.core.coercion import parse_number
from xl_lesson3.formula.functions.core.literals import block_from_values
from xl_lesson3.formula.functions.core.registry import register_cellwise
from xl_lesson3.formula.functions.text.array_args import as_logical
from xl_lesson3.formula.functions.text.number_format import format_value
from xl_lesson3.formula.values import Block, ExcelError

CATEGORY = "Text"


_reg = functools.partial(register_cellwise, category=CATEGORY)


def _text(value: Cell, fmt: Cell) -> Cell:
    pattern = as_text(fmt)
    if isinstance(pattern, ExcelError):
        return pattern
    if isinstance(value, str):
        number = parse_number(value)
        subject: float | str = value if number is None else number
    elif value is None or isinstance(value, bool):
        subject = as_text(value) if isinstance(value, bool) else 0.0
    else:
        subject = float(value)
    result = format_value(subject, pattern)
    return value_error() if result is None else result


@_reg("TEXT", 2, 2)
def text(value: Block, format_text: Block) -> Block:
    """TEXT(value, format_text): a number shown with a format code (see `number_format`)."""
    return map_cells(_text, value, format_text)


def _value(value: Cell) -> Cell:
    if isinstance(value, str):
        number = parse_number(value.replace(",", "").replace("$", "")) if value.strip() else 0.0
        return value_error() if number is None else number
    if isinstance(value, bool):
        return value_error()
    return 0.0 if value is None else float(value)


@_reg("VALUE", 1, 1)
def value(text_: Block) -> Block:
    """VALUE(text): the number a text spells (thousands separators, $, %, dates, times)."""
    return map_cells(_value, text_)


_DIGITS = re.compile(r"\d*")


def _separator(value: Cell) -> str | ExcelError:
    """A separator argument: its first character; empty text (or a blank cell) is #VALUE!."""
    text_ = as_text(value)
    if isinstance(text_, ExcelError) or text_:
        return text_[:1] if isinstance(text_, str) else text_
    return value_error()


def _strip_percents(body: str) -> tuple[str, int]:
    stripped = body.rstrip("%")
    return stripped, len(body) - len(stripped)


def _numbervalue(text_: Cell, decimal: Cell, group: Cell = None, *, default_group=False) -> Cell:
    """Excel's rules, from its saved values: spaces anywhere are ignored; group separators may
    stand anywhere before the decimal separator (``",25,,0,0.27"`` is 2500.27) but not after
    it; parentheses around the number negate it; each trailing ``%`` (inside or outside the
    parentheses, before any exponent) divides by 100; a sign inside parentheses is #VALUE!.
    A separator given as empty text is #VALUE!; the same one for both is #VALUE!."""
    if isinstance(text_, bool):
        return value_error()
    point = _separator(decimal)
    comma = "" if default_group else _separator(group)
    error = first_error_of((point, comma))
    if error is not None:
        return error
    if default_group:  # "," unless that is the decimal separator
        comma = "" if point == "," else ","
    if comma == point:
        return value_error()
    body = re.sub(r"\s", "", as_text(text_))
    if body == "":
        return 0.0
    body, percents = _strip_percents(body)
    negative = body.startswith("(") and body.endswith(")")
    if negative:
        body, more = _strip_percents(body[1:-1])
        percents += more
    mantissa, marker, exponent = body.upper().partition("E")
    if not negative and mantissa[:1] in ("+", "-"):
        negative, mantissa = mantissa[0] == "-", mantissa[1:]
    whole, _, fraction = mantissa.partition(point)
    whole = whole.replace(comma, "") if comma else whole
    if not (_DIGITS.fullmatch(whole) and _DIGITS.fullmatch(fraction)) or not (whole or fraction):
        return value_error()
    if marker and not re.fullmatch(r"[+-]?\d+", exponent):
        return value_error()
    number = float(f"{whole or 0}.{fraction or 0}e{exponent or 0}") / 100**percents
    return -number if negative else number


@_reg("NUMBERVALUE", 1, 3)
def numbervalue(text_: Block, decimal_separator=None, group_separator=None) -> Block:
    """NUMBERVALUE(text, [decimal_separator="."], [group_separator=","]): locale-free VALUE."""
    decimal = decimal_separator or block_from_values(".")
    if group_separator is None:
        return map_cells(lambda t, d: _numbervalue(t, d, default_group=True), text_, decimal)
    return map_cells(_numbervalue, text_, decimal, group_separator)


def _fixed(number: Cell, decimals: Cell, no_commas: Cell) -> Cell:
    values = (as_number(number), as_number(decimals), as_logical(no_commas))
    error = first_error_of(values)
    if error is not None:
        return error
    number, places, plain = values
    digits = int(places)
    if digits > 127:  # Excel's limit on FIXED's decimals
        return value_error()
    fmt = ("0" if plain else "#,##0") + ("." + "0" * digits if digits > 0 else "")
    if digits < -308:  # rounded to a power of ten beyond any float: Excel shows 0
        number = 0.0
    elif digits < 0:
        scale = 10 ** (-digits)
        number = float(format_value(number / scale, "0")) * scale
    return format_value(number, fmt)


@_reg("FIXED", 1, 3)
def fixed(number: Block, decimals: Block | None = None, no_commas: Block | None = None) -> Block:
    """FIXED(number, [decimals=2], [no_commas=FALSE]): rounded and shown as text.
    `no_commas` is a logical: text other than TRUE/FALSE there is #VALUE!."""
    return map_cells(
        _fixed, number, decimals or Block.scalar(2), no_commas or block_from_values(False)
    )
