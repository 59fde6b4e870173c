"""Gradient cases for the function library's newer categories, merged into test_gradients.

Each entry: (function of Blocks, input makers); inputs are drawn where the function is smooth.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.registry import lookup
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
    "RADIANS": (_fn("RADIANS"), [_signed()]),
    "DEGREES": (_fn("DEGREES"), [_signed()]),
    "MOD": (_fn("MOD"), [_uniform(0.5, 1.5), _uniform(2.0, 3.0)]),
    "PRODUCT": (_fn("PRODUCT"), [_signed(), _signed()]),
    "SQRTPI": (_fn("SQRTPI"), [_uniform(0.5, 2.0)]),
    "N": (_fn("N"), [_signed()]),
    "IFNA": (_fn("IFNA"), [_signed(), _signed()]),
    "IFS": (_ifs, [_signed(), _signed()]),
    "SWITCH": (_switch, [_signed(), _signed()]),
}
