"""References computed by formulas: OFFSET, INDEX, INDIRECT, ``:``, the space, ``@``, ROW, COLUMN.

Most functions take values, but these take or give *references*: ``SUM(INDEX(A:A,2):INDEX(A:A,9))``
reads the rectangle two INDEX calls delimit, ``ROW(B7)`` never reads B7, ``OFFSET($F$1,k,0,1,5)``
reads five cells chosen by a number. A reference here is a `Rects`: one rectangle per cell of the
run (arrays of corners), worked out from the arguments once, then read with one gather for the
whole run (`read`), like any reference the planner bound. Rectangles only known once their
arguments are computed are announced to `UnitContext.on_read`, so that the evaluator can check
that the cells they read were computed first (and plan again when not; see `evaluate`).

The arguments that position a reference (OFFSET's rows and columns, INDEX's numbers, INDIRECT's
text) must not depend on the solver's changing cells: a position is piecewise constant, so its
gradient would be zero anyway, and the cells read must be fixed when the program is compiled.
The values read may depend on them: gradients flow to the cells picked (an embedding look-up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from xl_lesson3.errors import EvaluationError, UnsupportedFunctionError, located
from xl_lesson3.formula.parse.ast import A1Ref, Binary, BoundRef, Call, Coord, NameRef, Node
from xl_lesson3.formula.scalars import ErrorCode, Kind
from xl_lesson3.formula.values import Block
from xl_lesson3.workbook.address import MAX_COL, MAX_ROW, CellAddress, RangeAddress

REFERENCE_FUNCTIONS = frozenset({"OFFSET", "INDIRECT", "ANCHORARRAY"})
POSITION_FUNCTIONS = frozenset({"ROW", "COLUMN", "ROWS", "COLUMNS"})  # read no cell values
RANGE_OPERATORS = (":", " ")


@dataclass(frozen=True)
class IndexRef:
    """Explicit cell indices for the resolvers: rows ``(n, R)`` and columns ``(C,)``."""

    sheet: str
    rows: np.ndarray
    cols: np.ndarray


@dataclass(frozen=True)
class Rects:
    """One rectangle per cell of the run (arrays of shape (n,), or (1,) when all are equal).

    `err`: an Excel error code per cell (``#REF!`` off the sheet, ``#NULL!`` for an empty
    intersection, an argument's error), 0 where the rectangle is good.
    """

    sheet: str
    r1: np.ndarray
    c1: np.ndarray
    r2: np.ndarray
    c2: np.ndarray
    err: np.ndarray

    @property
    def n(self) -> int:
        return len(self.r1)

    def single(self, i: int) -> RangeAddress:
        return RangeAddress(
            self.sheet, int(self.r1[i]), int(self.c1[i]), int(self.r2[i]), int(self.c2[i])
        )


def _rects(sheet, r1, c1, r2, c2, err=None) -> Rects:
    arrays = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.int64).reshape(-1) for a in (r1, c1, r2, c2))
    )
    n = len(arrays[0])
    err = np.zeros(n, dtype=np.int8) if err is None else np.broadcast_to(err, (n,)).astype(np.int8)
    r1, c1, r2, c2 = (np.array(a) for a in arrays)
    bad = (np.minimum(r1, r2) < 1) | (np.minimum(c1, c2) < 1)
    bad |= (np.maximum(r1, r2) > MAX_ROW) | (np.maximum(c1, c2) > MAX_COL)
    err = np.where((err == 0) & bad, np.int8(ErrorCode.REF), err)
    lo_r, hi_r = np.minimum(r1, r2), np.maximum(r1, r2)
    lo_c, hi_c = np.minimum(c1, c2), np.maximum(c1, c2)
    ok = err == 0
    return Rects(
        sheet,
        np.where(ok, lo_r, 1),
        np.where(ok, lo_c, 1),
        np.where(ok, hi_r, 1),
        np.where(ok, hi_c, 1),
        err,
    )


Lower = Callable[[Node, object], object]


def is_reference_node(node: Node) -> bool:
    """True for nodes whose value is a reference computed here (not a planner-bound one)."""
    if isinstance(node, Binary):
        return node.op in RANGE_OPERATORS
    return isinstance(node, Call) and node.name in REFERENCE_FUNCTIONS | {"INDEX"}


def rects_of(node: Node, ctx, lower: Lower) -> Rects | None:
    """The node's reference, or None when the node gives a value, not a reference."""
    if isinstance(node, BoundRef):
        return _bound_rects(node, ctx)
    if isinstance(node, Binary) and node.op in RANGE_OPERATORS:
        left, right = rects_of(node.left, ctx, lower), rects_of(node.right, ctx, lower)
        if left is None or right is None or left.sheet != right.sheet:
            raise EvaluationError(
                located(ctx.where, f"the {node.op!r} operator needs two references on one sheet")
            )
        return _range_op(node.op, left, right)
    if isinstance(node, Call):
        if node.name == "OFFSET":
            return _offset(node, ctx, lower)
        if node.name == "INDEX":
            return _index(node, ctx, lower)
        if node.name == "INDIRECT":
            return _indirect(node, ctx, lower)
        if node.name == "ANCHORARRAY":
            return _anchor_array(node, ctx, lower)
    return None


def _bound_rects(ref: BoundRef, ctx) -> Rects:
    rows = ctx.rows()
    col = ctx.col

    def coord(c: Coord, base):
        return np.asarray(c.value) if c.absolute else base + c.value

    moving = not (ref.row1.absolute and ref.row2.absolute)
    base_rows = rows if moving else rows[:1]
    return _rects(
        ref.sheet,
        coord(ref.row1, base_rows),
        coord(ref.col1, col),
        coord(ref.row2, base_rows),
        coord(ref.col2, col),
    )


def _range_op(op: str, a: Rects, b: Rects) -> Rects:
    err = np.where(a.err != 0, a.err, b.err)
    if op == ":":
        return _rects(
            a.sheet,
            np.minimum(a.r1, b.r1),
            np.minimum(a.c1, b.c1),
            np.maximum(a.r2, b.r2),
            np.maximum(a.c2, b.c2),
            err,
        )
    r1, c1 = np.maximum(a.r1, b.r1), np.maximum(a.c1, b.c1)
    r2, c2 = np.minimum(a.r2, b.r2), np.minimum(a.c2, b.c2)
    empty = (r1 > r2) | (c1 > c2)
    err = np.where((err == 0) & empty, np.int8(ErrorCode.NULL), err)
    return _rects(a.sheet, np.where(empty, 1, r1), np.where(empty, 1, c1),
                  np.where(empty, 1, r2), np.where(empty, 1, c2), err)  # fmt: skip


# -- numbers that position a reference ----------------------------------------------------------


def position_numbers(block, ctx, what: str) -> tuple[np.ndarray, np.ndarray]:
    """A 1×1-per-cell argument as integers (n,) (truncated) and error codes (n,).

    Booleans count as numbers, text is parsed, a blank is 0 (Excel's rules for OFFSET/INDEX).
    """
    if not isinstance(block, Block):
        raise EvaluationError(
            located(ctx.where, f"{what} depends on the changing cells; it must be fixed")
        )
    from xl_lesson3.formula.functions.core.coercion import to_number

    number = to_number(block)
    values = number.num.detach()[0, :, 0, 0].cpu().numpy()
    err = np.zeros(values.shape, dtype=np.int8)
    if number.err is not None:
        err = number.err.expand_as(number.num)[0, :, 0, 0].cpu().numpy().astype(np.int8)
    return np.trunc(values).astype(np.int64), err


def _arg(node: Call, i: int):
    from xl_lesson3.formula.parse.ast import Missing

    if i >= len(node.args) or isinstance(node.args[i], Missing):
        return None
    return node.args[i]


def _offset(node: Call, ctx, lower: Lower) -> Rects:
    if not 3 <= len(node.args) <= 5:
        raise UnsupportedFunctionError(
            located(ctx.where, f"OFFSET takes 3 to 5 arguments, got {len(node.args)}")
        )
    base = rects_of(node.args[0], ctx, lower)
    if base is None:
        raise EvaluationError(located(ctx.where, "OFFSET needs a reference as its first argument"))
    numbers = []
    for i, what in ((1, "OFFSET's rows"), (2, "OFFSET's cols"), (3, "OFFSET's height"),
                    (4, "OFFSET's width")):  # fmt: skip
        arg = _arg(node, i)
        numbers.append(None if arg is None else position_numbers(lower(arg, ctx), ctx, what))
    (rows, e1), (cols, e2) = numbers[0] or (0, 0), numbers[1] or (0, 0)
    height, e3 = numbers[2] if numbers[2] else (base.r2 - base.r1 + 1, 0)
    width, e4 = numbers[3] if numbers[3] else (base.c2 - base.c1 + 1, 0)
    err = _first_error(base.err, e1, e2, e3, e4)
    height, width = np.asarray(height), np.asarray(width)
    err = np.where((err == 0) & ((height == 0) | (width == 0)), np.int8(ErrorCode.REF), err)
    r1, c1 = base.r1 + rows, base.c1 + cols
    # A negative height or width extends up or left from the moved corner (Excel allows it).
    r2 = np.where(height > 0, r1 + height - 1, r1 + height + 1)
    c2 = np.where(width > 0, c1 + width - 1, c1 + width + 1)
    return _rects(base.sheet, r1, c1, r2, c2, err)


def _first_error(*errs) -> np.ndarray:
    out = None
    for err in errs:
        err = np.asarray(err, dtype=np.int8)
        out = err if out is None else np.where(out != 0, out, err)
    return np.atleast_1d(out)


def _index(node: Call, ctx, lower: Lower) -> Rects | None:
    """INDEX(reference, row, [col]) as a reference: only with a plain reference and 1×1 numbers
    (INDEX over an array, or with arrays of numbers, gives values: see `lookup.index`)."""
    if not 2 <= len(node.args) <= 4 or len(node.args) == 4:
        return None
    base = rects_of(node.args[0], ctx, lower)
    if base is None:
        return None
    values = [lower(arg, ctx) if arg is not None else None for arg in
              (_arg(node, 1), _arg(node, 2))]  # fmt: skip
    if any(isinstance(v, Block) and v.shape != (1, 1) for v in values):
        return None
    if any(v is not None and not isinstance(v, Block) for v in values):
        return None
    height, width = base.r2 - base.r1 + 1, base.c2 - base.c1 + 1
    row, e1 = position_numbers(values[0], ctx, "INDEX's row") if values[0] else (0, 0)
    col, e2 = position_numbers(values[1], ctx, "INDEX's column") if values[1] else (None, 0)
    two_d = None
    if col is None:  # one number: the position along a single row or column
        two_d = (height > 1) & (width > 1)  # ... and none in a 2-D reference: #REF! (Excel)
        row, col = (
            np.where(height == 1, 1, row),
            np.where(height == 1, row, np.where(width == 1, 1, 0)),
        )
    row, col = np.asarray(row), np.asarray(col)
    err = _first_error(base.err, e1, e2)
    bad_value = (row < 0) | (col < 0)
    bad_ref = (row > height) | (col > width)
    if two_d is not None:
        bad_ref = bad_ref | two_d
    err = np.where(err != 0, err, np.where(bad_value, np.int8(ErrorCode.VALUE),
                                           np.where(bad_ref, np.int8(ErrorCode.REF), 0)))  # fmt: skip
    r1 = np.where(row == 0, base.r1, base.r1 + row - 1)
    r2 = np.where(row == 0, base.r2, base.r1 + row - 1)
    c1 = np.where(col == 0, base.c1, base.c1 + col - 1)
    c2 = np.where(col == 0, base.c2, base.c1 + col - 1)
    return _rects(base.sheet, r1, c1, r2, c2, err.astype(np.int8))


def _indirect(node: Call, ctx, lower: Lower) -> Rects:
    if not 1 <= len(node.args) <= 2:
        raise UnsupportedFunctionError(
            located(ctx.where, f"INDIRECT takes 1 or 2 arguments, got {len(node.args)}")
        )
    style = _arg(node, 1)
    if style is not None:
        flag, err = position_numbers(lower(style, ctx), ctx, "INDIRECT's a1")
        if (flag == 0).any() and (err == 0).all():
            raise UnsupportedFunctionError(
                located(ctx.where, "INDIRECT with R1C1 text (a1 FALSE) is not supported")
            )
    texts = _texts(lower(node.args[0], ctx), ctx)
    model = ctx.model
    if model is None:
        raise UnsupportedFunctionError(located(ctx.where, "INDIRECT needs the workbook"))
    found = [_indirect_one(text, ctx, model) for text in texts]
    sheets = {rect.sheet for rect in found if rect.err[0] == 0}
    sheet = sheets.pop() if len(sheets) == 1 else (ctx.unit.anchor.sheet if not sheets else None)
    if sheet is None:
        raise EvaluationError(located(ctx.where, "INDIRECT reads different sheets along a run"))
    parts = [np.concatenate([getattr(r, key) for r in found]) for key in ("r1", "c1", "r2", "c2")]
    return _rects(sheet, *parts, np.concatenate([r.err for r in found]))


def _texts(block, ctx) -> list[object]:
    if not isinstance(block, Block):
        raise EvaluationError(
            located(ctx.where, "INDIRECT's text depends on the changing cells; it must be fixed")
        )
    from xl_lesson3.formula.functions.core.shapes import text_array

    n = block.num.shape[1]
    texts = text_array(block)[:, 0, 0] if block.text is not None else [None] * n
    err = None if block.err is None else block.err.expand_as(block.num)[0, :, 0, 0].tolist()
    return [ErrorCode(err[i]) if err is not None and err[i] else texts[i] for i in range(n)]


def _indirect_one(text, ctx, model) -> Rects:
    from xl_lesson3.errors import FormulaSyntaxError
    from xl_lesson3.formula.parse.references import parse_reference
    from xl_lesson3.formula.plan.bind import bind_formula

    if isinstance(text, ErrorCode):
        return _rects(ctx.unit.anchor.sheet, 1, 1, 1, 1, np.int8(text))
    if not isinstance(text, str) or not text.strip():
        return _rects(ctx.unit.anchor.sheet, 1, 1, 1, 1, np.int8(ErrorCode.REF))
    cell = ctx.unit.anchor
    try:
        parsed = parse_reference(text.strip())
        if not isinstance(parsed, (A1Ref, NameRef)):
            raise FormulaSyntaxError(text)
        bound = bind_formula(model, cell, parsed)
    except (FormulaSyntaxError, EvaluationError) as exc:
        del exc
        return _rects(cell.sheet, 1, 1, 1, 1, np.int8(ErrorCode.REF))
    except UnsupportedFunctionError:
        return _rects(cell.sheet, 1, 1, 1, 1, np.int8(ErrorCode.REF))
    if not isinstance(bound, BoundRef) or not model.sheet_exists(bound.sheet):
        return _rects(cell.sheet, 1, 1, 1, 1, np.int8(ErrorCode.REF))
    rng = bound.at(cell.row, cell.col)
    return _rects(rng.sheet, rng.min_row, rng.min_col, rng.max_row, rng.max_col)


def _anchor_array(node: Call, ctx, lower: Lower) -> Rects:
    """``A1#`` / ANCHORARRAY(A1): the block the array formula anchored at A1 fills."""
    base = rects_of(node.args[0], ctx, lower) if len(node.args) == 1 else None
    if base is None:
        raise EvaluationError(located(ctx.where, "a spill reference needs a cell"))
    model = ctx.model
    r1, c1, r2, c2 = (a.copy() for a in (base.r1, base.c1, base.r2, base.c2))
    err = base.err.copy()
    for i in range(base.n):
        anchor = CellAddress(base.sheet, int(base.r1[i]), int(base.c1[i]))
        array = None if model is None else model.array_formulas.get(anchor)
        if array is None:
            err[i] = err[i] or ErrorCode.REF
        else:
            r2[i], c2[i] = array.ref.max_row, array.ref.max_col
    return _rects(base.sheet, r1, c1, r2, c2, err)


# -- reading ------------------------------------------------------------------------------------


def read(rects: Rects, ctx):
    """The values in the rectangles, as one (batch, n, R, C) block (or a closure computing it)."""
    heights, widths = rects.r2 - rects.r1 + 1, rects.c2 - rects.c1 + 1
    ok = rects.err == 0
    if ok.any() and (len(set(heights[ok].tolist())) > 1 or len(set(widths[ok].tolist())) > 1):
        raise EvaluationError(
            located(ctx.where, "a computed reference changes size along a run of formulas")
        )
    height = int(heights[ok][0]) if ok.any() else 1
    width = int(widths[ok][0]) if ok.any() else 1
    r1 = np.where(ok, rects.r1, 1)
    c1 = np.where(ok, rects.c1, 1)
    if ctx.on_read is not None:
        cells = ctx.rows()
        for i in np.flatnonzero(ok).tolist():
            cell = CellAddress(ctx.unit.anchor.sheet, int(cells[i % len(cells)]), ctx.col)
            ctx.on_read(cell, RangeAddress(rects.sheet, int(r1[i]), int(c1[i]),
                                           int(r1[i]) + height - 1, int(c1[i]) + width - 1))  # fmt: skip
    rows = r1[:, None] + np.arange(height)[None, :]  # (n, R)
    if len(set(c1.tolist())) == 1:
        value = ctx.resolve(IndexRef(rects.sheet, rows, int(c1[0]) + np.arange(width)), ctx)
    else:
        value = _read_each(rects.sheet, rows, c1, width, ctx)
    if not (~ok).any():
        return value
    return _with_errors(value, rects.err)


def _read_each(sheet: str, rows: np.ndarray, c1: np.ndarray, width: int, ctx):
    """Rectangles whose columns differ along the run: read each and stack them on the run dim."""
    from xl_lesson3.formula.compile.interpret import Dynamic

    parts = [
        ctx.resolve(IndexRef(sheet, rows[i : i + 1], int(c1[i]) + np.arange(width)), ctx)
        for i in range(len(c1))
    ]
    if not any(isinstance(part, Dynamic) for part in parts):
        return stack_run(parts)
    fixed = [ctx.lift(p) if isinstance(p, Block) else p for p in parts]
    return Dynamic(
        lambda env: stack_run([p.run(env) if isinstance(p, Dynamic) else p for p in fixed])
    )


def stack_run(blocks: list[Block]) -> Block:
    """Blocks of one run cell each, (b, 1, R, C), stacked into (b, n, R, C)."""
    batch = max(b.num.shape[0] for b in blocks)

    def cat(get, dtype=None):
        tensors = [get(b) for b in blocks]
        if all(t is None for t in tensors):
            return None
        like = blocks[0].num
        out = [
            (t if t is not None else torch.zeros((1, 1, *b.shape), dtype=dtype, device=like.device))
            for t, b in zip(tensors, blocks, strict=True)
        ]
        return torch.cat([t.expand(batch, *t.shape[1:]) for t in out], dim=1)

    text = None
    if any(b.text is not None for b in blocks):
        from xl_lesson3.formula.functions.core.shapes import text_array

        text = np.concatenate([text_array(b) for b in blocks], axis=0)
    return Block(
        cat(lambda b: b.num),
        err=cat(lambda b: b.err, torch.int8),
        kind=cat(lambda b: b.kind, torch.int8),
        text=text,
        from_reference=True,
    )


def _with_errors(value, err: np.ndarray):
    from xl_lesson3.formula.compile.interpret import Dynamic

    def overlay(block: Block) -> Block:
        codes = torch.as_tensor(err, device=block.num.device)[None, :, None, None]
        bad = codes != 0
        shape = torch.broadcast_shapes(block.num.shape, codes.shape)
        old = block.err if block.err is not None else torch.zeros((1, 1, 1, 1), dtype=torch.int8)
        new_err = torch.where(bad, codes, old.to(codes.device)).expand(shape)
        num = torch.where(bad, torch.zeros((), dtype=block.num.dtype), block.num)
        kind = None if block.kind is None else torch.where(bad, int(Kind.NUMBER), block.kind)
        return Block(num, err=new_err, kind=kind, text=block.text, from_reference=True)

    if isinstance(value, Dynamic):
        return Dynamic(lambda env: overlay(value.run(env)))
    return overlay(value)


# -- implicit intersection and positions -------------------------------------------------------


def intersect(rects: Rects, ctx) -> Rects:
    """Excel's implicit intersection for each cell of the run: the cell of the reference in the
    formula's row (a one-column reference) or column (a one-row reference); else #VALUE!."""
    rows = ctx.rows()
    n = max(rects.n, len(rows))
    rows = np.broadcast_to(rows if len(rows) == n else rows[:1], (n,))

    def spread(a):
        return np.broadcast_to(a, (n,))

    r1, c1, r2, c2, err = (spread(a) for a in (rects.r1, rects.c1, rects.r2, rects.c2, rects.err))
    col = ctx.col
    single = (r1 == r2) & (c1 == c2)
    in_column = (c1 == c2) & (r1 <= rows) & (rows <= r2)
    in_row = (r1 == r2) & (c1 <= col) & (col <= c2)
    row = np.where(single | ~in_column, r1, rows)
    column = np.where(single | ~in_row | in_column, c1, col)
    bad = ~(single | in_column | in_row)
    err = np.where(err != 0, err, np.where(bad, np.int8(ErrorCode.VALUE), 0)).astype(np.int8)
    return _rects(rects.sheet, row, column, row, column, err)


def _is_union(node: Node) -> bool:
    """A union, or an intersection with one (which is a union of intersections)."""
    if isinstance(node, Binary) and node.op == ",":
        return True
    return (
        isinstance(node, Binary)
        and node.op == " "
        and (_is_union(node.left) or _is_union(node.right))
    )


def is_single_cell(rects: Rects) -> bool:
    return bool(((rects.r1 == rects.r2) & (rects.c1 == rects.c2)).all())


def positions(name: str, node: Call, ctx, lower: Lower):
    """ROW/COLUMN/ROWS/COLUMNS: numbers about a reference, without reading its cells."""
    rows = ctx.rows()
    if not node.args and name in ("ROW", "COLUMN"):
        values = rows.astype(np.float64) if name == "ROW" else np.full(len(rows), float(ctx.col))
        return Block(torch.as_tensor(values, dtype=torch.float64)[None, :, None, None])
    if len(node.args) != 1:
        takes = "0 or 1 argument" if name in ("ROW", "COLUMN") else "1 argument"
        raise UnsupportedFunctionError(
            located(ctx.where, f"{name} takes {takes}, got {len(node.args)}")
        )
    if _is_union(node.args[0]):
        return Block.error(ErrorCode.REF)  # a union has no single shape or position
    rects = rects_of(node.args[0], ctx, lower)
    if rects is None:
        if name in ("ROWS", "COLUMNS"):
            return None  # a value: its shape, see `lookup.rows`
        return Block.error(ErrorCode.VALUE)
    if name == "ROWS":
        values = (rects.r2 - rects.r1 + 1).astype(np.float64)[:, None, None]
    elif name == "COLUMNS":
        values = (rects.c2 - rects.c1 + 1).astype(np.float64)[:, None, None]
    elif name == "ROW":
        height = int((rects.r2 - rects.r1).max()) + 1
        values = (rects.r1[:, None] + np.arange(height)[None, :]).astype(np.float64)[:, :, None]
    else:
        width = int((rects.c2 - rects.c1).max()) + 1
        values = (rects.c1[:, None] + np.arange(width)[None, :]).astype(np.float64)[:, None, :]
    num = torch.as_tensor(values)[None]
    err = None
    if (rects.err != 0).any():
        err = torch.as_tensor(rects.err)[None, :, None, None].expand(num.shape).clone()
        num = torch.where(err != 0, 0.0, num)
    return Block(num, err=err)
