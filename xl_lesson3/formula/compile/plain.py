"""Units proven to hold plain numbers, lowered to closures over bare tensors.

The general lowering (`interpret`) wraps every value in a `Block` and checks, at every node of
every call, whether an error, text, blank or boolean mask came along: values a workbook may
hold, which the solver's hundreds of calls on a plain numeric sheet never see. Here compile time
proves it instead, once per unit, and the unit runs as torch calls on bare tensors.

A unit is proven plain when

- every reference it reads is a constant rectangle of numbers (no error, text, blank or
  boolean cell), the parameters, or the output of a unit already proven plain;
- every node is one whose result, on plain numbers, is a plain number in Excel too: ``+ - *``
  and unary minus, ``^`` by a constant positive integer, ``/`` by a non-zero constant,
  ``IF(x<0,0,x)`` and ``IF(a OP b, t, f)``, ``MAX(0,x)``, ``SUMPRODUCT`` of two equal-sized
  rectangles, ``SUM`` and ``AVERAGE`` of one non-empty rectangle. (Overflow to inf is left
  unflagged here exactly as the general lowering's plain fast paths leave it; see
  `functions.core.operators`.)

Anything else (a division by a cell, a reference to a cell holding text, a function not listed)
leaves the unit to the general lowering, which is always correct. The values and gradients are
those of the general lowering's fast paths, op for op (tests/formula/test_plain_lowering.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from xl_lesson3.formula.compile.fusion import (
    BELOW_ZERO,
    TORCH_COMPARISONS,
    against_zero,
    is_zero,
)
from xl_lesson3.formula.compile.gather import DynamicSources
from xl_lesson3.formula.compile.interpret import Env, UnitContext, ref_indices
from xl_lesson3.formula.functions.core import registry
from xl_lesson3.formula.parse.ast import Binary, BoundRef, Call, Node, Number, Unary
from xl_lesson3.formula.values import Block

TensorRun = Callable[[Env], torch.Tensor]
Value = torch.Tensor | TensorRun  # a constant (1, n|1, R, C) tensor, or a run-time reader


class _NotPlain(Exception):
    """Raised inside the walk: this node cannot be proven plain (the unit stays general)."""


@dataclass(frozen=True)
class _Walk:
    ctx: UnitContext
    sources: DynamicSources
    plain: set[int]


def lower_plain(
    ctx: UnitContext, sources: DynamicSources, plain: set[int]
) -> Callable[[Env], Block] | None:
    """The unit's run over bare tensors when it is proven plain (see the module docstring)."""
    unit = ctx.unit
    if unit.is_array or isinstance(unit.body, BoundRef):
        return None  # array formulas fill blocks; a bare reference intersects implicitly
    try:
        value = _cell(unit.body, _Walk(ctx, sources, plain))
    except _NotPlain:
        return None
    if not callable(value):
        return None  # reads no variable after all: the general lowering folds it
    n = unit.length
    if _varies(unit.body, ctx) or n == 1:
        return lambda env: Block(value(env))  # already (b, n, 1, 1)

    def run(env: Env) -> Block:
        num = value(env)
        if num.shape[1] != n:  # a formula that reads only anchored cells: the same down the run
            num = num.expand(num.shape[0], n, 1, 1)
        return Block(num)

    return run


