"""One walk over a unit's formula, shared by evaluation and compilation.

`lower(node, ctx)` returns either a `Block` (the value is known now: the node reads no variable)
or a `Dynamic` (a closure that computes the value from the solver's parameters). Evaluation is
the special case where every reference is known, so the whole formula folds to a Block on the
spot; compilation gets Blocks for everything that does not depend on the variables (folded once,
with this same code) and closures, built from AST nodes, for the rest. No Python source is ever
generated.

Every node costs one call into the function library for the whole run of cells: references are
read as (batch, run, rows, cols) blocks (see `grid` and `compile`), so the number of tensor
operations depends on the formula, not on how many rows the run has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from xl_lesson3.errors import EvaluationError, XlLesson3Error, located
from xl_lesson3.formula.compile.fusion import fuse_call
from xl_lesson3.formula.compile.lambdas import (
    ENGINE_CALLS,
    lower_engine_call,
    lower_if,
    refuse_variables,
)
from xl_lesson3.formula.compile.reference_info import REFERENCE_INFO_FUNCTIONS, reference_info
from xl_lesson3.formula.compile.reference_ops import (
    POSITION_FUNCTIONS,
    RANGE_OPERATORS,
    REFERENCE_FUNCTIONS,
    IndexRef,
    intersect,
    is_reference_node,
    is_single_cell,
    positions,
    rects_of,
)
from xl_lesson3.formula.compile.reference_ops import read as read_rects
from xl_lesson3.formula.compile.union_index import index_over_union, union_areas
from xl_lesson3.formula.functions.core import registry
from xl_lesson3.formula.functions.core.coercion import as_result
from xl_lesson3.formula.functions.core.function_values import FunctionValue
from xl_lesson3.formula.functions.core.operators import (
    BINARY_OPERATORS,
    SPECIALIZATIONS,
    UNARY_OPERATORS,
)
from xl_lesson3.formula.parse.ast import (
    ArrayLiteral,
    Binary,
    Bool,
    BoundRef,
    Call,
    ErrorLiteral,
    Failed,
    Missing,
    Node,
    Number,
    Text,
    Unary,
)
from xl_lesson3.formula.plan.units import Unit
from xl_lesson3.formula.scalars import ErrorCode, Kind
from xl_lesson3.formula.values import Block
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import WorkbookModel

CONST_DTYPE = torch.float64  # constants are folded in float64 on the CPU, then converted


@dataclass
class Env:
    """What a compiled program's closures read at run time."""

    params: torch.Tensor  # (batch, n_vars)
    outputs: dict[int, Block] = field(default_factory=dict)  # unit index → its output block

    @property
    def batch(self) -> int:
        return self.params.shape[0]


@dataclass(frozen=True)
class Dynamic:
    """A value computed at run time from the parameters."""

    run: Callable[[Env], Block]


Value = Block | Dynamic


@dataclass
class UnitContext:
    """Where a formula is lowered: its unit, how references resolve, the target dtype/device."""

    unit: Unit
    resolve: Callable[[BoundRef, UnitContext], Value]
    dtype: torch.dtype = torch.float64
    device: torch.device | str = "cpu"
    # Told of every rectangle a formula cell reads through OFFSET/INDIRECT (not known when
    # planning), so that the evaluator can check the cells it reads were computed first.
    on_read: Callable[[CellAddress, RangeAddress], None] | None = None
    model: WorkbookModel | None = None  # for INDIRECT's text and spill references
    in_array: bool = False  # inside an array-typed argument: ranges stay ranges (see below)
    # Inside a LAMBDA's call: its parameters' values (innermost last), and how deep calls nest.
    bindings: tuple[tuple[str, object], ...] = ()
    depth: int = 0
    # Told of every call of a `gradient_free` function on the changing cells (see the registry).
    on_gradient_free: Callable[[str], None] | None = None

    @property
    def where(self) -> str:
        return str(self.unit.anchor)

    def rows(self) -> np.ndarray:
        """The formula rows of the unit: (n,)."""
        return np.arange(self.unit.output.min_row, self.unit.output.min_row + self.unit.length)

    @property
    def col(self) -> int:
        return self.unit.output.min_col

    def lift(self, block: Block) -> Block:
        """A constant block in the program's dtype and device."""
        return to_target(block, self.dtype, self.device)


