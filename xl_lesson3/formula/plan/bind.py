"""Bind a parsed formula to the workbook: every reference becomes a `BoundRef` in R1C1 form.

Binding resolves what only the workbook knows: which sheet an unqualified reference means, what
a defined name refers to (its AST is inlined, so a name that holds a constant or a formula costs
nothing at run time), and which cells a structured reference covers. Whole rows and columns clip
to the sheet's used area. The result depends on the formula cell only through offsets, so the
same formula copied down a column binds to equal trees (see `ast.BoundRef`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xl_lesson3.errors import (
    CircularReferenceError,
    FormulaSyntaxError,
    UnknownReferenceError,
    located,
)
from xl_lesson3.formula.parse.ast import (
    APPLY,
    ETA,
    NAMED_LAMBDA,
    PARAM,
    A1Ref,
    ArrayLiteral,
    Binary,
    BoundRef,
    Call,
    Coord,
    ErrorLiteral,
    ExternalRef,
    NameRef,
    Node,
    SheetSpan,
    StructRef,
    Text,
    Unary,
)
from xl_lesson3.formula.parse.parser import parse_formula
from xl_lesson3.formula.plan.external import bind_external
from xl_lesson3.workbook.address import CellAddress, quote_sheet
from xl_lesson3.workbook.model import Table, WorkbookModel

# Excel stores a built-in passed as a function value (``BYROW(A1:B3, SUM)``) as ``_xleta.SUM``.
ETA_PREFIX = "_xleta."


@dataclass(frozen=True)
class _Context:
    model: WorkbookModel
    cell: CellAddress  # the formula's cell: default sheet, [#This Row], error location
    origin: tuple[int, int]  # what relative coordinates are offsets from
    names: tuple[str, ...]  # defined names being expanded (to catch a name that uses itself)
    lets: tuple[tuple[str, Node], ...] = ()  # LET's names in scope (lower case), bound values
    depth: int = 0  # how many LAMBDAs enclose the node being bound


def bind_formula(model: WorkbookModel, cell: CellAddress, node: Node) -> Node:
    """Bind the parsed formula `node` of `cell`; errors are located at `cell`."""
    return _bind(node, _Context(model, cell, (cell.row, cell.col), ()))


def _bind(node: Node, ctx: _Context) -> Node:
    if isinstance(node, A1Ref):
        return _bind_a1(node, ctx)
    if isinstance(node, NameRef):
        if node.sheet is None:
            for name, value in reversed(ctx.lets):
                if name == node.name.lower():
                    return value
            if node.name.lower().startswith(ETA_PREFIX):  # _xleta.SUM: a built-in as a value
                return Call(ETA, (Text(node.name[len(ETA_PREFIX) :].upper()),))
        return _bind_name(node, ctx)
    if isinstance(node, SheetSpan):
        return _bind_span(node, ctx)
    if isinstance(node, ExternalRef):
        return bind_external(node, ctx.model)
    if isinstance(node, Call) and node.name == "LET":
        return _bind_let(node, ctx)
    if isinstance(node, Call) and node.name == "LAMBDA":
        return _bind_lambda(node, ctx)
    if isinstance(node, Call) and (callee := _function_named(node.name, ctx)) is not None:
        return Call(APPLY, (callee, *(_bind(arg, ctx) for arg in node.args)))
    if isinstance(node, StructRef):
        return _bind_struct(node, ctx)
    if isinstance(node, Unary):
        return Unary(node.op, _bind(node.operand, ctx))
    if isinstance(node, Binary):
        return Binary(node.op, _bind(node.left, ctx), _bind(node.right, ctx))
    if isinstance(node, Call):
        return Call(node.name, tuple(_bind(arg, ctx) for arg in node.args))
    if isinstance(node, ArrayLiteral):
        return node
    return node


def _bind_span(span: SheetSpan, ctx: _Context) -> Node:
    """``Sheet1:Sheet3!A1`` → the union of ``Sheet1!A1``, ``Sheet2!A1``, ``Sheet3!A1``."""
    sheets = list(ctx.model.sheet_names)
    lowered = [name.lower() for name in sheets]
    ends = []
    for name in (span.first.strip("'"), span.last.strip("'")):
        if name.lower() not in lowered:
            raise UnknownReferenceError(
                located(_where(ctx), f"bad 3-D reference: no sheet named {name!r}")
            )
        ends.append(lowered.index(name.lower()))
    lo, hi = min(ends), max(ends)
    node: Node | None = None
    for sheet in sheets[lo : hi + 1]:
        ref = _bind_a1(replace(span.ref, sheet=sheet), ctx)
        node = ref if node is None else Binary(",", node, ref)
    return node


def _bind_let(call: Call, ctx: _Context) -> Node:
    """LET(name1, value1, ..., body): each name's bound value replaces its uses (inlined)."""
    args = call.args
    if len(args) < 3 or len(args) % 2 == 0:
        return Call("LET", tuple(_bind(arg, ctx) for arg in args))  # arity error at run time
    lets = ctx.lets
    for name_node, value in zip(args[:-1:2], args[1:-1:2], strict=True):
        if not isinstance(name_node, NameRef) or name_node.sheet is not None:
            return ErrorLiteral("#NAME?")
        bound = _bind(value, replace(ctx, lets=lets))
        lets = (*lets, (name_node.name.lower(), bound))
    return _bind(args[-1], replace(ctx, lets=lets))


