"""Formula text → AST, on top of openpyxl's formula tokenizer. Pure: no workbook, no torch.

A small precedence-climbing parser over the tokens. Excel's operator precedence, tightest first:
prefix ``-``/``+`` (so ``-2^2`` is 4, as in Excel), postfix ``%``, ``^`` (left-associative:
``2^3^2`` is 64), ``* /``, ``+ -``, ``&``, then the comparisons. The recursion follows the nesting
of one formula (Excel caps it at 64 levels), never a chain of cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from openpyxl.formula.tokenizer import Token, Tokenizer, TokenizerError

from xl_lesson3.errors import FormulaSyntaxError, located
from xl_lesson3.formula.parse.ast import (
    APPLY,
    ArrayLiteral,
    Binary,
    Bool,
    Call,
    ErrorLiteral,
    Missing,
    Node,
    Number,
    Text,
    Unary,
)
from xl_lesson3.formula.parse.references import parse_reference

INFIX_PRECEDENCE = {
    "=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1,
    "&": 2,
    "+": 3, "-": 3,
    "*": 4, "/": 4,
    "^": 5,
    # Reference operators bind tightest: union, intersection (a space), range.
    ",": 8, " ": 9, ":": 10,
}  # fmt: skip
POSTFIX_PRECEDENCE = 6
PREFIX_PRECEDENCE = 7
REFERENCE_OPERATORS = (",", " ", ":")
# A spill reference ``A1#`` (the whole array spilled from A1); openpyxl's tokenizer rejects it,
# so it is rewritten to the function Excel stores it as, ANCHORARRAY, before tokenising.
_SPILL = re.compile(
    r"""((?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?(\$?[A-Za-z]{1,3}\$?\d+)#(?![A-Za-z/!?])"""
)


def normalise_function_name(name: str) -> str:
    """``_xlfn.STDEV.S`` → ``STDEV.S``: files prefix newer functions; Excel shows them bare."""
    name = name.upper()
    for prefix in ("_XLFN._XLWS.", "_XLFN.", "_XLUDF."):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def parse_formula(text: str, where: str = "") -> Node:
    """Parse ``=...`` formula text (the ``=`` is optional) into an AST.

    Raises `FormulaSyntaxError` located at `where`, showing the formula with a caret.
    """
    source = text if text.startswith("=") else "=" + text
    if "#" in source:
        source = _spill_references(source)
    try:
        return _parse_cached(source)
    except _ParseFailure as exc:
        caret = " " * exc.position + "^"
        raise FormulaSyntaxError(
            located(where, f"{exc.message}\n    {source}\n    {caret}")
        ) from None
    except FormulaSyntaxError as exc:
        raise FormulaSyntaxError(located(where, f"{exc} in {source}")) from exc


@lru_cache(maxsize=65536)
def _parse_cached(source: str) -> Node:
    """Identical texts (a table column's ``[@Age]*2`` in every row) parse once."""
    try:
        tokens = Tokenizer(source).items
    except (TokenizerError, IndexError, ValueError) as exc:  # its unbalanced-")" bug: IndexError
        message = str(exc) if isinstance(exc, TokenizerError) else "unbalanced parentheses"
        raise _ParseFailure(message, len(source)) from exc
    return _Parser(source, tokens).parse()


def _spill_references(source: str) -> str:
    """``A1#`` → ``_xlfn.ANCHORARRAY(A1)`` outside string literals."""
    parts = re.split(r'("(?:[^"]|"")*")', source)
    return "".join(
        part if part.startswith('"') else _SPILL.sub(r"_xlfn.ANCHORARRAY(\1\2)", part)
        for part in parts
    )


@dataclass
class _ParseFailure(Exception):
    message: str
    position: int


_OPERAND, _FUNC, _SEP, _PAREN, _ARRAY = "OPERAND", "FUNC", "SEP", "PAREN", "ARRAY"
_OP_PRE, _OP_IN, _OP_POST = "OPERATOR-PREFIX", "OPERATOR-INFIX", "OPERATOR-POSTFIX"
_SPACE = "WHITE-SPACE"


class _Parser:
    """Precedence climbing over openpyxl's tokens (whitespace dropped after checks)."""

    def __init__(self, source: str, tokens: list[Token]) -> None:
        self.source = source
        self.tokens: list[Token] = []
        self.positions: list[int] = []
        position = 1  # after the "="
        for index, token in enumerate(tokens):
            if token.type == _SPACE:
                if _is_intersection(tokens, index):
                    self._add(Token(" ", _OP_IN), position)
            else:
                for piece, offset in _split_token(token):
                    self._add(piece, position + offset)
            position += len(token.value)
        self.index = 0
        self.comma_ends = False  # inside `application`'s parentheses (not nested ones)

    def _add(self, token: Token, position: int) -> None:
        self.tokens.append(token)
        self.positions.append(position)

    # -- token access -----------------------------------------------------------------------
    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.fail("formula ends too early")
        self.index += 1
        return token

    def fail(self, message: str) -> _ParseFailure:
        at = self.positions[self.index] if self.index < len(self.positions) else len(self.source)
        return _ParseFailure(message, at)

    # -- grammar ----------------------------------------------------------------------------
    def parse(self) -> Node:
        if not self.tokens:
            raise self.fail("empty formula")
        node = self.expression(0)
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek().value!r}")
        return node

    def expression(self, min_precedence: int) -> Node:
        left = self.prefix()
        while (token := self.peek()) is not None:
            if token.type == _OP_POST and POSTFIX_PRECEDENCE >= min_precedence:
                self.take()
                left = Unary("%", left)
            elif token.type == _OP_IN and token.value == "," and self.comma_ends:
                break  # an argument separator of `application`
            elif token.type == _OP_IN and token.value in INFIX_PRECEDENCE:
                precedence = INFIX_PRECEDENCE[token.value]
                if precedence < min_precedence:
                    break
                self.take()
                at = self.index - 1
                right = self.expression(precedence + 1)
                if token.value in REFERENCE_OPERATORS and _literal(left) | _literal(right):
                    self.index = at
                    name = {",": "union", " ": "intersection", ":": "range"}[token.value]
                    raise self.fail(f"the {name} operator needs references on both sides")
                left = Binary(token.value, left, right)
            elif token.type == _OP_IN:
                raise self.fail(f"the {token.value!r} operator is not supported here")
            else:
                break
        return left

    def prefix(self) -> Node:
        token = self.peek()
        if token is not None and token.type == _OP_PRE and token.value == "@":
            self.take()  # implicit intersection, stored in files as _xlfn.SINGLE(...)
            return Call("SINGLE", (self.expression(INFIX_PRECEDENCE[":"]),))
        if token is not None and token.type == _OP_PRE:
            self.take()
            return Unary(token.value, self.expression(PREFIX_PRECEDENCE))
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail("formula ends too early")
        if token.type == _OPERAND:
            self.take()
            return self.operand(token)
        if token.type == _FUNC and token.subtype == Token.OPEN:
            self.take()
            outer, self.comma_ends = self.comma_ends, False
            node = self.call(token.value[:-1])
            self.comma_ends = outer
            while (after := self.peek()) is not None and (
                after.type == _PAREN and after.subtype == Token.OPEN
            ):
                node = self.application(node)  # LAMBDA(x,x+1)(2): a call of the result
            return node
        if token.type == _PAREN and token.subtype == Token.OPEN:
            self.take()
            outer, self.comma_ends = self.comma_ends, False
            inner = self.expression(0)
            self.comma_ends = outer
            self.expect(_PAREN, "')'")
            return inner
        if token.type == _ARRAY and token.subtype == Token.OPEN:
            self.take()
            return self.array()
        raise self.fail(f"unexpected {token.value!r}")

    def expect(self, token_type: str, what: str) -> None:
        token = self.peek()
        if token is None or token.type != token_type or token.subtype != Token.CLOSE:
            if token is not None and token.type == _SEP:
                raise self.fail("the union operator (,) is not supported")
            raise self.fail(f"expected {what}")
        self.take()

    def operand(self, token: Token) -> Node:
        value = token.value
        if token.subtype == Token.NUMBER:
            return Number(float(value))
        if token.subtype == Token.TEXT:
            return Text(value[1:-1].replace('""', '"'))
        if token.subtype == Token.LOGICAL:
            return Bool(value.upper() == "TRUE")
        if token.subtype == Token.ERROR:
            return ErrorLiteral(value.upper())
        try:
            return parse_reference(value)
        except FormulaSyntaxError as exc:
            self.index -= 1
            raise self.fail(str(exc)) from exc

    def call(self, raw_name: str) -> Node:
        name = normalise_function_name(raw_name)
        args: list[Node] = []
        token = self.peek()
        if token is not None and token.type == _FUNC and token.subtype == Token.CLOSE:
            self.take()
            return Call(name, ())
        while True:
            token = self.peek()
            if token is not None and (
                (token.type == _SEP and token.subtype == Token.ARG)
                or (token.type == _FUNC and token.subtype == Token.CLOSE)
            ):
                args.append(Missing())
            else:
                args.append(self.expression(0))
            token = self.take()
            if token.type == _FUNC and token.subtype == Token.CLOSE:
                return Call(name, tuple(args))
            if not (token.type == _SEP and token.subtype == Token.ARG):
                self.index -= 1
                raise self.fail(f"expected ',' or ')' in {name}(...)")

    def application(self, callee: Node) -> Node:
        """``(arg, ...)`` after a call: the tokenizer reads its commas as union operators, so
        they end each argument here."""
        self.take()  # "("
        args: list[Node] = []
        token = self.peek()
        if token is not None and token.type == _PAREN and token.subtype == Token.CLOSE:
            self.take()
            return Call(APPLY, (callee,))
        outer, self.comma_ends = self.comma_ends, True
        try:
            while True:
                token = self.peek()
                if token is not None and (
                    (token.type == _OP_IN and token.value == ",")
                    or (token.type == _PAREN and token.subtype == Token.CLOSE)
                ):
                    args.append(Missing())
                else:
                    args.append(self.expression(0))
                token = self.take()
                if token.type == _PAREN and token.subtype == Token.CLOSE:
                    return Call(APPLY, (callee, *args))
                if not (token.type == _OP_IN and token.value == ","):
                    self.index -= 1
                    raise self.fail("expected ',' or ')' in a LAMBDA's arguments")
        finally:
            self.comma_ends = outer

    def array(self) -> Node:
        rows: list[tuple[Node, ...]] = []
        row: list[Node] = []
        while True:
            row.append(_constant(self.expression(0), self))
            token = self.take()
            if token.type == _SEP and token.subtype == Token.ROW:
                rows.append(tuple(row))
                row = []
            elif token.type == _ARRAY and token.subtype == Token.CLOSE:
                rows.append(tuple(row))
                if len({len(r) for r in rows}) != 1:
                    raise self.fail("array constant rows differ in length")
                return ArrayLiteral(tuple(rows))
            elif not (token.type == _SEP and token.subtype == Token.ARG):
                self.index -= 1
                raise self.fail("expected ',', ';' or '}' in an array constant")