def to_target(block: Block, dtype: torch.dtype, device) -> Block:
    """`block` with its tensors moved to `device` and its numbers cast to `dtype`."""
    return block.with_(
        num=block.num.to(device=device, dtype=dtype),
        err=None if block.err is None else block.err.to(device),
        kind=None if block.kind is None else block.kind.to(device),
    )


def ref_indices(ref: BoundRef | IndexRef, ctx: UnitContext) -> tuple[np.ndarray, np.ndarray]:
    """Sheet rows (n', R) and columns (C,) that `ref` reads for every cell of the unit.

    n' is the run length for a reference that moves with the row, 1 for an anchored one. An
    `IndexRef` (a reference computed by OFFSET, INDEX, ...) carries its indices already.
    """
    if isinstance(ref, IndexRef):
        return ref.rows, ref.cols
    col = ctx.col
    c1 = ref.col1.value if ref.col1.absolute else col + ref.col1.value
    c2 = ref.col2.value if ref.col2.absolute else col + ref.col2.value
    cols = np.arange(min(c1, c2), max(c1, c2) + 1)
    if ref.row1.absolute and ref.row2.absolute:
        r1, r2 = sorted((ref.row1.value, ref.row2.value))
        return np.arange(r1, r2 + 1)[None, :], cols
    if ref.row1.absolute != ref.row2.absolute:  # SUM($A$1:A5): the planner keeps it one cell
        rng = ref.at(ctx.unit.output.min_row, col)
        return np.arange(rng.min_row, rng.max_row + 1)[None, :], cols
    base = ctx.rows()
    o1, o2 = sorted((ref.row1.value, ref.row2.value))
    return base[:, None] + np.arange(o1, o2 + 1)[None, :], cols


# -- lowering -----------------------------------------------------------------------------------


def lower_unit(ctx: UnitContext) -> Value:
    """The unit's output: the formula's value fitted to the unit's cells (see `fit_output`)."""
    body = ctx.unit.body
    if is_reference_node(body) and not ctx.unit.is_array:
        value = _intersected(body, ctx)
    elif ctx.unit.is_array and isinstance(body, Call) and body.name in PADDED_IN_ARRAYS:
        value = _padded_call(body, ctx)
    else:
        value = lower(body, ctx)
    if isinstance(value, FunctionValue):  # Excel shows #CALC! for a cell holding a function
        value = Block.error(ErrorCode.VALUE)
    if isinstance(body, BoundRef) and not ctx.unit.is_array:
        value = _apply(lambda b: implicit_intersection(b, body, ctx), [value], ctx)
    return _apply(_fitter(ctx.unit), [value], ctx)


def _fitter(unit: Unit) -> Callable[[Block], Block]:
    """`fit_output` for `unit`, with its shape checks for the common case done once here: a run
    of single cells whose value is already a mask-free ``(b, n, 1, 1)`` block passes as it is
    (what `fit_output` returns for it). This runs once per unit per solver evaluation."""
    if unit.is_array:
        return lambda block: fit_output(block, unit)
    n = unit.length

    def fit(block: Block) -> Block:
        num = block.num
        if (
            block.kind is None
            and block.text is None
            and not block.from_reference
            and num.ndim == 4
            and num.shape[1] == n
            and num.shape[2] == 1
            and num.shape[3] == 1
        ):
            return block
        return fit_output(block, unit)

    return fit


# Excel fills an array formula's block cell by cell: past the end of a smaller argument a cell
# sees #N/A. Most functions pass that #N/A on (what `fit_output`'s padding shows), but these
# answer it: ``{=ISNA(A1:A3)}`` over four cells ends in TRUE, ``{=ISNUMBER(A1:A3)}`` in FALSE.
PADDED_IN_ARRAYS = frozenset(
    {"ISBLANK", "ISERR", "ISERROR", "ISLOGICAL", "ISNA", "ISNONTEXT", "ISNUMBER", "ISTEXT"}
)


