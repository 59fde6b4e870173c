"""Functions that ask about a reference rather than its values: ISREF, AREAS, ISFORMULA, CELL.

``ISREF(A1)`` is TRUE whatever A1 holds, ``AREAS((A1:B2,D4))`` counts the pieces of a union and
``ISFORMULA(B3)`` asks the workbook whether B3 holds a formula: none of them can work on the
values a reference reads, so the engine answers them from the formula's tree (which node kinds
are references) and from the workbook model, like ROW and COLUMN (`reference_ops.positions`).
They read no cell values (the planner adds no dependency: `parse.ast.POSITION_ONLY`), except
CELL("contents", ...), which reads the cell it names.
"""

from __future__ import annotations

import numpy as np
import torch

from xl_lesson3.errors import UnsupportedFunctionError, located
from xl_lesson3.formula.compile.reference_ops import Lower, is_reference_node, read, rects_of
from xl_lesson3.formula.parse.ast import Binary, BoundRef, Call, Node, Text
from xl_lesson3.formula.scalars import ErrorCode, Kind
from xl_lesson3.formula.values import Block
from xl_lesson3.workbook.address import CellAddress

REFERENCE_INFO_FUNCTIONS = frozenset({"ISREF", "AREAS", "ISFORMULA", "CELL"})


def reference_info(node: Call, ctx, lower: Lower):
    """The value of ISREF/AREAS/ISFORMULA/CELL `node` for every cell of the unit's run."""
    if node.name == "CELL":
        return _cell(node, ctx, lower)
    if len(node.args) != 1:
        raise UnsupportedFunctionError(
            located(ctx.where, f"{node.name} takes 1 argument, got {len(node.args)}")
        )
    arg = node.args[0]
    if node.name == "ISREF":
        return _isref(arg, ctx, lower)
    if node.name == "AREAS":
        return _areas(arg, ctx, lower)
    return _isformula(arg, ctx, lower)


def _run_length(ctx) -> int:
    return 1 if ctx.unit.is_array else ctx.unit.length


def _per_run(values: np.ndarray, *, boolean: bool = False, err: np.ndarray | None = None) -> Block:
    """A (1, n, R, C) block from numbers (n, R, C); booleans when `boolean`."""
    num = torch.as_tensor(values.astype(np.float64))[None]
    kind = torch.full((1, 1, 1, 1), int(Kind.BOOL), dtype=torch.int8) if boolean else None
    codes = None
    if err is not None and err.any():
        codes = torch.as_tensor(np.broadcast_to(err, values.shape).astype(np.int8))[None]
        num = torch.where(codes != 0, 0.0, num)
    return Block(num, err=codes, kind=kind)


def _union_areas(node: Node) -> list[Node] | None:
    """The areas of a union ``(A1,B2:C3)`` (intersections with a union distributed), or None."""
    if isinstance(node, Binary) and node.op == ",":
        return [
            *(_union_areas(node.left) or [node.left]),
            *(_union_areas(node.right) or [node.right]),
        ]
    if isinstance(node, Binary) and node.op == " ":
        left, right = _union_areas(node.left), _union_areas(node.right)
        if left is None and right is None:
            return None
        return [Binary(" ", a, b) for a in (left or [node.left]) for b in (right or [node.right])]
    return None


def _isref(arg: Node, ctx, lower: Lower) -> Block:
    """ISREF(value): TRUE for a reference (a cell, a range, a union, OFFSET/INDEX/INDIRECT's
    answer), FALSE for anything else; a computed reference that failed (#REF!) is no reference."""
    n = _run_length(ctx)
    if _union_areas(arg) is not None:
        return _per_run(np.ones((n, 1, 1)), boolean=True)
    if not (isinstance(arg, BoundRef) or is_reference_node(arg)):
        return _per_run(np.zeros((n, 1, 1)), boolean=True)
    rects = rects_of(arg, ctx, lower)
    if rects is None:  # INDEX over an array: a value
        return _per_run(np.zeros((n, 1, 1)), boolean=True)
    good = np.broadcast_to(rects.err == 0, (n,)) if rects.n in (1, n) else rects.err == 0
    return _per_run(good.astype(np.float64)[:, None, None], boolean=True)


def _areas(arg: Node, ctx, lower: Lower) -> Block:
    """AREAS(reference): how many rectangles a reference is made of (a union's pieces; an
    intersection of a union with a range keeps one piece per area)."""
    n = _run_length(ctx)
    areas = _union_areas(arg) or [arg]
    counts = np.zeros(n)
    err = np.zeros(n, dtype=np.int8)
    for area in areas:
        if not (isinstance(area, BoundRef) or is_reference_node(area)):
            return _per_run(np.zeros((n, 1, 1)), err=np.full((n, 1, 1), int(ErrorCode.VALUE)))
        rects = rects_of(area, ctx, lower)
        if rects is None:
            return _per_run(np.zeros((n, 1, 1)), err=np.full((n, 1, 1), int(ErrorCode.VALUE)))
        empty = np.broadcast_to(rects.err == int(ErrorCode.NULL), (n,))
        counts += ~empty
        err = np.where((err == 0) & (rects.err != 0) & ~empty, rects.err, err)
    err = np.where((err == 0) & (counts == 0), np.int8(ErrorCode.NULL), err)
    return _per_run(counts[:, None, None], err=err[:, None, None])


