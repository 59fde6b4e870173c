"""Gradient cases for the array-shaping functions and PERCENTOF, merged into test_gradients.

The shaping functions move cells with one gather, so the gradient of each output reaches the
input cell it shows; the count and key arguments are constants (no gradient is asked of them).
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.functions.core.registry import lookup
from xl_lesson3.formula.values import Block

SHAPE = (2, 3, 2, 2)  # (batch, run, rows, cols)


def _any(shape=SHAPE):
    return lambda g: torch.randn(shape, generator=g, dtype=torch.float64)


def _positive(shape=SHAPE):
    return lambda g: torch.rand(shape, generator=g, dtype=torch.float64) + 0.5


def _with(name, *fixed):
    """`name` with its variable arguments first and constant ones (`fixed`) after them."""
    fn = lookup(name).impl
    return lambda *blocks: fn(*blocks, *fixed)


def _scalar(value: float) -> Block:
    return Block.scalar(value)


def _const(rows) -> Block:
    return Block(torch.tensor(rows, dtype=torch.float64)[None, None])


SHAPING_CASES = {
    "VSTACK": (lookup("VSTACK").impl, [_any(), _any((2, 3, 1, 2))]),
    "HSTACK": (lookup("HSTACK").impl, [_any(), _any((2, 3, 2, 1))]),
    "CHOOSECOLS": (_with("CHOOSECOLS", _scalar(-1), _scalar(1)), [_any()]),
    "CHOOSEROWS": (_with("CHOOSEROWS", _scalar(2)), [_any()]),
    "TAKE": (_with("TAKE", _scalar(-1)), [_any()]),
    "DROP": (_with("DROP", _scalar(1)), [_any()]),
    "EXPAND": (
        lambda a, pad: lookup("EXPAND").impl(a, _scalar(3), _scalar(3), pad),
        [_any(), _any((2, 3, 1, 1))],
    ),
    "TOCOL": (_with("TOCOL", _scalar(0), _scalar(1)), [_any()]),
    "TOROW": (lookup("TOROW").impl, [_any()]),
    "WRAPROWS": (
        lambda v, pad: lookup("WRAPROWS").impl(v, _scalar(3), pad),
        [_any((2, 3, 1, 4)), _any((2, 3, 1, 1))],
    ),
    "WRAPCOLS": (_with("WRAPCOLS", _scalar(2)), [_any((2, 3, 4, 1))]),
    "TRIMRANGE": (lookup("TRIMRANGE").impl, [_any()]),
    "SORTBY": (_with("SORTBY", _const([[2.0], [1.0]]), _scalar(-1)), [_any()]),
    "PERCENTOF": (lookup("PERCENTOF").impl, [_positive(), _positive()]),
}
