"""Complex numbers: COMPLEX and the IM* functions (IMSUM, IMDIV, IMSIN, IMABS ...).

Their values are text (see `complex_text` for Excel's format), so they work cell by cell in
Python with `cmath`, like the other text functions (`core.cellwise`); they have no gradient.
Every argument takes one value: a multi-cell reference is #VALUE! (the Analysis ToolPak rule,
`core.toolpak`), except in IMSUM and IMPRODUCT, which combine every cell of their ranges.
Errors are Excel's, read from its saved values in formulas' test.xlsx (ENGINEERING sheet):
bad text #NUM!, booleans #VALUE!, the log or reciprocal of 0 #NUM!, IMARGUMENT(0) #DIV/0!,
mixed ``i``/``j`` suffixes #VALUE! in IMSUM/IMPRODUCT but #NUM! in IMDIV/IMSUB.
"""

from __future__ import annotations

import cmath
import functools
import math
from collections.abc import Callable

import numpy as np

from xl_lesson3.formula.functions.core.cellwise import (
    Cell,
    as_number,
    block_from_cells,
    cell_values,
    map_cells,
    num_error,
    value_error,
)
from xl_lesson3.formula.functions.core.registry import register, register_cellwise
from xl_lesson3.formula.functions.engineering.complex_text import (
    Parsed,
    common_suffix,
    format_complex,
    parse_complex,
    suffix_argument,
)
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError

CATEGORY = "Engineering"
LN10 = math.log(10.0)
LN2 = math.log(2.0)


_reg = functools.partial(register_cellwise, category=CATEGORY)


def _number_part(cell: Cell) -> float | ExcelError:
    """COMPLEX's real and imaginary parts: numbers or numeric text; a boolean is #VALUE!."""
    if isinstance(cell, bool):
        return value_error()
    return as_number(cell)


@_reg("COMPLEX", 2, 3)
def complex_(real_num: Block, i_num: Block, suffix: Block | None = None) -> Block:
    """COMPLEX(real_num, i_num, [suffix="i"]): the text of real_num + i_num·i."""

    def one(real: Cell, imag: Cell, letter: Cell = "i") -> Cell:
        parts = []
        for cell in (real, imag):
            part = _number_part(cell)
            if isinstance(part, ExcelError):
                return part
            parts.append(part)
        letter = suffix_argument(letter)
        if isinstance(letter, ExcelError):
            return letter
        return format_complex(complex(parts[0], parts[1]), letter)

    if suffix is None:
        return map_cells(one, real_num, i_num, errors_in=True)
    return map_cells(one, real_num, i_num, suffix, errors_in=True)


def _safe(fn: Callable[[complex], complex | None]) -> Callable[[complex], complex | None]:
    """`fn`, with an overflow (cosh of 1000) read as no result: Excel's #NUM!."""

    def wrapped(z: complex) -> complex | None:
        try:
            return fn(z)
        except OverflowError:
            return None

    return wrapped


def _ratio(real: float, imag: float, bottom: float) -> complex | None:
    return None if bottom == 0 else complex(real / bottom, imag / bottom)


# The tangent, cotangent, secant and cosecant in the half-angle forms below, not as ratios of
# cmath results: Excel's 15 printed digits agree with these (IMTAN("-3+2i") ends in ...249,
# cmath.tan in ...25; formulas' test.xlsx ENGINEERING rows 35-37, 46-47, 53).
def _tan(z: complex) -> complex | None:
    x, y = z.real, z.imag
    return _ratio(math.sin(2 * x), math.sinh(2 * y), math.cos(2 * x) + math.cosh(2 * y))


def _cot(z: complex) -> complex | None:
    x, y = z.real, z.imag
    return _ratio(math.sin(2 * x), -math.sinh(2 * y), math.cosh(2 * y) - math.cos(2 * x))


def _sec(z: complex) -> complex | None:
    x, y = z.real, z.imag
    return _ratio(
        2 * math.cos(x) * math.cosh(y),
        2 * math.sin(x) * math.sinh(y),
        math.cosh(2 * y) + math.cos(2 * x),
    )