def _literal(node: Node) -> bool:
    """A constant written in the formula (which no reference operator accepts)."""
    return isinstance(node, (Number, Text, Bool, ArrayLiteral)) or (
        isinstance(node, Unary) and _literal(node.operand)
    )


def _constant(node: Node, parser: _Parser) -> Node:
    """Array constants hold literals only; ``-1`` arrives as a negation and folds here."""
    if isinstance(node, (Number, Text, Bool, ErrorLiteral)):
        return node
    if isinstance(node, Unary) and node.op in "+-" and isinstance(node.operand, Number):
        return Number(-node.operand.value if node.op == "-" else node.operand.value)
    raise parser.fail("array constants may hold only numbers, text, booleans and errors")


def _split_token(token: Token) -> list[tuple[Token, int]]:
    """Pieces of one openpyxl token, with their offsets in it.

    openpyxl glues a range operator to its neighbour (``:INDEX(``, ``A1:OFFSET(``, ``:B3``) and
    the ``@`` operator to its operand (``@A1:A3``); the parser wants them apart.
    """
    value = token.value
    if token.type == _FUNC and token.subtype == Token.OPEN and ":" in value:
        at = value.rindex(":")
        pieces = [(Token(":", _OP_IN), at), (Token(value[at + 1 :], _FUNC, Token.OPEN), at + 1)]
        if at > 0:
            pieces.insert(0, (Token(value[:at], _OPERAND, Token.RANGE), 0))
        return pieces
    if token.type == _FUNC and token.subtype == Token.OPEN and value.startswith("@"):
        return [(Token("@", _OP_PRE), 0), (Token(value[1:], _FUNC, Token.OPEN), 1)]
    if token.type == _OPERAND and token.subtype == Token.RANGE:
        if value.startswith(":") and len(value) > 1:
            return [(Token(":", _OP_IN), 0), (Token(value[1:], _OPERAND, Token.RANGE), 1)]
        if value.startswith("@") and len(value) > 1:
            return [(Token("@", _OP_PRE), 0), (Token(value[1:], _OPERAND, Token.RANGE), 1)]
    return [(token, 0)]


def _is_intersection(tokens: list[Token], index: int) -> bool:
    """A space between two operands (``A1:B5 B2:C3``) is Excel's intersection operator."""
    if index == 0 or index + 1 >= len(tokens):
        return False
    before, after = tokens[index - 1], tokens[index + 1]
    ends_operand = before.type == _OPERAND or (
        before.type in (_FUNC, _PAREN) and before.subtype == Token.CLOSE
    )
    starts_operand = after.type == _OPERAND or (
        after.type in (_FUNC, _PAREN) and after.subtype == Token.OPEN
    )
    return ends_operand and starts_operand