def _padded_call(node: Call, ctx: UnitContext) -> Value:
    """`node` (one of PADDED_IN_ARRAYS) with each argument padded with #N/A to the block."""
    spec = registry.lookup(node.name, ctx.where)
    spec.check_arity(len(node.args), ctx.where)
    rows, cols = ctx.unit.cell_shape

    def pad(block: Block) -> Block:
        r, c = block.shape
        if (r == 1 or r >= rows) and (c == 1 or c >= cols):
            return block
        return _pad_na(block, max(r, rows) if r != 1 else 1, max(c, cols) if c != 1 else 1)

    args = [_apply(pad, [lower(arg, ctx)], ctx) for arg in node.args]
    return _apply(spec.impl, args, ctx)


def lower_operand(node: Node, ctx: UnitContext) -> Value:
    """An operator's operand: in a single-cell formula a multi-cell reference is implicitly
    intersected with the formula's row or column (``=B2:B4*100`` in row 3 uses B3), as Excel
    does; in an array formula it stays a range and the operator works cell by cell."""
    if ctx.unit.is_array or ctx.in_array:
        return lower(node, ctx)
    if not (isinstance(node, BoundRef) or is_reference_node(node)):
        return lower(node, ctx)
    if isinstance(node, BoundRef) and node.row1 == node.row2 and node.col1 == node.col2:
        return lower(node, ctx)  # one cell: nothing to intersect (the common case)
    return _intersected(node, ctx)


def _intersected(node: Node, ctx: UnitContext) -> Value:
    rects = rects_of(node, ctx, lower)
    if rects is None:
        return lower(node, ctx)
    if not is_single_cell(rects):
        rects = intersect(rects, ctx)
    return read_rects(rects, ctx)


def lower(node: Node, ctx: UnitContext) -> Value:
    """Lower one node (recursion follows the formula's nesting, never a chain of cells)."""
    if isinstance(node, BoundRef):
        return ctx.resolve(node, ctx)
    if isinstance(node, Number):
        return Block.scalar(node.value, dtype=CONST_DTYPE)
    if isinstance(node, (Text, Bool, ErrorLiteral, Missing)):
        return literal_block([[node]])
    if isinstance(node, ArrayLiteral):
        return literal_block(node.rows)
    if isinstance(node, Unary):
        operand = lower_operand(node.operand, ctx)
        if isinstance(operand, FunctionValue):
            return Block.error(ErrorCode.VALUE)
        return _apply(UNARY_OPERATORS[node.op], [operand], ctx)
    if isinstance(node, Binary):
        if node.op == " " and (_is_union(node.left) or _is_union(node.right)):
            return _union(_distribute(node), ctx)
        if node.op in RANGE_OPERATORS:
            return read_rects(rects_of(node, ctx, lower), ctx)
        if node.op == ",":
            return _union(node, ctx)
        left, right = lower_operand(node.left, ctx), lower_operand(node.right, ctx)
        if isinstance(left, FunctionValue) or isinstance(right, FunctionValue):
            return Block.error(ErrorCode.VALUE)
        return _apply(BINARY_OPERATORS[node.op], [left, right], ctx)
    if isinstance(node, Call):
        if node.name in ENGINE_CALLS:  # LAMBDA, its parameters and calls, _xleta.SUM
            return lower_engine_call(node, ctx, lower)
        if node.name == "IF" and ctx.depth and (chosen := lower_if(node, ctx, lower)) is not None:
            return chosen  # inside a LAMBDA: Excel evaluates the branch taken only
        found = _reference_call(node, ctx)
        if found is not None:
            return found
        spec = registry.lookup(node.name, ctx.where)
        spec.check_arity(len(node.args), ctx.where)
        fused = _fused(node, spec, ctx)  # IF(x<0,0,x) and friends: fewer ops per call
        if fused is not None:
            return fused
        lower_arg = lower_operand if spec.name in SCALAR_ARGUMENTS else lower
        args = [lower_arg(arg, _arg_context(spec, i, ctx)) for i, arg in enumerate(node.args)]
        if (
            spec.gradient_free
            and ctx.on_gradient_free
            and any(isinstance(a, Dynamic) for a in args)
        ):
            ctx.on_gradient_free(f"{ctx.where}: {spec.name}")
        if spec.takes_functions:
            refuse_variables(spec.name, args, ctx)
        elif any(isinstance(arg, FunctionValue) for arg in args):
            return Block.error(ErrorCode.VALUE)  # Excel: #CALC! (shown as #VALUE! here)
        if spec.lazy:
            return _apply_lazy(spec.impl, args, ctx)
        return _apply(spec.impl, args, ctx)
    if isinstance(node, Failed):  # tolerant plans only: the formula could not be read
        raise EvaluationError(node.message)
    raise TypeError(f"cannot lower {type(node).__name__}")