def _csc(z: complex) -> complex | None:
    x, y = z.real, z.imag
    return _ratio(
        2 * math.sin(x) * math.cosh(y),
        -2 * math.cos(x) * math.sinh(y),
        math.cosh(2 * y) - math.cos(2 * x),
    )


def _sech(z: complex) -> complex | None:
    x, y = z.real, z.imag
    return _ratio(
        2 * math.cosh(x) * math.cos(y),
        -2 * math.sinh(x) * math.sin(y),
        math.cosh(2 * x) + math.cos(2 * y),
    )


def _csch(z: complex) -> complex | None:
    x, y = z.real, z.imag
    return _ratio(
        2 * math.sinh(x) * math.cos(y),
        -2 * math.cosh(x) * math.sin(y),
        math.cosh(2 * x) - math.cos(2 * y),
    )


def _log(z: complex, scale: float) -> complex | None:
    # Excel's IMLOG10/IMLOG2 are ln(z) divided by ln(10)/ln(2), both parts
    return None if z == 0 else cmath.log(z) / scale


def _register_unary(name: str, fn: Callable[[complex], complex | None], doc: str) -> None:
    safe = _safe(fn)

    @_reg(name, 1, 1)
    def function(inumber: Block) -> Block:
        def one(cell: Cell) -> Cell:
            parsed = parse_complex(cell)
            if isinstance(parsed, ExcelError):
                return parsed
            result = safe(parsed.value)
            return num_error() if result is None else format_complex(result, parsed.suffix)

        return map_cells(one, inumber, errors_in=True)

    function.__doc__ = f"{name}(inumber): {doc}, as complex text."
    function.__name__ = name.lower()


_UNARY: dict[str, tuple[Callable[[complex], complex | None], str]] = {
    "IMCONJUGATE": (lambda z: z.conjugate(), "the complex conjugate"),
    "IMEXP": (cmath.exp, "e to the power inumber"),
    "IMLN": (lambda z: _log(z, 1.0), "the natural logarithm"),
    "IMLOG10": (lambda z: _log(z, LN10), "the base-10 logarithm"),
    "IMLOG2": (lambda z: _log(z, LN2), "the base-2 logarithm"),
    "IMSQRT": (cmath.sqrt, "the principal square root"),
    "IMSIN": (cmath.sin, "the sine"),
    "IMCOS": (cmath.cos, "the cosine"),
    "IMTAN": (_tan, "the tangent"),
    "IMCOT": (_cot, "the cotangent"),
    "IMSEC": (_sec, "the secant"),
    "IMCSC": (_csc, "the cosecant"),
    "IMSINH": (cmath.sinh, "the hyperbolic sine"),
    "IMCOSH": (cmath.cosh, "the hyperbolic cosine"),
    "IMSECH": (_sech, "the hyperbolic secant"),
    "IMCSCH": (_csch, "the hyperbolic cosecant"),
}
for _name, (_fn, _doc) in _UNARY.items():
    _register_unary(_name, _fn, _doc)


def _register_part(name: str, fn: Callable[[complex], float | ExcelError], doc: str) -> None:
    @_reg(name, 1, 1)
    def function(inumber: Block) -> Block:
        def one(cell: Cell) -> Cell:
            parsed = parse_complex(cell)
            return parsed if isinstance(parsed, ExcelError) else fn(parsed.value)

        return map_cells(one, inumber, errors_in=True)

    function.__doc__ = f"{name}(inumber): {doc}, a number."
    function.__name__ = name.lower()


_register_part("IMREAL", lambda z: z.real, "the real part")
_register_part("IMAGINARY", lambda z: z.imag, "the imaginary coefficient")
_register_part("IMABS", abs, "the modulus")
_register_part(
    "IMARGUMENT",
    lambda z: ExcelError(ErrorCode.DIV0) if z == 0 else cmath.phase(z),
    "the angle in radians",
)


