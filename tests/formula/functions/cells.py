"""Helpers for the function-library tests: blocks from literal cell values, comparisons, and
the `Case` a LibreOffice agreement test checks."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xl_lesson3.formula.functions.core.literals import block_from_values, block_to_values
from xl_lesson3.formula.functions.core.registry import lookup
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError


def val(values: object) -> Block:
    """A value typed directly into a formula (a literal, or an array constant)."""
    return block_from_values(values)


def ref(values: object) -> Block:
    """Values read through a range reference such as A1:B3 (a 1-D list is a column)."""
    return block_from_values(values, from_reference=True)


def err(text: str) -> ExcelError:
    """An error value by its Excel text, e.g. err("#DIV/0!")."""
    return ExcelError(ErrorCode.from_text(text))


def call(name: str, *args: Block) -> object:
    """Call a registered function and read the (batch 0, run 0) result as Python values."""
    return block_to_values(lookup(name).impl(*args))


def same(actual: object, expected: object, rel: float = 1e-12) -> bool:
    """Cell values equal: numbers within `rel`, booleans/text/errors exactly, type included."""
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(a, e, rel) for a, e in zip(actual, expected))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(actual, expected, rel_tol=rel, abs_tol=rel)
    return actual == expected


@dataclass(frozen=True)
class Case:
    """A formula checked against LibreOffice; where Excel's value differs, `excel` holds it
    (ours must equal it) and `lo` LibreOffice's (so that a change there is seen)."""

    id: str
    formula: str
    excel: object = None
    lo: object = None
    shape: tuple[int, int] = (1, 1)  # written as an array formula over this block


def disagreement(case: Case, ours: object, lo_value: object, rel: float = 1e-12) -> str | None:
    """Why our value and LibreOffice's `lo_value` (as openpyxl reads it) do not bear out `case`,
    or None when they do.

    See `Case`."""
    if isinstance(lo_value, str) and lo_value.startswith("#"):
        lo_value = err(lo_value)
    expected = case.excel if case.excel is not None else lo_value
    expected_lo = case.lo if case.lo is not None else lo_value
    if same(lo_value, expected_lo, rel) and same(ours, expected, rel):
        return None
    return f"{case.id}: {case.formula} ours {ours!r} LibreOffice {lo_value!r}"