# Arguments Excel evaluates as arrays even in a plain (not array) formula, so that an operator
# inside them works cell by cell instead of implicitly intersecting its ranges:
# ``=SUMPRODUCT((A1:A9>0)*B1:B9)`` needs no Ctrl+Shift+Enter. Functions born with dynamic arrays
# (FILTER, XLOOKUP, ...) and this project's own take every argument as an array.
_ALL = None
ARRAY_ARGUMENTS: dict[str, frozenset[int] | None] = {
    "SUMPRODUCT": _ALL, "MMULT": _ALL, "TRANSPOSE": _ALL, "SUMXMY2": _ALL, "SUMX2MY2": _ALL,
    "SUMX2PY2": _ALL, "FREQUENCY": _ALL, "LINEST": _ALL, "LOGEST": _ALL, "TREND": _ALL,
    "GROWTH": _ALL, "MDETERM": _ALL, "MINVERSE": _ALL, "XLOOKUP": _ALL, "XMATCH": _ALL,
    "FILTER": _ALL, "SORT": _ALL, "SORTBY": _ALL, "UNIQUE": _ALL, "SEQUENCE": _ALL,
    "VSTACK": _ALL, "HSTACK": _ALL, "CHOOSECOLS": _ALL, "CHOOSEROWS": _ALL, "TAKE": _ALL,
    "DROP": _ALL, "EXPAND": _ALL, "TOCOL": _ALL, "TOROW": _ALL, "WRAPROWS": _ALL,
    "WRAPCOLS": _ALL, "TRIMRANGE": _ALL, "GROUPBY": _ALL, "PIVOTBY": _ALL,
    "INDEX": frozenset({0}), "MATCH": frozenset({1}), "LOOKUP": frozenset({1, 2}),
    "VLOOKUP": frozenset({1}), "HLOOKUP": frozenset({1}),
}  # fmt: skip
OWN_CATEGORY = "xl-lesson3"

# Functions all of whose arguments Excel takes as single values: in a plain (not array) formula
# a multi-cell reference among them is implicitly intersected like an operator's operand
# (``=ABS(B2:B4)`` in row 3 is ABS(B3)); in an array formula they work cell by cell.
_SCALAR_NAMES = """ABS ACOS ACOSH ACOT ACOTH ASIN ASINH ATAN ATAN2 ATANH CEILING CEILING.MATH COMBIN COS COSH
    COT COTH CSC CSCH DEGREES EVEN EXP FACT FACTDOUBLE FLOOR FLOOR.MATH INT LN LOG LOG10 MOD
    MROUND ODD PERMUT POWER QUOTIENT RADIANS ROUND ROUNDDOWN ROUNDUP SEC SECH SIGN SIN SINH SQRT
    SQRTPI TAN TANH TRUNC DATE DATEDIF DATEVALUE DAY DAYS EDATE EOMONTH HOUR ISOWEEKNUM MINUTE
    MONTH SECOND TIME TIMEVALUE WEEKDAY WEEKNUM YEAR YEARFRAC BIN2DEC BIN2HEX BIN2OCT BITAND
    BITLSHIFT BITOR BITRSHIFT BITXOR CONVERT DEC2BIN DEC2HEX DEC2OCT DELTA ERF ERF.PRECISE ERFC
    GESTEP HEX2BIN HEX2DEC HEX2OCT OCT2BIN OCT2DEC OCT2HEX FISHER FISHERINV GAMMA GAMMALN GAUSS
    NORM.DIST NORM.INV NORM.S.DIST NORM.S.INV PHI STANDARDIZE FV IPMT NPER PMT PPMT PV RATE
    ISBLANK ISERR ISERROR ISEVEN ISLOGICAL ISNA ISNONTEXT ISNUMBER ISODD ISTEXT CHAR CLEAN CODE
    EXACT FIND FIXED LEFT LEN LOWER MID NUMBERVALUE PROPER REPLACE REPT RIGHT SEARCH SUBSTITUTE
    TEXT TRIM UNICHAR UNICODE UPPER VALUE"""
