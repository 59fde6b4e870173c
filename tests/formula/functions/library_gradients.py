"""Gradient cases for the function library's newer categories, merged into test_gradients.

Each entry: (function of Blocks, input makers); inputs are drawn where the function is smooth.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.registry import lookup
from xl_lesson3.formula.values import Block

SHAPE = (2, 3, 2, 2)  # (batch, run, rows, cols)


def _uniform(low: float, high: float, shape=SHAPE):
    return lambda g: torch.rand(shape, generator=g, dtype=torch.float64) * (high - low) + low


def _signed(shape=SHAPE):
    def make(g):
        x = torch.rand(shape, generator=g, dtype=torch.float64) + 0.2
        return x * torch.where(torch.rand(shape, generator=g) > 0.5, 1.0, -1.0).double()

    return make


def _fn(name):
    return lookup(name).impl


def _true(block: Block) -> Block:
    return Block((block.num.detach() > -10).double())


def _ifs(a, b):
    return _fn("IFS")(_true(a), a, _true(b), b)


def _switch(a, b):
    return _fn("SWITCH")(Block.scalar(2), Block.scalar(1), a, Block.scalar(2), b)


def _ref(shape=SHAPE):
    """A constant criteria range: 1, 2, 3, … (no gradient is asked of it)."""
    return Block(
        torch.arange(1.0, 1 + shape[-2] * shape[-1], dtype=torch.float64).reshape(1, 1, *shape[-2:])
    )


def _if_greater(name):
    """SUMIF-like calls selecting the cells whose criteria value is > 1."""
    from xl_lesson3.formula.functions.core.literals import block_from_values

    criterion = block_from_values(">1")
    if name.endswith("IF"):
        return lambda values: _fn(name)(_ref(), criterion, values)
    return lambda values: _fn(name)(values, _ref(), criterion)


def _distinct(shape=SHAPE):
    """Distinct values (no ties), so order statistics are smooth."""

    def make(g):
        n = shape[-2] * shape[-1]
        base = torch.randperm(n, generator=g).double().reshape(1, 1, *shape[-2:])
        return base + torch.rand(shape, generator=g, dtype=torch.float64) * 0.5

    return make


def _well_conditioned(shape=SHAPE):
    """Square matrices far from singular: 3 on the diagonal plus noise in [0, 1)."""
    eye = torch.eye(shape[-1], dtype=torch.float64)
    return lambda g: 3 * eye + torch.rand(shape, generator=g, dtype=torch.float64)


def _with_k(name, k):
    return lambda array: _fn(name)(array, Block.scalar(k))


def _norm_dist(cumulative):
    return lambda x, m, s: _fn("NORM.DIST")(x, m, s, Block.scalar(cumulative))


def _cumulative(name):
    """CUMIPMT/CUMPRINC over periods 3..7 of 24, paid in arrears: smooth in rate and pv."""
    periods = (Block.scalar(24), Block.scalar(3), Block.scalar(7), Block.scalar(0))
    return lambda rate, pv: _fn(name)(rate, periods[0], pv, *periods[1:])


def _xnpv(rate, values):
    """XNPV of four flows on fixed, increasing dates (serials 40000 onwards)."""
    dates = Block(torch.tensor([[40000.0, 40031.0], [40100.0, 40400.0]], dtype=torch.float64))
    return _fn("XNPV")(rate, values, Block(dates.num.reshape(1, 1, 2, 2)))


def _text(value: str) -> Block:
    from xl_lesson3.formula.functions.core.literals import block_from_values

    return block_from_values(value)


def _convert(x):
    return _fn("CONVERT")(x, _text("ft"), _text("m"))


LIBRARY_CASES = {
    "SIN": (_fn("SIN"), [_signed()]),
    "COS": (_fn("COS"), [_signed()]),
    "TAN": (_fn("TAN"), [_uniform(-1.2, 1.2)]),
    "ASIN": (_fn("ASIN"), [_uniform(-0.9, 0.9)]),
    "ACOS": (_fn("ACOS"), [_uniform(-0.9, 0.9)]),
    "ATAN": (_fn("ATAN"), [_signed()]),
    "ATAN2": (_fn("ATAN2"), [_signed(), _signed()]),
    "SINH": (_fn("SINH"), [_signed()]),
    "COSH": (_fn("COSH"), [_signed()]),
    "ASINH": (_fn("ASINH"), [_signed()]),
    "ACOSH": (_fn("ACOSH"), [_uniform(1.1, 3.0)]),
    "ATANH": (_fn("ATANH"), [_uniform(-0.8, 0.8)]),
    "COT": (_fn("COT"), [_uniform(0.2, 1.4)]),
    "CSC": (_fn("CSC"), [_uniform(0.2, 1.4)]),
    "SEC": (_fn("SEC"), [_uniform(-1.2, 1.2)]),
    "COTH": (_fn("COTH"), [_signed()]),
    "CSCH": (_fn("CSCH"), [_signed()]),
    "SECH": (_fn("SECH"), [_signed()]),
    "ACOT": (_fn("ACOT"), [_signed()]),
    "ACOTH": (_fn("ACOTH"), [_uniform(1.2, 3.0)]),
    "ERF": (_fn("ERF"), [_signed(), _signed()]),
    "ERF.PRECISE": (_fn("ERF.PRECISE"), [_signed()]),
    "ERFC": (_fn("ERFC"), [_signed()]),
    "GAMMA": (_fn("GAMMA"), [_uniform(-0.9, 4.0)]),
    "GAMMALN": (_fn("GAMMALN"), [_uniform(0.2, 4.0)]),
    "FISHER": (_fn("FISHER"), [_uniform(-0.8, 0.8)]),
    "FISHERINV": (_fn("FISHERINV"), [_signed()]),
    "PHI": (_fn("PHI"), [_signed()]),
    "GAUSS": (_fn("GAUSS"), [_signed()]),
    "RADIANS": (_fn("RADIANS"), [_signed()]),
    "DEGREES": (_fn("DEGREES"), [_signed()]),
    "MOD": (_fn("MOD"), [_uniform(0.5, 1.5), _uniform(2.0, 3.0)]),
    "PRODUCT": (_fn("PRODUCT"), [_signed(), _signed()]),
    "SQRTPI": (_fn("SQRTPI"), [_uniform(0.5, 2.0)]),
    "N": (_fn("N"), [_signed()]),
    "IFNA": (_fn("IFNA"), [_signed(), _signed()]),
    "IFS": (_ifs, [_signed(), _signed()]),
    "SWITCH": (_switch, [_signed(), _signed()]),
    "SUMIF": (_if_greater("SUMIF"), [_signed()]),
    "SUMIFS": (_if_greater("SUMIFS"), [_signed()]),
    "AVERAGEIF": (_if_greater("AVERAGEIF"), [_signed()]),
    "AVERAGEIFS": (_if_greater("AVERAGEIFS"), [_signed()]),
    "MAXIFS": (_if_greater("MAXIFS"), [_distinct()]),
    "MINIFS": (_if_greater("MINIFS"), [_distinct()]),
    "VAR.S": (_fn("VAR.S"), [_signed(), _signed()]),
    "VAR.P": (_fn("VAR.P"), [_signed()]),
    "STDEV.S": (_fn("STDEV.S"), [_signed()]),
    "STDEV.P": (_fn("STDEV.P"), [_signed(), _signed()]),
    "DEVSQ": (_fn("DEVSQ"), [_signed()]),
    "AVEDEV": (_fn("AVEDEV"), [_distinct()]),
    "GEOMEAN": (_fn("GEOMEAN"), [_uniform(0.5, 2.0)]),
    "HARMEAN": (_fn("HARMEAN"), [_uniform(0.5, 2.0)]),
    "MEDIAN": (_fn("MEDIAN"), [_distinct()]),
    "LARGE": (_with_k("LARGE", 2), [_distinct()]),
    "SMALL": (_with_k("SMALL", 3), [_distinct()]),
    "MODE.SNGL": (lambda a: _fn("MODE.SNGL")(a, a), [_distinct()]),
    "PERCENTILE.INC": (_with_k("PERCENTILE.INC", 0.3), [_distinct()]),
    "PERCENTILE.EXC": (_with_k("PERCENTILE.EXC", 0.3), [_distinct()]),
    "QUARTILE.INC": (_with_k("QUARTILE.INC", 1), [_distinct()]),
    "QUARTILE.EXC": (_with_k("QUARTILE.EXC", 3), [_distinct()]),
    "CORREL": (_fn("CORREL"), [_signed(), _signed()]),
    "RSQ": (_fn("RSQ"), [_signed(), _signed()]),
    "SLOPE": (_fn("SLOPE"), [_signed(), _signed()]),
    "INTERCEPT": (_fn("INTERCEPT"), [_signed(), _signed()]),
    "COVARIANCE.P": (_fn("COVARIANCE.P"), [_signed(), _signed()]),
    "COVARIANCE.S": (_fn("COVARIANCE.S"), [_signed(), _signed()]),
    "STEYX": (_fn("STEYX"), [_signed(), _signed()]),
    "FORECAST.LINEAR": (_fn("FORECAST.LINEAR"), [_signed(), _signed(), _signed()]),
    "NORM.DIST": (_norm_dist(True), [_signed(), _signed(), _uniform(0.5, 2.0)]),
    "NORM.DIST-density": (_norm_dist(False), [_signed(), _signed(), _uniform(0.5, 2.0)]),
    "NORM.S.DIST": (_fn("NORM.S.DIST"), [_signed()]),
    "NORM.INV": (_fn("NORM.INV"), [_uniform(0.1, 0.9), _signed(), _uniform(0.5, 2.0)]),
    "NORM.S.INV": (_fn("NORM.S.INV"), [_uniform(0.1, 0.9)]),
    "CONVERT": (_convert, [_signed()]),
    "CONVERT-temperature": (lambda x: _fn("CONVERT")(x, _text("F"), _text("C")), [_signed()]),
    "FV": (_fn("FV"), [_uniform(0.01, 0.1), _uniform(5, 20), _signed(), _signed()]),
    "PV": (_fn("PV"), [_uniform(0.01, 0.1), _uniform(5, 20), _signed(), _signed()]),
    "PMT": (_fn("PMT"), [_uniform(0.01, 0.1), _uniform(5, 20), _signed(), _signed()]),
    "IPMT": (_fn("IPMT"), [_uniform(0.01, 0.1), _uniform(1.2, 1.8), _uniform(5, 20), _signed()]),
    "PPMT": (_fn("PPMT"), [_uniform(0.01, 0.1), _uniform(1.2, 1.8), _uniform(5, 20), _signed()]),
    "NPER": (_fn("NPER"), [_uniform(0.01, 0.1), _uniform(-200, -100), _uniform(500, 800)]),
    "NPV": (_fn("NPV"), [_uniform(0.01, 0.1, (2, 3, 1, 1)), _signed(), _signed()]),
    "STANDARDIZE": (_fn("STANDARDIZE"), [_signed(), _signed(), _uniform(0.5, 2.0)]),
    "KURT": (_fn("KURT"), [_signed(), _signed()]),
    "SKEW": (_fn("SKEW"), [_signed()]),
    "SKEW.P": (_fn("SKEW.P"), [_signed()]),
    "AVERAGEA": (_fn("AVERAGEA"), [_signed(), _signed()]),
    "MAXA": (_fn("MAXA"), [_distinct()]),
    "MINA": (_fn("MINA"), [_distinct()]),
    "VARA": (_fn("VARA"), [_signed()]),
    "VARPA": (_fn("VARPA"), [_signed()]),
    "STDEVA": (_fn("STDEVA"), [_signed()]),
    "STDEVPA": (_fn("STDEVPA"), [_signed()]),
    "TRIMMEAN": (_with_k("TRIMMEAN", 0.5), [_distinct()]),
    "MDETERM": (_fn("MDETERM"), [_signed()]),
    "MINVERSE": (_fn("MINVERSE"), [_well_conditioned()]),
    "LINEST": (_fn("LINEST"), [_signed(), _distinct()]),
    "TREND": (_fn("TREND"), [_signed(), _distinct()]),
    "LOGEST": (_fn("LOGEST"), [_uniform(0.5, 2.0), _distinct()]),
    "GROWTH": (_fn("GROWTH"), [_uniform(0.5, 2.0), _distinct()]),
    "CUMIPMT": (_cumulative("CUMIPMT"), [_uniform(0.01, 0.1), _uniform(500, 800)]),
    "CUMPRINC": (_cumulative("CUMPRINC"), [_uniform(0.01, 0.1), _uniform(500, 800)]),
    "XNPV": (_xnpv, [_uniform(0.01, 0.1, (2, 3, 1, 1)), _signed()]),
}
