"""INDEX over a union: ``INDEX((A1:A3,C1:C3), row, col, area)``.

A union is the one argument whose areas stay apart: INDEX's fourth argument picks the area
(``#REF!`` past the last), then row and column pick inside it, as INDEX over that area alone
would. Each area is looked up with the value INDEX (`lookup.lookups.index`) and the answers are
chosen cell by cell by the area number, so an array of area numbers (an array formula) gives an
answer per cell, as Excel's does.
"""

from __future__ import annotations

import torch

from xl_lesson3.formula.parse.ast import Binary, Call, Missing, Node
from xl_lesson3.formula.scalars import ErrorCode
from xl_lesson3.formula.values import Block


def union_areas(node: Node) -> list[Node] | None:
    """The areas of a union node ``(A1,B2:C3,...)`` in order, or None for anything else."""
    if not (isinstance(node, Binary) and node.op == ","):
        return None
    return [*(union_areas(node.left) or [node.left]), *(union_areas(node.right) or [node.right])]


def index_over_union(node: Call, areas: list[Node], ctx, lower, apply):
    """INDEX(union, row, [col], [area]): `lower` lowers a node, `apply` calls a function on
    lowered values (a Block now, or a closure for the solver)."""
    from xl_lesson3.formula.functions.lookup.lookups import index

    def arg(i: int):
        if i >= len(node.args) or isinstance(node.args[i], Missing):
            return None
        return lower(node.args[i], ctx)

    row, col, area = arg(1), arg(2), arg(3)
    picked = [
        apply(
            lambda a, r, c=None: index(a, r, c),
            [lower(a, ctx), row] + ([col] if col is not None else []),
        )
        for a in areas
    ]
    if area is None:
        return picked[0]
    return apply(lambda number, *answers: _choose_area(number, answers), [area, *picked])


def _choose_area(number: Block, answers: tuple[Block, ...]) -> Block:
    """Per cell, the answer of area `number` (1-based); #VALUE! below 1, #REF! past the last,
    the number's own error first."""
    from xl_lesson3.formula.functions.core.coercion import to_number
    from xl_lesson3.formula.functions.lookup.lookups import choose_

    numeric = to_number(number)
    k = len(answers)
    values = torch.trunc(numeric.num)
    clipped = Block(values.clamp(1, k), err=numeric.err)
    chosen = choose_(clipped, *answers)
    shape = chosen.num.shape
    code = torch.where(
        values < 1, int(ErrorCode.VALUE), torch.where(values > k, int(ErrorCode.REF), 0)
    )
    code = code.to(torch.int8).expand(shape)
    if numeric.err is not None:
        code = torch.where(numeric.err.expand(shape) != 0, numeric.err.expand(shape), code)
    bad = code != 0
    if not bool(bad.any()):
        return chosen
    err = code if chosen.err is None else torch.where(bad, code, chosen.err.expand(shape))
    num = torch.where(bad, torch.zeros((), dtype=chosen.num.dtype), chosen.num)
    kind = (
        None
        if chosen.kind is None
        else torch.where(bad, torch.zeros((), dtype=chosen.kind.dtype), chosen.kind.expand(shape))
    )
    return Block(num, err=err, kind=kind, text=chosen.text)