SCALAR_ARGUMENTS = frozenset(_SCALAR_NAMES.split())


def _fused(node: Call, spec, ctx: UnitContext) -> Value | None:
    """The call lowered through `fusion` when it fuses, else None.

    A multi-cell reference among the parts of a plain (non-array) argument is left to the general
    path: there Excel's implicit intersection decides what each operand reads. Parts that are the
    call's own arguments (``AVERAGE(V6:V717)``) are read as the general path reads them, whole,
    unless the function takes single values (`SCALAR_ARGUMENTS`). A function value among the
    parts goes to the general path too (it answers #VALUE! or refuses).
    """
    fused = fuse_call(node, spec)
    if fused is None:
        return None
    fn, parts = fused
    part_ctx = _arg_context(spec, 0, ctx)
    whole_arguments = parts is node.args and spec.name not in SCALAR_ARGUMENTS
    if (
        not (part_ctx.in_array or ctx.unit.is_array or whole_arguments)
        and any(_multi_cell_reference(part) for part in parts)
    ):  # fmt: skip
        return None
    lowered = [lower(part, part_ctx) for part in parts]
    if any(isinstance(part, FunctionValue) for part in lowered):
        return None
    return _apply(fn, lowered, ctx)


def _multi_cell_reference(node: Node) -> bool:
    if isinstance(node, BoundRef):
        return not (node.row1 == node.row2 and node.col1 == node.col2)
    return is_reference_node(node)


def _arg_context(spec, index: int, ctx: UnitContext) -> UnitContext:
    if ctx.in_array or ctx.unit.is_array:
        return ctx
    if spec.category == OWN_CATEGORY or spec.name in ARRAY_ARGUMENTS:
        positions = ARRAY_ARGUMENTS.get(spec.name)
        if positions is None or index in positions:
            return replace(ctx, in_array=True)
    return ctx


def _reference_call(node: Call, ctx: UnitContext) -> Value | None:
    """Calls that work on references rather than values (see `reference_ops`), else None."""
    if node.name in POSITION_FUNCTIONS:
        return positions(node.name, node, ctx, lower)
    if node.name in REFERENCE_INFO_FUNCTIONS:
        return reference_info(node, ctx, lower)
    if node.name in REFERENCE_FUNCTIONS:
        return read_rects(rects_of(node, ctx, lower), ctx)
    if node.name == "INDEX" and node.args and (areas := union_areas(node.args[0])) is not None:
        return index_over_union(node, areas, ctx, lower, lambda fn, args: _apply(fn, args, ctx))
    if node.name == "INDEX" and node.args:
        rects = rects_of(node, ctx, lower)
        return None if rects is None else read_rects(rects, ctx)
    if node.name == "SINGLE" and len(node.args) == 1:  # @x: implicit intersection
        value = _intersected(node.args[0], ctx)
        return _apply(lambda b: b if b.is_scalar else _crop(b, 1, 1), [value], ctx)
    return None


