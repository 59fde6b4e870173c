"""Formula text → AST: literals, operators and their precedence, calls, references, errors."""

from __future__ import annotations

import pytest

from xl_lesson3.errors import FormulaSyntaxError
from xl_lesson3.formula.parse.ast import (
    A1Ref,
    ArrayLiteral,
    Binary,
    Bool,
    Call,
    Coord,
    ErrorLiteral,
    Missing,
    NameRef,
    Number,
    StructRef,
    Text,
    Unary,
    walk,
)
from xl_lesson3.formula.parse.parser import parse_formula


def n(value: float) -> Number:
    return Number(float(value))


def cell(col: int, row: int, sheet: str | None = None, col_abs=False, row_abs=False) -> A1Ref:
    r, c = Coord(row, row_abs), Coord(col, col_abs)
    return A1Ref(sheet, r, c, r, c)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1.5", n(1.5)),
        ("=1e-3", n(0.001)),
        ('="a ""q"" b"', Text('a "q" b')),
        ("=TRUE", Bool(True)),
        ("=#DIV/0!", ErrorLiteral("#DIV/0!")),
        ("=1+2*3", Binary("+", n(1), Binary("*", n(2), n(3)))),
        ("=(1+2)*3", Binary("*", Binary("+", n(1), n(2)), n(3))),
        ("=1-2-3", Binary("-", Binary("-", n(1), n(2)), n(3))),
        ("=2^3^2", Binary("^", Binary("^", n(2), n(3)), n(2))),  # Excel: left to right
        ("=-2^2", Binary("^", Unary("-", n(2)), n(2))),  # Excel: negation first, = 4
        ("=2*-3", Binary("*", n(2), Unary("-", n(3)))),
        ("=+1", Unary("+", n(1))),
        ("=50%", Unary("%", n(50))),
        ("=2^50%", Binary("^", n(2), Unary("%", n(50)))),
        ('="a"&1+2', Binary("&", Text("a"), Binary("+", n(1), n(2)))),
        ("=1+2=3", Binary("=", Binary("+", n(1), n(2)), n(3))),
        ("=1<>2", Binary("<>", n(1), n(2))),
        ("=1<=2", Binary("<=", n(1), n(2))),
        ("=SUM()", Call("SUM", ())),
        ("=sum(1, 2)", Call("SUM", (n(1), n(2)))),
        ("=IF(1,,2)", Call("IF", (n(1), Missing(), n(2)))),
        ("=IF(1,2,)", Call("IF", (n(1), n(2), Missing()))),
        ("=_xlfn.STDEV.S(1)", Call("STDEV.S", (n(1),))),
        ("=MAX(ABS(-1),2)", Call("MAX", (Call("ABS", (Unary("-", n(1)),)), n(2)))),
        ("={1,2;3,-4}", ArrayLiteral(((n(1), n(2)), (n(3), n(-4))))),
        ('={"a",TRUE}', ArrayLiteral(((Text("a"), Bool(True)),))),
        ("=1", n(1)),
        ("1+1", Binary("+", n(1), n(1))),  # the "=" is optional
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_parse(text, expected):
    assert parse_formula(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=B3", cell(2, 3)),
        ("=$B$3", cell(2, 3, col_abs=True, row_abs=True)),
        ("=B$3", cell(2, 3, row_abs=True)),
        ("=Sheet2!B3", cell(2, 3, "Sheet2")),
        ("='My Sheet'!B3", cell(2, 3, "My Sheet")),
        ("='It''s'!B3", cell(2, 3, "It's")),
        (
            "=A1:$C$4",
            A1Ref(None, Coord(1, False), Coord(1, False), Coord(4, True), Coord(3, True)),
        ),
        (
            "=Sheet2!A1:Sheet2!B2",
            A1Ref("Sheet2", Coord(1, False), Coord(1, False), Coord(2, False), Coord(2, False)),
        ),
        ("=A:C", A1Ref(None, None, Coord(1, False), None, Coord(3, False))),
        ("=$2:$5", A1Ref(None, Coord(2, True), None, Coord(5, True), None)),
        ("=rate", NameRef(None, "rate")),
        ("=Sheet1!rate", NameRef("Sheet1", "rate")),
        ("=Table1[Age]", StructRef("Table1", (), "Age", "Age")),
        ("=Table1[]", StructRef("Table1", (), None, None)),
        ("=Table1[#Data]", StructRef("Table1", ("data",), None, None)),
        ("=Table1[#Headers]", StructRef("Table1", ("headers",), None, None)),
        ("=Table1[#All]", StructRef("Table1", ("all",), None, None)),
        ("=Table1[[#This Row],[Age]]", StructRef("Table1", ("this row",), "Age", "Age")),
        (
            "=Table1[[#This Row], [SibSp]:[Ones]]",
            StructRef("Table1", ("this row",), "SibSp", "Ones"),
        ),
        ("=Table1[[#Data],[A]:[B]]", StructRef("Table1", ("data",), "A", "B")),
        ("=Table1[[#Headers],[#Data],[A]]", StructRef("Table1", ("headers", "data"), "A", "A")),
        ("=Table1[[A]:[B]]", StructRef("Table1", (), "A", "B")),
        ("=[@Age]", StructRef(None, ("this row",), "Age", "Age")),
        ("=[@[Fare Paid]]", StructRef(None, ("this row",), "Fare Paid", "Fare Paid")),
        ("=Table1[@[SibSp]:[Ones]]", StructRef("Table1", ("this row",), "SibSp", "Ones")),
        ("=Table1[[Odd'[1']]]", StructRef("Table1", (), "Odd[1]", "Odd[1]")),
        ("=Sheet1!#REF!", ErrorLiteral("#REF!")),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_parse_references(text, expected):
    assert parse_formula(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "caret_at"),
    [
        ("=1+", "formula ends too early", 3),
        ("=SUM(1", "formula ends too early", 6),
        ("=(1", "expected ')'", 3),
        ("=1 2", "intersection operator", 2),
        ("=SUM((A1,1))", "union operator", 8),
        ("=Sheet2!A1:Sheet3!B2", "one sheet", 1),
        ("={1,A1}", "array constants", 6),
        ("=Table1[[A],[B]]", "unions of table columns", 1),
        ("=Table1[#Bogus]", "unknown special item", 1),
        ("=)", "unbalanced parentheses", 2),
    ],
)
def test_syntax_errors_are_located_with_a_caret(text, message, caret_at):
    with pytest.raises(FormulaSyntaxError) as info:
        parse_formula(text, "Sheet1!C7")
    text_lines = str(info.value).splitlines()
    assert text_lines[0].startswith("Sheet1!C7: ") and message in text_lines[0]
    assert text_lines[1].strip() == text
    assert text_lines[2].index("^") - text_lines[1].index("=") == caret_at


def test_deep_nesting_parses():
    text = "=" + "(" * 200 + "1" + ")" * 200
    assert parse_formula(text) == n(1)


def test_walk_visits_every_node():
    tree = parse_formula("=IF(A1>0,SUM(B1:B3),-C1)")
    kinds = [type(node).__name__ for node in walk(tree)]
    assert kinds == ["Call", "Binary", "A1Ref", "Number", "Call", "A1Ref", "Unary", "A1Ref"]
