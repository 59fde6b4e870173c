"""Fused lowerings for the patterns spreadsheets repeat on every row: fewer torch ops per call.

The general lowering calls the function library once per AST node, and each call must handle
every kind of value (errors, text, booleans, blanks). Training a sheet calls the compiled
program hundreds of times on plain numbers, so a few shapes are recognised here, from the AST,
and lowered to the torch ops a hand-written model would use:

- ``IF(x<0,0,x)`` (and ``IF(0>x,0,x)``) → one ``threshold`` (the ReLU primitive) that keeps
  ``x >= 0``: its gradient at 0 is 1, as IF's branch choice gives, where ``relu``'s would be 0.
  ``IF(x<=0,0,x)`` → ``relu``, whose gradient at 0 is 0, as that IF's is.
- ``MAX(0,x)`` / ``MAX(x,0)`` on one cell → one ``torch.maximum`` (what MAX computes; ties
  share the gradient, as MAX's reduction does).
- ``SUMPRODUCT(row, weights)`` where one side is the same for every restart and the other the
  same for every row (inputs against a parameter row, the linear layer) → one matrix product
  ``(batch, K) @ (K, rows)``, not a broadcast batched dot product.
- ``AVERAGE(range)`` of plain numbers → one ``mean`` (every cell counts: no count to take).
- ``IF(a<b, t, f)`` with any comparison → ``torch.where`` on the comparison's boolean mask:
  no round trip through a float TRUE/FALSE and back (``lt → to(float) → ne → where``).

Across units, `siblings` runs sibling ``SUMPRODUCT`` columns (k hidden units over the same
input rows) as one matrix product, and `plain` lowers units that compile time proves hold plain
numbers to bare tensor ops, with these same lowerings and no per-call checks.

Every fused function checks its blocks when it runs: the fast path is taken only for plain
numbers (no error, kind or text masks) of compatible shapes, and anything else goes through the
library's own IF/MAX and comparison operators, so results, error values and gradients are the
same as the general lowering's (tests/formula/test_fusion.py checks them side by side).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from xl_lesson3.formula.functions.core.operators import BINARY_OPERATORS
from xl_lesson3.formula.functions.core.registry import FunctionSpec
from xl_lesson3.formula.functions.core.shapes import broadcast_shape, is_plain
from xl_lesson3.formula.parse.ast import Binary, Call, Node, Number
from xl_lesson3.formula.values import Block

Fused = tuple[Callable[..., Block], tuple[Node, ...]]

TORCH_COMPARISONS = {
    "=": torch.eq,
    "<>": torch.ne,
    "<": torch.lt,
    ">": torch.gt,
    "<=": torch.le,
    ">=": torch.ge,
}
_MIRRORED = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "<>": "<>"}
# The largest negative float of each dtype: `threshold(x, t, 0)` keeps x where x > t, so with
# this t it keeps exactly x >= 0 (-0.0 included), like IF(x<0,0,x), NaN passing through too.
BELOW_ZERO = {
    torch.float64: math.nextafter(0.0, -1.0),
    torch.float32: -1.401298464324817e-45,
}


def fuse_call(node: Call, spec: FunctionSpec) -> Fused | None:
    """(function of the parts' blocks, the AST parts to lower) for a fusable call, else None."""
    if spec.lazy:
        return None
    if spec.name == "IF" and len(node.args) == 3:
        return _relu_if(node) or _compare_if(node)
    if spec.name == "MAX" and len(node.args) == 2:
        return _relu_max(node)
    if spec.name == "SUMPRODUCT" and len(node.args) == 2:
        return _dot(node, spec)
    if spec.name == "AVERAGE" and len(node.args) == 1:
        return _mean(node, spec)
    return None


def is_zero(node: Node) -> bool:
    return isinstance(node, Number) and node.value == 0


def against_zero(test: Node) -> tuple[str, Node] | None:
    """``x OP 0`` (or ``0 OP x``, mirrored) as (OP, x); None for any other test."""
    if not isinstance(test, Binary) or test.op not in TORCH_COMPARISONS:
        return None
    if is_zero(test.right) and not is_zero(test.left):
        return test.op, test.left
    if is_zero(test.left) and not is_zero(test.right):
        return _MIRRORED[test.op], test.right
    return None


def _relu_if(node: Call) -> Fused | None:
    """IF(x<0,0,x) → threshold keeping x >= 0; IF(x<=0,0,x) → relu (see the module docstring)."""
    found = against_zero(node.args[0])
    if found is None:
        return None
    op, x = found
    then, otherwise = node.args[1], node.args[2]
    if op not in ("<", "<=") or not is_zero(then) or otherwise != x:
        return None
    general = _general_if(node)

    def relu_if(value: Block) -> Block:
        if is_plain(value) and value.num.dtype in BELOW_ZERO:
            below = BELOW_ZERO[value.num.dtype] if op == "<" else 0.0
            return Block(torch.threshold(value.num, below, 0.0))
        return general(value)

    return relu_if, (x,)


def _general_if(node: Call) -> Callable[[Block], Block]:
    """IF(test, 0, x) from x's block alone, through the library (for values that are not plain)."""
    from xl_lesson3.formula.functions.core.registry import lookup

    test = node.args[0]
    compare = BINARY_OPERATORS[test.op]
    if_ = lookup("IF").impl

    def general(value: Block) -> Block:
        zero = Block(value.num.new_zeros((1, 1, 1, 1)))
        left, right = (value, zero) if is_zero(test.right) else (zero, value)
        return if_(compare(left, right), zero, value)

    return general


def _compare_if(node: Call) -> Fused | None:
    """IF(a OP b, t, f) → where(a OP b, t, f) on the boolean mask, for plain numbers."""
    test = node.args[0]
    if not isinstance(test, Binary) or test.op not in TORCH_COMPARISONS:
        return None
    torch_test = TORCH_COMPARISONS[test.op]
    compare = BINARY_OPERATORS[test.op]
    from xl_lesson3.formula.functions.core.registry import lookup

    if_ = lookup("IF").impl

    def compare_if(left: Block, right: Block, then: Block, otherwise: Block) -> Block:
        blocks = (left, right, then, otherwise)
        if is_plain(*blocks) and not broadcast_shape(*(b.shape for b in blocks))[1]:
            chosen = torch_test(left.num, right.num)  # bool, never differentiated
            return Block(torch.where(chosen, then.num, otherwise.num))
        return if_(compare(left, right), then, otherwise)

    return compare_if, (test.left, test.right, node.args[1], node.args[2])


def _relu_max(node: Call) -> Fused | None:
    """MAX(0,x) / MAX(x,0) on one cell → torch.maximum(x, 0)."""
    first, second = node.args
    if is_zero(first) == is_zero(second):
        return None
    x = second if is_zero(first) else first
    from xl_lesson3.formula.functions.core.registry import lookup

    max_ = lookup("MAX").impl
    zero_first = is_zero(first)

    def relu_max(value: Block) -> Block:
        zero = Block(value.num.new_zeros((1, 1, 1, 1)))
        if is_plain(value) and value.shape == (1, 1):
            return Block(torch.maximum(value.num, zero.num))
        return max_(zero, value) if zero_first else max_(value, zero)

    return relu_max, (x,)


def _dot(node: Call, spec: FunctionSpec) -> Fused:
    """SUMPRODUCT(a, b) as one ``mm`` when one side is constant over the batch and the other over
    the run; any other case (masks, shapes, a batch on both sides) goes to the library's."""
    general = spec.impl
    last: list[torch.Tensor | None] = [None, None]  # (per-row side, its transpose)

    def per_row_t(per_row: torch.Tensor) -> torch.Tensor:
        """(K, n): the per-row side as the right factor; a constant side (the same tensor on
        every call) is transposed once. Only the last one is kept, so nothing accumulates."""
        if last[0] is not per_row:
            last[0], last[1] = per_row, per_row.reshape(per_row.shape[1], -1).T
        return last[1]

    def dot(left: Block, right: Block) -> Block:
        a, b = left.num, right.num
        if (
            left.err is None
            and right.err is None
            and left.kind is None
            and right.kind is None
            and left.text is None
            and right.text is None
            and a.ndim == 4
            and b.ndim == 4
            and a.shape[2:] == b.shape[2:]
            and a.dtype == b.dtype
        ):
            (b1, n1, rows, cols), (b2, n2) = a.shape, b.shape[:2]
            if b1 == 1 and n2 == 1:
                product = b.reshape(b2, rows * cols) @ per_row_t(a)
                return Block(product.view(b2, n1, 1, 1))
            if b2 == 1 and n1 == 1:
                product = a.reshape(b1, rows * cols) @ per_row_t(b)
                return Block(product.view(b1, n2, 1, 1))
        return general(left, right)

    return dot, node.args


def _mean(node: Call, spec: FunctionSpec) -> Fused:
    """AVERAGE(range) of plain numbers: every cell counts, so the count is the range's size."""
    general = spec.impl

    def mean(values: Block) -> Block:
        if is_plain(values):
            # mean is sum / count in one op (one autograd node fewer): every cell counts
            return Block(values.num.mean(dim=(-2, -1), keepdim=True))
        return general(values)

    return mean, node.args