def _union(node: Binary, ctx: UnitContext) -> Value:
    """``(A1:A3,C1:C3)``: the areas' cells side by side in one row, as a reference.

    Aggregates (SUM, COUNT, MAX, ...) see every cell of every area, which is what a union is for;
    functions that need one rectangle (INDEX's area number, ROWS) are not supported on unions.
    """
    areas: list[Node] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Binary) and item.op == ",":
            stack.extend((item.right, item.left))
        else:
            areas.append(item)
    # Empty intersections drop out of a union (#NULL! only when every area is empty).
    kept = [area for area in areas if not _empty_intersection(area, ctx)] or areas[:1]
    return _apply(_side_by_side, [lower(area, ctx) for area in kept], ctx)


def _empty_intersection(node: Node, ctx: UnitContext) -> bool:
    if not (isinstance(node, Binary) and node.op == " "):
        return False
    rects = rects_of(node, ctx, lower)
    return rects is not None and bool((rects.err == int(ErrorCode.NULL)).all())


def _is_union(node: Node) -> bool:
    return isinstance(node, Binary) and node.op == ","


def _distribute(node: Binary) -> Binary:
    """``A (B1,B2)`` → ``(A B1, A B2)``: an intersection with a union is the union of the
    intersections with each area."""
    left = _areas(node.left)
    right = _areas(node.right)
    pieces = [Binary(" ", a, b) for a in left for b in right]
    joined = pieces[0]
    for piece in pieces[1:]:
        joined = Binary(",", joined, piece)
    return joined


def _areas(node: Node) -> list[Node]:
    if _is_union(node):
        return [*_areas(node.left), *_areas(node.right)]
    return [node]


def _side_by_side(*blocks: Block) -> Block:
    from xl_lesson3.formula.functions.core.shapes import text_array

    batch = max(b.num.shape[0] for b in blocks)
    run = max(b.num.shape[1] for b in blocks)

    def flat(t, b, dtype=None):
        if t is None:
            t = torch.zeros((1, 1, *b.shape), dtype=dtype or torch.int8, device=b.num.device)
        return t.expand(batch, run, *b.shape).reshape(batch, run, 1, -1)

    def joined(get):
        if all(get(b) is None for b in blocks):
            return None
        return torch.cat([flat(get(b), b) for b in blocks], dim=-1)

    text = None
    if any(b.text is not None for b in blocks):
        text = np.concatenate(
            [np.broadcast_to(text_array(b), (run, *b.shape)).reshape(run, 1, -1) for b in blocks],
            axis=-1,
        )
    num = torch.cat([flat(b.num, b) for b in blocks], dim=-1)
    err = joined(lambda b: b.err)
    kind = joined(lambda b: b.kind)
    return Block(num, err=err, kind=kind, text=text, from_reference=True)


def _apply(fn: Callable[..., Block], args: list[Value], ctx: UnitContext) -> Value:
    """Call `fn` now when every argument is known, else build a closure over the arguments."""
    if not any(isinstance(arg, Dynamic) for arg in args):
        return _call(fn, args, ctx)
    specialize = SPECIALIZATIONS.get(fn)
    if specialize is not None:  # e.g. (x-y)^2: a mask-free square, chosen once here
        fn = specialize([arg if isinstance(arg, Block) else None for arg in args]) or fn
    fixed = [ctx.lift(arg) if isinstance(arg, Block) else arg for arg in args]
    # This closure runs once per node per solver evaluation: the common arities get one
    # without a per-call list and type checks (a third of a small program's Python time).
    if len(fixed) == 1:
        (only,) = fixed
        only_run = only.run

        def run_one(env: Env) -> Block:
            try:
                return fn(only_run(env))
            except XlLesson3Error as exc:
                if (located_exc := _relocated(exc, ctx)) is exc:
                    raise
                raise located_exc from exc

        return Dynamic(run_one)
    if len(fixed) == 2:
        left, right = fixed
        # A constant side is a closure returning it, so one shape serves all three cases.
        left_run = left.run if isinstance(left, Dynamic) else (lambda env, block=left: block)
        right_run = right.run if isinstance(right, Dynamic) else (lambda env, block=right: block)

        def run_two(env: Env) -> Block:
            try:
                return fn(left_run(env), right_run(env))
            except XlLesson3Error as exc:
                if (located_exc := _relocated(exc, ctx)) is exc:
                    raise
                raise located_exc from exc

        return Dynamic(run_two)

    def run(env: Env) -> Block:
        return _call(fn, [a.run(env) if isinstance(a, Dynamic) else a for a in fixed], ctx)

    return Dynamic(run)


