"""The formula AST: small frozen dataclasses, hashable so equal formulas compare equal.

Two stages of reference nodes exist. The parser produces *syntactic* references (`A1Ref`,
`NameRef`, `StructRef`) that know nothing of the workbook. The planner binds them, for one formula
cell, into `BoundRef` nodes in R1C1 form: an unanchored row or column is stored as an offset from
the formula's cell, so the formulas ``=D2*2`` in E2 and ``=D3*2`` in E3 bind to *equal* trees. That
equality is what groups a column of formulas into one vectorised run.
"""

from __future__ import annotations

from dataclasses import dataclass

from xl_lesson3.workbook.address import RangeAddress


class Node:
    """Base class of every AST node."""

    __slots__ = ()


@dataclass(frozen=True)
class Number(Node):
    value: float


@dataclass(frozen=True)
class Text(Node):
    value: str


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class ErrorLiteral(Node):
    """An error value written in a formula (``#DIV/0!``), or a reference that went bad."""

    text: str


@dataclass(frozen=True)
class ArrayLiteral(Node):
    """An array constant ``{1,2;3,4}``: rows of literal nodes."""

    rows: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True)
class Failed(Node):
    """A formula the engine cannot read (syntax, unknown table, unsupported feature).

    Only the tolerant planner (``eval --all``, ``check``) produces it: the cell is reported with
    `message` instead of stopping the whole workbook.
    """

    message: str


@dataclass(frozen=True)
class Missing(Node):
    """An empty function argument, as in ``IF(A1,,2)``."""


@dataclass(frozen=True)
class Unary(Node):
    """Prefix ``-`` or ``+``, or postfix ``%`` (op ``"%"``)."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """An infix operator: ``+ - * / ^ & = <> < > <= >=``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    """A function call; `name` is upper case with any ``_xlfn.`` prefix removed."""

    name: str
    args: tuple[Node, ...]


# The engine's own calls for LAMBDA syntax (Excel's names never start with "_"), evaluated by
# `compile.lambdas`: ``_APPLY(f, args...)`` calls a function value (``LAMBDA(x,x+1)(2)``, a name
# holding a LAMBDA); ``_XLPM("key")`` reads a LAMBDA parameter; ``_XLETA("SUM")`` is a built-in
# as a value (``_xleta.SUM`` in files); ``_NAMED("key", LAMBDA(...))`` is a defined name's
# LAMBDA, which its own body may call (recursion).
APPLY = "_APPLY"
PARAM = "_XLPM"
ETA = "_XLETA"
NAMED_LAMBDA = "_NAMED"


# -- syntactic references (parser output) -------------------------------------------------------


@dataclass(frozen=True)
class Coord:
    """One row or column number of a reference: absolute (``$``) or relative.

    Before binding `value` is the number as written. After binding, a relative coordinate holds
    the offset from the formula's own cell.
    """

    value: int
    absolute: bool


@dataclass(frozen=True)
class A1Ref(Node):
    """``A1``, ``$A$1:B2``, ``A:C`` (rows None), ``2:5`` (cols None), optionally sheet-qualified."""

    sheet: str | None
    row1: Coord | None
    col1: Coord | None
    row2: Coord | None
    col2: Coord | None


@dataclass(frozen=True)
class SheetSpan(Node):
    """A 3-D reference ``Sheet1:Sheet3!A1:B2``: the same cells on every sheet from first to last
    (in workbook order). Binding turns it into a union of one reference per sheet."""

    first: str
    last: str
    ref: A1Ref


@dataclass(frozen=True)
class NameRef(Node):
    """A defined name, optionally qualified by a sheet (``Sheet1!rate``)."""

    sheet: str | None
    name: str


@dataclass(frozen=True)
class ExternalRef(Node):
    """A reference into another workbook, ``[1]Sheet1!A1`` or ``[2]!Name``: the number of the
    book among the file's external links and the reference inside it (an A1Ref or NameRef).
    Binding replaces it with the values Excel saved for it (`plan.external`)."""

    book: int
    ref: Node


@dataclass(frozen=True)
class StructRef(Node):
    """A structured reference: ``Table1[[#This Row],[A]:[B]]``, ``[@Age]`` (table None).

    `items` holds the special items, lower-cased without ``#`` (``data``, ``headers``, ``totals``,
    ``all``, ``this row``); `first`/`last` are column names (None: every column).
    """

    table: str | None
    items: tuple[str, ...]
    first: str | None
    last: str | None


# -- bound references (planner output) -----------------------------------------------------------


@dataclass(frozen=True)
class BoundRef(Node):
    """A rectangle on `sheet` in R1C1 form: relative coordinates are offsets from the cell."""

    sheet: str
    row1: Coord
    col1: Coord
    row2: Coord
    col2: Coord

    @property
    def is_relative(self) -> bool:
        """True when the rectangle moves with the formula's row (a per-row reference)."""
        return not (self.row1.absolute and self.row2.absolute)

    def bounds(self, row: int, col: int) -> tuple[str, int, int, int, int]:
        """(sheet, min_row, min_col, max_row, max_col) for a formula in (`row`, `col`)."""
        r1 = self.row1.value if self.row1.absolute else row + self.row1.value
        r2 = self.row2.value if self.row2.absolute else row + self.row2.value
        c1 = self.col1.value if self.col1.absolute else col + self.col1.value
        c2 = self.col2.value if self.col2.absolute else col + self.col2.value
        if r1 > r2:
            r1, r2 = r2, r1
        if c1 > c2:
            c1, c2 = c2, c1
        return self.sheet, r1, c1, r2, c2

    def at(self, row: int, col: int) -> RangeAddress:
        """The rectangle for a formula in (`row`, `col`)."""
        r1 = self.row1.value if self.row1.absolute else row + self.row1.value
        r2 = self.row2.value if self.row2.absolute else row + self.row2.value
        c1 = self.col1.value if self.col1.absolute else col + self.col1.value
        c2 = self.col2.value if self.col2.absolute else col + self.col2.value
        return RangeAddress(self.sheet, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))


def walk(node: Node):
    """Every node of the tree, parents before children (iterative: trees can be deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-nodes of `node`."""
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, ArrayLiteral):
        return tuple(item for row in node.rows for item in row)
    return ()


# Functions that read where a reference is, never its cells: ROW(B7) in B7 is not circular.
POSITION_ONLY = frozenset({"ROW", "COLUMN", "ROWS", "COLUMNS", "ISREF", "AREAS", "ISFORMULA"})


def value_refs(node: Node) -> list[BoundRef]:
    """The bound references whose cells the formula reads (ROW(B7)'s B7 is not one of them)."""
    found: list[BoundRef] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, BoundRef):
            found.append(current)
        elif isinstance(current, Call) and current.name in POSITION_ONLY:
            stack.extend(arg for arg in current.args if not isinstance(arg, BoundRef))
        else:
            stack.extend(reversed(children(current)))
    return found