def _isformula(arg: Node, ctx, lower: Lower) -> Block:
    """ISFORMULA(reference): per cell of the reference, whether it holds a formula (a member of
    an array formula's block does); an array of answers for a range."""
    n = _run_length(ctx)
    rects = rects_of(arg, ctx, lower) if _union_areas(arg) is None else None
    if rects is None or ctx.model is None:
        return _per_run(np.zeros((n, 1, 1)), err=np.full((n, 1, 1), int(ErrorCode.VALUE)))
    model = ctx.model
    formulas = model.formula_cell_set
    height = int((rects.r2 - rects.r1).max()) + 1
    width = int((rects.c2 - rects.c1).max()) + 1
    count = max(rects.n, n) if rects.n != 1 else 1
    out = np.zeros((count, height, width))
    for i in range(count):
        k = min(i, rects.n - 1)
        for dr in range(height):
            for dc in range(width):
                cell = CellAddress(rects.sheet, int(rects.r1[k]) + dr, int(rects.c1[k]) + dc)
                out[i, dr, dc] = cell in formulas or model.array_formula_covering(cell) is not None
    err = np.broadcast_to(rects.err[:count, None, None], out.shape)
    return _per_run(out, boolean=True, err=err)


# CELL's info types answered from the reference alone, or from the cell's value ("contents").
_CELL_INFO = ("address", "col", "row", "contents", "type")


def _cell(node: Call, ctx, lower: Lower):
    """CELL(info_type, reference): "address", "col", "row", "contents" and "type" of the
    reference's top-left cell. The other info types (formats, widths, the file name) describe
    the workbook's presentation, which the engine does not model: they are not supported."""
    if len(node.args) != 2:
        raise UnsupportedFunctionError(
            located(ctx.where, "CELL without a reference (the last cell changed) is not supported")
        )
    info = node.args[0]
    if not isinstance(info, Text) or info.value.lower() not in _CELL_INFO:
        shown = info.value if isinstance(info, Text) else "a computed info_type"
        raise UnsupportedFunctionError(
            located(ctx.where, f"CELL with {shown!r} is not supported (supported: {_CELL_INFO})")
        )
    kind = info.value.lower()
    rects = rects_of(node.args[1], ctx, lower)
    if rects is None:
        return Block.error(ErrorCode.VALUE)
    top_left = type(rects)(rects.sheet, rects.r1, rects.c1, rects.r1, rects.c1, rects.err)
    n = _run_length(ctx)
    if kind == "row":
        return _per_run(
            np.broadcast_to(rects.r1, (n,))[:, None, None], err=rects.err[:, None, None]
        )
    if kind == "col":
        return _per_run(
            np.broadcast_to(rects.c1, (n,))[:, None, None], err=rects.err[:, None, None]
        )
    if kind == "address":
        return _address(top_left, ctx, n)
    value = read(top_left, ctx)
    if kind == "contents":
        return value
    return _type_letter(value)


def _address(rects, ctx, n: int) -> Block:
    from openpyxl.utils.cell import get_column_letter

    from xl_lesson3.formula.functions.lookup.matching import block_from_values
    from xl_lesson3.workbook.address import quote_sheet

    texts = np.empty((n, 1, 1), dtype=object)
    for i in range(n):
        k = min(i, rects.n - 1)
        text = f"${get_column_letter(int(rects.c1[k]))}${int(rects.r1[k])}"
        if rects.sheet != ctx.unit.anchor.sheet:
            text = f"{quote_sheet(rects.sheet)}!{text}"
        texts[i, 0, 0] = text
    return block_from_values(texts)


def _type_letter(value) -> Block:
    """CELL("type"): "b" for a blank cell, "l" (label) for text, "v" for anything else."""
    from xl_lesson3.formula.compile.interpret import Dynamic
    from xl_lesson3.formula.functions.lookup.matching import block_from_values, cell_values

    if isinstance(value, Dynamic):  # the letter does not depend on the solver's numbers
        raise UnsupportedFunctionError('CELL("type") of a changing cell is not supported')
    cells = cell_values(value)[0]  # (n, R, C)
    letters = np.empty(cells.shape, dtype=object)
    for index, item in np.ndenumerate(cells):
        letters[index] = "b" if item is None else "l" if isinstance(item, str) else "v"
    return block_from_values(letters)