def _relocated(exc: XlLesson3Error, ctx: UnitContext) -> XlLesson3Error:
    """`exc` located at the unit (unchanged when it already is): what `_call` raises."""
    if str(exc).startswith(ctx.where):
        return exc
    return type(exc)(located(ctx.where, str(exc)))


def _apply_lazy(fn: Callable[..., Block], args: list[Value], ctx: UnitContext) -> Value:
    """Lazy functions receive thunks and decide which arguments to compute."""
    if not any(isinstance(arg, Dynamic) for arg in args):
        return _call(fn, [_constant_thunk(arg) for arg in args], ctx)
    fixed = [ctx.lift(arg) if isinstance(arg, Block) else arg for arg in args]

    def run(env: Env) -> Block:
        thunks = [
            (lambda a=a: a.run(env)) if isinstance(a, Dynamic) else _constant_thunk(a)
            for a in fixed
        ]
        return _call(fn, thunks, ctx)

    return Dynamic(run)


def _constant_thunk(block: Block) -> Callable[[], Block]:
    return lambda: block


def _call(fn: Callable[..., Block], args: list, ctx: UnitContext) -> Block:
    try:
        return fn(*args)
    except XlLesson3Error as exc:
        if str(exc).startswith(ctx.where):
            raise
        raise type(exc)(located(ctx.where, str(exc))) from exc


def literal_block(rows) -> Block:
    """A (1, 1, R, C) block from literal nodes (numbers, text, booleans, errors, blanks)."""
    n_rows, n_cols = len(rows), len(rows[0])
    num = np.zeros((n_rows, n_cols))
    kind = np.zeros((n_rows, n_cols), dtype=np.int8)
    err = np.zeros((n_rows, n_cols), dtype=np.int8)
    text = np.full((1, n_rows, n_cols), None, dtype=object)
    for i, row in enumerate(rows):
        for j, item in enumerate(row):
            if isinstance(item, Number):
                num[i, j] = item.value
            elif isinstance(item, Bool):
                num[i, j], kind[i, j] = float(item.value), Kind.BOOL
            elif isinstance(item, Text):
                kind[i, j], text[0, i, j] = Kind.TEXT, item.value
            elif isinstance(item, ErrorLiteral):
                err[i, j] = ErrorCode.from_text(item.text)
            else:  # Missing: an empty argument reads as a blank cell
                kind[i, j] = Kind.BLANK
    return Block(
        torch.from_numpy(num)[None, None],
        err=torch.from_numpy(err)[None, None] if err.any() else None,
        kind=torch.from_numpy(kind)[None, None] if kind.any() else None,
        text=text if (kind == Kind.TEXT).any() else None,
    )


# -- shaping a formula's value into its cells ---------------------------------------------------


def fit_output(block: Block, unit: Unit) -> Block:
    """The value as the unit's cells: (b, n, 1, 1) for a run, (b, n, R, C) for array formulas
    (n = 1, or the rows of an array formula copied down, `Unit.stacked`).

    A single-cell formula whose value is an array shows its top-left value. An array formula's
    range is filled as Excel fills it: a larger result is cropped, a single row or column is
    repeated, and cells beyond a smaller result are #N/A. Blank results read as 0.
    """
    block = as_result(block)
    if not unit.is_array:
        if block.shape != (1, 1):
            block = _crop(block, 1, 1)
        n = unit.length
        return _expand(block, (block.num.shape[0], n, 1, 1))
    rows, cols = unit.cell_shape
    r, c = block.shape
    if r not in (1, rows) or c not in (1, cols):
        block = _crop(block, min(r, rows), min(c, cols))
        block = _pad_na(block, rows if r != 1 else 1, cols if c != 1 else 1)
    return _expand(block, (block.num.shape[0], unit.length, rows, cols))