def _varies(node: Node, ctx: UnitContext) -> bool:
    """True when a single-cell reference moving with the row is among the operands of the
    formula's cell-by-cell operators: its value is then (b, n, 1, 1) at every call."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, BoundRef):
            one_cell = item.row1 == item.row2 and item.col1 == item.col2
            if one_cell and ref_indices(item, ctx)[0].shape[0] == ctx.unit.length:
                return True
        elif isinstance(item, Unary):
            stack.append(item.operand)
        elif isinstance(item, Binary):
            stack.extend((item.left, item.right))
        elif isinstance(item, Call) and registry.lookup(item.name).name in ("IF", "MAX"):
            stack.extend(item.args)
    return False


def _cell(node: Node, walk: _Walk) -> Value:
    """A single-cell value: (b|1, n|1, 1, 1)."""
    if isinstance(node, Number):
        return torch.full((1, 1, 1, 1), node.value, dtype=walk.ctx.dtype, device=walk.ctx.device)
    if isinstance(node, BoundRef):
        if node.row1 != node.row2 or node.col1 != node.col2:
            raise _NotPlain  # a range as a cell's value: Excel intersects it implicitly
        return _reference(node, walk)
    if isinstance(node, Unary) and node.op in ("-", "+"):
        operand = _cell(node.operand, walk)
        return operand if node.op == "+" else _map(torch.neg, operand)
    if isinstance(node, Binary):
        return _binary(node, walk)
    if isinstance(node, Call):
        return _call(node, walk)
    raise _NotPlain


def _binary(node: Binary, walk: _Walk) -> Value:
    if node.op in ("+", "-", "*"):
        fn = {"+": torch.add, "-": torch.sub, "*": torch.mul}[node.op]
        return _map(fn, _cell(node.left, walk), _cell(node.right, walk))
    if node.op == "/" and isinstance(node.right, Number) and node.right.value != 0:
        return _map(torch.div, _cell(node.left, walk), _cell(node.right, walk))
    if node.op == "^" and isinstance(node.right, Number):
        exponent = node.right.value
        if float(exponent).is_integer() and 1 <= exponent <= 1024:
            n = int(exponent)
            base = _cell(node.left, walk)
            return _map(torch.square, base) if n == 2 else _map(lambda x: torch.pow(x, n), base)
    raise _NotPlain


def _call(node: Call, walk: _Walk) -> Value:
    if not registry.is_supported(node.name):  # LAMBDA and the engine's own calls
        raise _NotPlain
    name = registry.lookup(node.name, walk.ctx.where).name
    args = node.args
    if name == "IF" and len(args) == 3:
        return _if(node, walk)
    if name == "MAX" and len(args) == 2 and is_zero(args[0]) != is_zero(args[1]):
        x = _cell(args[1] if is_zero(args[0]) else args[0], walk)
        zero = torch.zeros((1, 1, 1, 1), dtype=walk.ctx.dtype, device=walk.ctx.device)
        return _map(torch.maximum, x, zero)
    if name == "SUMPRODUCT" and len(args) == 2:
        return _sumproduct(args, walk)
    if name in ("SUM", "AVERAGE") and len(args) == 1 and isinstance(args[0], BoundRef):
        rows, _ = ref_indices(args[0], walk.ctx)
        if rows.shape[0] == 1:  # the same range for every cell: all cells, in any layout
            values = _reference(args[0], walk, in_array=True, any_layout=True)
            reduce = _reduce_all(torch.sum if name == "SUM" else torch.mean)
        else:
            values = _reference(args[0], walk, in_array=True)
            fn = torch.sum if name == "SUM" else torch.mean
            reduce = lambda t: fn(t, dim=(-2, -1), keepdim=True)
        return _map(reduce, values)
    raise _NotPlain


def _reduce_all(fn: Callable[..., torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """`fn` (sum or mean) over every cell of each restart: (b, ...) → (b, 1, 1, 1)."""

    def reduce(t: torch.Tensor) -> torch.Tensor:
        if t.shape[2] == 1 and t.shape[3] == 1:  # a run's column (b, n, 1, 1): one dimension
            return fn(t, dim=1, keepdim=True)
        return fn(t, dim=(1, 2, 3), keepdim=True)

    return reduce


def _if(node: Call, walk: _Walk) -> Value:
    found = against_zero(node.args[0])
    if found is not None:  # IF(x<0,0,x) → threshold, IF(x<=0,0,x) → relu, as `fusion` does
        op, x = found
        if op in ("<", "<=") and is_zero(node.args[1]) and node.args[2] == x:
            below = BELOW_ZERO.get(walk.ctx.dtype)
            if below is None:
                raise _NotPlain
            value, below = _cell(x, walk), below if op == "<" else 0.0
            if callable(value):  # one closure, not two: this runs at every call
                return lambda env: torch.threshold(value(env), below, 0.0)
            return torch.threshold(value, below, 0.0)
    test = node.args[0]
    if not isinstance(test, Binary) or test.op not in TORCH_COMPARISONS:
        raise _NotPlain
    compare = TORCH_COMPARISONS[test.op]
    parts = [_cell(part, walk) for part in (test.left, test.right, *node.args[1:])]
    return _map(lambda a, b, t, f: torch.where(compare(a, b), t, f), *parts)


def _sumproduct(args: tuple[Node, ...], walk: _Walk) -> Value:
    if not all(isinstance(arg, BoundRef) for arg in args):
        raise _NotPlain
    (rows_a, cols_a), (rows_b, cols_b) = (ref_indices(arg, walk.ctx) for arg in args)
    if (rows_a.shape[1], len(cols_a)) != (rows_b.shape[1], len(cols_b)):
        raise _NotPlain  # differently shaped ranges: #VALUE!
    a, b = (_reference(arg, walk, in_array=True) for arg in args)
    if not callable(a) and rows_b.shape[0] == 1:  # constant rows · a parameter row: one mm
        return _rows_dot(a, b)
    if not callable(b) and rows_a.shape[0] == 1:
        return _rows_dot(b, a)
    return _map(lambda x, y: (x * y).sum(dim=(-2, -1), keepdim=True), a, b)


def _rows_dot(rows: torch.Tensor, weights: Value) -> Value:
    """(1, n, R, C) constant rows · (b, 1, R, C) weights → (b, n, 1, 1) by one ``mm``."""
    n = rows.shape[1]
    rows_t = rows.reshape(n, -1).T  # (K, n), transposed once here

    def dot(w: torch.Tensor) -> torch.Tensor:
        batch = w.shape[0]
        return torch.mm(w.reshape(batch, -1), rows_t).view(batch, n, 1, 1)

    return _map(dot, weights)


def _reference(ref: BoundRef, walk: _Walk, in_array: bool = False, any_layout=False) -> Value:
    ctx = replace(walk.ctx, in_array=True) if in_array else walk.ctx
    value = walk.sources.resolve_plain(ref, ctx, walk.plain, any_layout)
    if value is None:
        raise _NotPlain
    return value


def _map(fn: Callable[..., torch.Tensor], *values: Value) -> Value:
    """`fn` over values: folded now when all are constants, else a closure over the readers."""
    if not any(callable(v) for v in values):
        return fn(*values)
    if len(values) == 1:
        (only,) = values
        return lambda env: fn(only(env))
    if len(values) == 2:
        left, right = values
        if callable(left) and callable(right):
            return lambda env: fn(left(env), right(env))
        if callable(left):
            return lambda env: fn(left(env), right)
        return lambda env: fn(left, right(env))
    runs = [v if callable(v) else (lambda env, t=v: t) for v in values]
    return lambda env: fn(*(run(env) for run in runs))