def _bind_lambda(call: Call, ctx: _Context) -> Node:
    """LAMBDA(x, y, body): each parameter's uses in the body become ``_XLPM("key")``.

    The key carries how many LAMBDAs enclose this one, so an outer parameter that LET inlines
    into an inner LAMBDA with a parameter of the same name still reads the outer one.
    """
    *params, body = call.args
    depth = ctx.depth + 1
    lets = ctx.lets
    bound_params = []
    for param in params:
        if not isinstance(param, NameRef) or param.sheet is not None:
            return ErrorLiteral("#VALUE!")  # Excel refuses such a LAMBDA
        node = Call(PARAM, (Text(f"{param.name.lower()}@{depth}"),))
        lets = (*lets, (param.name.lower(), node))
        bound_params.append(node)
    inner = replace(ctx, lets=lets, depth=depth)
    return Call("LAMBDA", (*bound_params, _bind(body, inner)))


def _function_named(name: str, ctx: _Context) -> Node | None:
    """What a call of `name` calls when `name` is not a built-in: a LET name or parameter, or a
    defined name holding a LAMBDA (``MYLAMBDA(2,1,2)``); None otherwise."""
    lowered = name.lower()
    for let_name, value in reversed(ctx.lets):
        if let_name == lowered and isinstance(value, Call) and value.name in _FUNCTION_NODES:
            return value
    defined = ctx.model.defined_name(name, ctx.cell.sheet)
    if defined is None or not _holds_lambda(defined.text):
        return None
    return _bind_name(NameRef(None, name), ctx)


_LAMBDA_TEXT = ("_xlfn.lambda(", "lambda(")
# Bound nodes that are (or, for a parameter, may be) function values: what ``f(...)`` may call.
_FUNCTION_NODES = frozenset({"LAMBDA", NAMED_LAMBDA, ETA, PARAM, APPLY})


def _where(ctx: _Context) -> str:
    return str(ctx.cell)


def _sheet(sheet: str | None, ctx: _Context, text: str) -> str:
    sheet = sheet if sheet is not None else ctx.cell.sheet
    if not ctx.model.sheet_exists(sheet):
        raise UnknownReferenceError(
            located(_where(ctx), f"bad reference {text}: no sheet named {sheet!r}")
        )
    return sheet


def _coord(coord: Coord, origin: int) -> Coord:
    return coord if coord.absolute else Coord(coord.value - origin, False)


def _bind_a1(ref: A1Ref, ctx: _Context) -> BoundRef:
    sheet = _sheet(ref.sheet, ctx, "reference")
    used = ctx.model.used_range(sheet)
    row0, col0 = ctx.origin
    if ref.row1 is None:  # whole columns: clip to the used rows
        row1, row2 = Coord(1, True), Coord(used.max_row, True)
    else:
        row1, row2 = _coord(ref.row1, row0), _coord(ref.row2, row0)
    if ref.col1 is None:  # whole rows: clip to the used columns
        col1, col2 = Coord(1, True), Coord(used.max_col, True)
    else:
        col1, col2 = _coord(ref.col1, col0), _coord(ref.col2, col0)
    return BoundRef(sheet, row1, col1, row2, col2)


