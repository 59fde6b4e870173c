"""Analysis ToolPak functions refuse multi-cell references where they take one value.

EDATE, YEARFRAC, ISODD, CONVERT, ERF and the other functions that began as the Analysis
ToolPak add-in do not lift over a range the way SIN or LEN do: in an array formula,
``=EDATE(A1:A3, 1)`` is #VALUE! in every cell (``=EDATE(A1:A3+0, 1)``, an array rather than a
reference, works). Excel's saved values in the conformance workbooks (formulas' test.xlsx,
sheets DATE & TIME, ENGINEERING, INFORMATION, MATH & TRIG) show it for each function listed
here. A single-cell reference and arrays are left alone.

The rule wraps the registered implementations once, after every category module has
registered its functions (`library` calls `apply_toolpak_rule` last).
"""

from __future__ import annotations

import dataclasses
import functools

import torch

from xl_lesson3.formula.functions.core.literals import block_from_values
from xl_lesson3.formula.functions.core.registry import _REGISTRY, FunctionSpec
from xl_lesson3.formula.functions.core.shapes import first_error, merge_errors
from xl_lesson3.formula.scalars import ErrorCode, ExcelError
from xl_lesson3.formula.values import Block

# name → how many leading arguments take one value (None: all of them). NETWORKDAYS-style
# holiday lists are ranges by design and are not listed.
TOOLPAK_SCALAR_ARGS: dict[str, int | None] = {
    "EDATE": None,
    "EOMONTH": None,
    "WEEKNUM": None,
    "YEARFRAC": None,
    "ISEVEN": None,
    "ISODD": None,
    "MROUND": None,
    "QUOTIENT": None,
    "SQRTPI": None,
    "FACTDOUBLE": None,
    "CONVERT": None,
    "DELTA": None,
    "GESTEP": None,
    "ERF": None,
    "ERF.PRECISE": None,
    "ERFC": None,
    "ERFC.PRECISE": None,
    "BIN2DEC": None,
    "BIN2HEX": None,
    "BIN2OCT": None,
    "DEC2BIN": None,
    "DEC2HEX": None,
    "DEC2OCT": None,
    "HEX2BIN": None,
    "HEX2DEC": None,
    "HEX2OCT": None,
    "OCT2BIN": None,
    "OCT2DEC": None,
    "OCT2HEX": None,
    # complex numbers (IMSUM and IMPRODUCT take ranges) and Bessel functions
    "COMPLEX": None,
    "IMABS": None,
    "IMAGINARY": None,
    "IMARGUMENT": None,
    "IMCONJUGATE": None,
    "IMCOS": None,
    "IMCOSH": None,
    "IMCOT": None,
    "IMCSC": None,
    "IMCSCH": None,
    "IMDIV": None,
    "IMEXP": None,
    "IMLN": None,
    "IMLOG10": None,
    "IMLOG2": None,
    "IMPOWER": None,
    "IMREAL": None,
    "IMSEC": None,
    "IMSECH": None,
    "IMSIN": None,
    "IMSINH": None,
    "IMSQRT": None,
    "IMSUB": None,
    "IMTAN": None,
    "BESSELI": None,
    "BESSELJ": None,
    "BESSELK": None,
    "BESSELY": None,
    "CUMIPMT": None,
    "CUMPRINC": None,
    "XNPV": 1,  # the rate; values and dates are ranges
}


def _is_multi_cell_reference(arg: object) -> bool:
    return isinstance(arg, Block) and arg.from_reference and arg.shape != (1, 1)


def _refusal(before: tuple) -> Block:
    """#VALUE!, unless an argument before the range is an error: Excel reads the arguments in
    order and stops at the first failure (BESSELI(#NULL!, A1:B1) is #NULL!, formulas'
    test.xlsx ENGINEERING!AO3).
    """
    refused = block_from_values(ExcelError(ErrorCode.VALUE))
    errors = [arg.err for arg in before if isinstance(arg, Block) and arg.err is not None]
    earlier = merge_errors(*(first_error(err) for err in errors))
    if earlier is None:
        return refused
    code = torch.where(earlier != 0, earlier, torch.full_like(earlier, int(ErrorCode.VALUE)))
    return Block(torch.zeros(code.shape, dtype=refused.num.dtype), err=code)


def _refusing(spec: FunctionSpec, scalar_args: int | None) -> FunctionSpec:
    impl = spec.impl

    @functools.wraps(impl)
    def refusing(*args):
        checked = args if scalar_args is None else args[:scalar_args]
        for position, arg in enumerate(checked):
            if _is_multi_cell_reference(arg):
                return _refusal(checked[:position])
        return impl(*args)

    return dataclasses.replace(spec, impl=refusing, extra={**spec.extra, "toolpak": True})


def apply_toolpak_rule() -> None:
    """Wrap the listed functions' implementations (every spelling of each) once."""
    for name, scalar_args in TOOLPAK_SCALAR_ARGS.items():
        spec = _REGISTRY.get(name)
        if spec is None or spec.extra.get("toolpak"):
            continue
        wrapped = _refusing(spec, scalar_args)
        for key in (spec.name, *spec.aliases):
            if _REGISTRY.get(key) is spec:
                _REGISTRY[key] = wrapped