def _binary(parsed_a: Parsed, parsed_b: Parsed, op) -> Cell:
    suffix = common_suffix([parsed_a, parsed_b])
    if isinstance(suffix, ExcelError):
        return num_error()  # IMDIV and IMSUB answer mixed suffixes with #NUM!
    result = op(parsed_a.value, parsed_b.value)
    return num_error() if result is None else format_complex(result, suffix)


def _register_binary(name: str, op, doc: str) -> None:
    @_reg(name, 2, 2)
    def function(inumber1: Block, inumber2: Block) -> Block:
        def one(a: Cell, b: Cell) -> Cell:
            parsed = []
            for cell in (a, b):
                value = parse_complex(cell)
                if isinstance(value, ExcelError):
                    return value
                parsed.append(value)
            return _binary(parsed[0], parsed[1], op)

        return map_cells(one, inumber1, inumber2, errors_in=True)

    function.__doc__ = f"{name}(inumber1, inumber2): {doc}, as complex text."
    function.__name__ = name.lower()


_register_binary("IMSUB", lambda a, b: a - b, "inumber1 minus inumber2")
_register_binary("IMDIV", lambda a, b: None if b == 0 else a / b, "inumber1 over inumber2")


def _power(z: complex, exponent: float) -> complex | None:
    """z^exponent in polar form, as Excel computes it; 0 to a power <= 0 has no value."""
    if z == 0:
        return 0j if exponent > 0 else None
    modulus = abs(z) ** exponent
    angle = cmath.phase(z) * exponent
    return complex(modulus * math.cos(angle), modulus * math.sin(angle))


@_reg("IMPOWER", 2, 2)
def impower(inumber: Block, number: Block) -> Block:
    """IMPOWER(inumber, number): inumber raised to a real power, as complex text."""

    def one(cell: Cell, power: Cell) -> Cell:
        parsed = parse_complex(cell)
        if isinstance(parsed, ExcelError):
            return parsed
        exponent = _number_part(power)
        if isinstance(exponent, ExcelError):
            return exponent
        result = _safe(lambda z: _power(z, exponent))(parsed.value)
        return num_error() if result is None else format_complex(result, parsed.suffix)

    return map_cells(one, inumber, number, errors_in=True)


def _fold(args: tuple[Block, ...], start: complex, op) -> Block:
    """IMSUM/IMPRODUCT: every cell of every argument, in order, per cell of the run."""
    grids = [cell_values(block) for block in args]  # each (run, rows, cols), not aligned
    runs = max(grid.shape[0] for grid in grids)
    out = np.empty((runs, 1, 1), dtype=object)
    for index in range(runs):
        cells = [cell for grid in grids for cell in grid[min(index, grid.shape[0] - 1)].flat]
        out[index, 0, 0] = _fold_cells(cells, start, op)
    return block_from_cells(out, args[0].num)


def _fold_cells(cells: list[Cell], start: complex, op) -> Cell:
    total, seen = start, []
    for cell in cells:
        parsed = parse_complex(cell)
        if isinstance(parsed, ExcelError):
            return parsed
        seen.append(parsed)
        if isinstance(common_suffix(seen), ExcelError):
            return value_error()
        total = op(total, parsed.value)
    return format_complex(total, common_suffix(seen))


@register("IMSUM", min_args=1, max_args=255, category=CATEGORY, differentiable=False)
def imsum(*inumbers: Block) -> Block:
    """IMSUM(inumber1, ...): the sum of complex numbers (ranges allowed), as complex text."""
    return _fold(inumbers, 0j, lambda a, b: a + b)


@register("IMPRODUCT", min_args=1, max_args=255, category=CATEGORY, differentiable=False)
def improduct(*inumbers: Block) -> Block:
    """IMPRODUCT(inumber1, ...): the product of complex numbers (ranges allowed)."""
    return _fold(inumbers, 1 + 0j, lambda a, b: a * b)