def _bind_name(ref: NameRef, ctx: _Context) -> Node:
    model = ctx.model
    scope = ref.sheet if ref.sheet is not None else ctx.cell.sheet
    defined = model.defined_name(ref.name, scope)
    if ref.sheet is not None and (defined is None or defined.scope != ref.sheet):
        defined = None
    if defined is None:
        if ref.sheet is None and ref.name.lower() in _table_names(model):
            return _bind_struct(StructRef(ref.name, (), None, None), ctx)  # =SUM(Table1)
        return ErrorLiteral("#NAME?")  # Excel: an unknown name is the value #NAME?
    key = f"{quote_sheet(defined.scope)}!{defined.name}" if defined.scope else defined.name
    if key.lower() in (name.lower() for name in ctx.names) and _holds_lambda(defined.text):
        return Call(PARAM, (Text(f"!{key.lower()}"),))  # recursion: the enclosing _NAMED
    if key.lower() in (name.lower() for name in ctx.names):
        chain = " → ".join((*ctx.names, key))
        raise CircularReferenceError(located(_where(ctx), f"name {key} uses itself: {chain}"))
    try:
        parsed = parse_formula(defined.text, f"name {defined.name}")
    except FormulaSyntaxError as exc:
        raise FormulaSyntaxError(located(_where(ctx), str(exc))) from exc
    # Relative references inside a name are stored relative to A1 and move with the cell using
    # the name; its unqualified references mean the using cell's sheet.
    inner = _Context(model, ctx.cell, (1, 1), (*ctx.names, key), ctx.lets, ctx.depth)
    bound = _bind(parsed, inner)
    if isinstance(bound, Call) and bound.name == "LAMBDA":
        return Call(NAMED_LAMBDA, (Text(f"!{key.lower()}"), bound))
    return bound


def _holds_lambda(text: str) -> bool:
    return text.lstrip("=").lower().startswith(_LAMBDA_TEXT)


def _table_names(model: WorkbookModel) -> set[str]:
    return {name.lower() for name in model.tables}


def _bind_struct(ref: StructRef, ctx: _Context) -> Node:
    model = ctx.model
    if ref.table is None:
        table = model.table_at(ctx.cell)
        if table is None:
            raise UnknownReferenceError(
                located(_where(ctx), "a [@Column] reference must sit inside a table")
            )
    else:
        try:
            table = model.table(ref.table)
        except UnknownReferenceError as exc:
            raise UnknownReferenceError(located(_where(ctx), str(exc))) from exc
    col1, col2 = _struct_columns(ref, table, ctx)
    if "this row" in ref.items:
        if not table.first_data_row <= ctx.cell.row <= table.last_data_row:
            return ErrorLiteral("#VALUE!")  # Excel: implicit intersection outside the table
        row = Coord(0, False)  # the formula's own row, wherever the formula sits
        return BoundRef(table.sheet, row, Coord(col1, True), row, Coord(col2, True))
    rows = _struct_rows(set(ref.items), table)
    if rows is None:
        return ErrorLiteral("#REF!")
    first, last = rows
    return BoundRef(
        table.sheet, Coord(first, True), Coord(col1, True), Coord(last, True), Coord(col2, True)
    )


def _struct_columns(ref: StructRef, table: Table, ctx: _Context) -> tuple[int, int]:
    if ref.first is None:
        return table.ref.min_col, table.ref.max_col
    cols = []
    for name in (ref.first, ref.last):
        col = table.column_index(name)
        if col is None:
            raise UnknownReferenceError(
                located(
                    _where(ctx),
                    f"table {table.name} has no column {name!r} "
                    f"(columns: {', '.join(table.columns)})",
                )
            )
        cols.append(col)
    return min(cols), max(cols)


def _struct_rows(items: set[str], table: Table) -> tuple[int, int] | None:
    """The rows of ``#Data``/``#Headers``/``#Totals``/``#All`` and their combinations."""
    headers = (table.ref.min_row, table.first_data_row - 1) if table.header_row_count else None
    data = (table.first_data_row, table.last_data_row)
    totals = (table.last_data_row + 1, table.ref.max_row) if table.totals_row_count else None
    if "all" in items:
        return table.ref.min_row, table.ref.max_row
    parts = []
    if "headers" in items:
        parts.append(headers)
    if "data" in items or not items:
        parts.append(data)
    if "totals" in items:
        parts.append(totals)
    if any(part is None for part in parts) or data[0] > data[1] and parts == [data]:
        return None
    return min(p[0] for p in parts), max(p[1] for p in parts)


def describe(ref: BoundRef, cell: CellAddress) -> str:
    """The reference's A1 text as seen from `cell` (for messages)."""
    rng = ref.at(cell.row, cell.col)
    return f"{quote_sheet(rng.sheet)}!{rng.coordinate}"