def _crop(block: Block, rows: int, cols: int) -> Block:
    def cut(t):
        return None if t is None else t[..., :rows, :cols]

    text = None if block.text is None else np.asarray(block.text)[..., :rows, :cols]
    return block.with_(num=cut(block.num), err=cut(block.err), kind=cut(block.kind), text=text)


def _pad_na(block: Block, rows: int, cols: int) -> Block:
    r, c = block.shape
    if (r, c) == (rows, cols):
        return block
    pad = (0, cols - c, 0, rows - r)
    num = torch.nn.functional.pad(block.num, pad)
    lead = block.num.shape[:2]
    err = torch.full((*lead, rows, cols), int(ErrorCode.NA), dtype=torch.int8)
    err[..., :r, :c] = 0 if block.err is None else block.err.expand(*lead, r, c)
    kind = None
    if block.kind is not None:
        kind = torch.zeros((*lead, rows, cols), dtype=torch.int8)
        kind[..., :r, :c] = block.kind.expand(*lead, r, c)
    text = None
    if block.text is not None:
        text = np.full((lead[1], rows, cols), None, dtype=object)
        text[:, :r, :c] = np.broadcast_to(np.asarray(block.text), (lead[1], r, c))
    return Block(
        num, err=err.to(num.device), kind=None if kind is None else kind.to(num.device), text=text
    )


def _expand(block: Block, shape: tuple[int, ...]) -> Block:
    if block.num.shape == shape and block.text is None:  # the common case: nothing to do
        return block
    num = block.num.expand(shape)
    text = None
    if block.text is not None:
        text = np.broadcast_to(np.asarray(block.text, dtype=object), shape[1:])
    return block.with_(num=num, text=text)


def implicit_intersection(block: Block, ref: BoundRef, ctx: UnitContext) -> Block:
    """``=A1:A10`` in a single cell of row 5 shows A5: Excel's implicit intersection.

    A one-column range gives the cell in the formula's row, a one-row range the cell in its
    column; no such cell (or a 2-D range) is #VALUE!.
    """
    rows, cols = ref_indices(ref, ctx)  # (n', R), (C,)
    n_ref, n_rows = rows.shape
    if (n_rows, len(cols)) == (1, 1):
        return block
    n = ctx.unit.length
    formula_rows = ctx.rows()
    if len(cols) == 1:
        position = formula_rows[:, None] == rows  # (n, R) after broadcasting n' to n
        position = np.broadcast_to(position, (n, n_rows))
        valid = position.any(axis=1)
        inner = position.argmax(axis=1)
    elif n_rows == 1:
        valid = np.full(n, bool((cols == ctx.col).any()))
        inner = np.full(n, int(np.argmax(cols == ctx.col)))
    else:
        valid, inner = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64)
    run_index = np.arange(n) if n_ref == n else np.zeros(n, dtype=np.int64)
    flat = torch.as_tensor(run_index * block.num.shape[-2] * block.num.shape[-1] + inner)
    flat = flat.to(block.num.device)
    invalid = torch.as_tensor(~valid, device=block.num.device)[None, :, None, None]

    def take(t: torch.Tensor) -> torch.Tensor:
        full = t.expand(block.num.shape)
        return full.reshape(full.shape[0], -1).index_select(1, flat).view(-1, n, 1, 1)

    value_error = invalid.to(torch.int8) * int(ErrorCode.VALUE)
    err = value_error if block.err is None else torch.where(invalid, value_error, take(block.err))
    text = None
    if block.text is not None:
        texts = np.broadcast_to(
            np.asarray(block.text, dtype=object), (block.num.shape[1], *block.shape)
        ).reshape(-1)
        text = texts[flat.cpu().numpy()].reshape(n, 1, 1)
    num = torch.where(invalid, 0.0, take(block.num))
    kind = None if block.kind is None else take(block.kind)
    return Block(num, err=err, kind=kind, text=text)
