"""Engineering: CONVERT, and the base conversions DEC2BIN/OCT/HEX, BIN/OCT/HEX2DEC and the
cross ones (BIN2HEX …), plus DELTA and GESTEP.

CONVERT multiplies the number by a factor (and adds an offset for temperatures) found from the
unit names, so it is linear in the number and differentiable; unit names must be constants
of the run. Base conversions follow Excel: ten digits at most, negative numbers as ten-digit
two's complement (DEC2BIN(-1) is "1111111111"), `places` pads with zeros and is #NUM! when
too small; they are text and not differentiable.
"""

from __future__ import annotations

import numpy as np
import torch

from xl_lesson3.formula.functions.core.cellwise import (
    as_number,
    as_text,
    cell_values,
    map_cells,
    num_error,
    value_error,
)
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import align, merge_errors
from xl_lesson3.formula.functions.engineering.units import conversion
from xl_lesson3.formula.functions.math.rounding import numbers
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError

CATEGORY = "Engineering"


@register("CONVERT", min_args=3, max_args=3, category=CATEGORY, array_result=True)
def convert(number: Block, from_unit: Block, to_unit: Block) -> Block:
    """CONVERT(number, from_unit, to_unit): #N/A for unknown or mismatched units."""
    number, from_unit, to_unit = align(number, from_unit, to_unit)
    sources, targets = cell_values(from_unit, "a unit name"), cell_values(to_unit, "a unit name")
    sources, targets = np.broadcast_arrays(sources, targets)
    scale = np.zeros(sources.shape)
    offset = np.zeros(sources.shape)
    codes = np.zeros(sources.shape, dtype=np.int8)
    for index in np.ndindex(sources.shape):
        source, target = sources[index], targets[index]
        for value in (source, target):
            if isinstance(value, ExcelError) and not codes[index]:
                codes[index] = value.code
        if codes[index]:
            continue
        found = conversion(as_text(source), as_text(target))
        if found is None:
            codes[index] = ErrorCode.NA
        else:
            scale[index], offset[index] = found
    (x_num,), x_err = numbers(number, reject_bools=True)
    like = x_num

    def as_tensor(array: np.ndarray, dtype: torch.dtype = like.dtype) -> torch.Tensor:
        return torch.as_tensor(array, device=like.device).to(dtype)[None]

    values = x_num * as_tensor(scale) + as_tensor(offset)
    unit_err = as_tensor(codes, torch.int8)
    return Block(values, err=merge_errors(x_err, unit_err if codes.any() else None))


_LIMITS = {2: 512, 8: 2**29, 16: 2**39}  # the smallest negative number, negated
_DIGITS = "0123456789ABCDEF"


def _to_base(value: float, base: int, places: float | None) -> object:
    number = int(value) if value >= 0 else -int(-value)
    limit = _LIMITS[base]
    if not -limit <= number < limit:
        return num_error()
    if number < 0:
        number += base**10
        return np.base_repr(number, base)
    text = np.base_repr(number, base)
    if places is None:
        return text
    if places < 0 or int(places) < len(text) or places > 10:
        return num_error()
    return text.rjust(int(places), "0")


def _from_base(text: object, base: int) -> object:
    digits = as_text(text) if not isinstance(text, float) else _integer_text(text)
    if isinstance(digits, ExcelError):
        return digits
    digits = digits.strip().upper()
    if len(digits) > 10 or any(ch not in _DIGITS[:base] for ch in digits):
        return num_error()
    if digits == "":
        return 0.0
    number = int(digits, base)
    if len(digits) == 10 and number >= base**10 // 2:
        number -= base**10
    return float(number)


def _integer_text(value: float) -> str | ExcelError:
    return num_error() if value != int(value) or value < 0 else str(int(value))


def _register_base(name: str, source: int | None, target: int | None):
    @register(
        name,
        min_args=1,
        max_args=1 if target is None else 2,
        category=CATEGORY,
        differentiable=False,
        array_result=True,
    )
    def function(number: Block, places: Block | None = None) -> Block:
        def one(value, width):
            if isinstance(value, bool):
                decimal = value_error()
            elif source is None:
                decimal = as_number(value)
            else:
                decimal = _from_base(value, source)
            if isinstance(decimal, ExcelError) or target is None:
                return decimal
            if width is not None:
                width = as_number(width)
                if isinstance(width, ExcelError):
                    return width
            return _to_base(decimal, target, width)

        if places is None:
            return map_cells(lambda value: one(value, None), number)
        return map_cells(one, number, places)

    function.__doc__ = f"{name}(number{'' if target is None else ', [places]'})."
    function.__name__ = name.lower()
    return function


for _source, _label in ((None, "DEC"), (2, "BIN"), (8, "OCT"), (16, "HEX")):
    for _target, _tlabel in ((None, "DEC"), (2, "BIN"), (8, "OCT"), (16, "HEX")):
        if _label != _tlabel:
            _register_base(f"{_label}2{_tlabel}", _source, _target)


@register(
    "DELTA", min_args=1, max_args=2, category=CATEGORY, differentiable=False, array_result=True
)
def delta(number1: Block, number2: Block | None = None) -> Block:
    """DELTA(number1, [number2=0]): 1 when equal, else 0."""
    (a, b), err = numbers(number1, number2, defaults=(0,), reject_bools=True)
    return Block((a.detach() == b.detach()).to(a.dtype), err=err)


@register(
    "GESTEP", min_args=1, max_args=2, category=CATEGORY, differentiable=False, array_result=True
)
def gestep(number: Block, step: Block | None = None) -> Block:
    """GESTEP(number, [step=0]): 1 when number >= step, else 0."""
    (a, b), err = numbers(number, step, defaults=(0,), reject_bools=True)
    return Block((a.detach() >= b.detach()).to(a.dtype), err=err)
