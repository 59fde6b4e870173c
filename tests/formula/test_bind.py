"""Binding references to a workbook: R1C1 offsets, names, structured references, errors."""

from __future__ import annotations

import pytest

from xl_lesson3.errors import CircularReferenceError, UnknownReferenceError
from xl_lesson3.formula.parse.ast import Binary, BoundRef, Call, ErrorLiteral, Number
from xl_lesson3.formula.parse.parser import parse_formula
from xl_lesson3.formula.plan.bind import bind_formula
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import DefinedName, Table, WorkbookModel

# Table T on sheet S: header row 2, data rows 3-6, totals row 7; columns B..E.
TABLE = Table("T", RangeAddress.parse("S!B2:E7"), ("Age", "Fare", "SibSp", "Ones"), 1, 1)
MODEL = WorkbookModel.from_cells(
    {"S!A1": 1, "S!H9": 2, "Other!A1": 3, "Other!C4": 4},
    tables=[TABLE],
    defined_names=[
        DefinedName("rate", "0.5"),
        DefinedName("rate", "S!$A$1", scope="S", hidden=True),
        DefinedName("twice", "rate*2"),
        DefinedName("next_cell", "Other!B1"),  # relative: one column right of the user
        DefinedName("loop_a", "loop_b+1"),
        DefinedName("loop_b", "loop_a"),
    ],
)


def bind(text: str, at: str = "S!H5"):
    cell = CellAddress.parse(at)
    return bind_formula(MODEL, cell, parse_formula(text))


def rect(node, at: str = "S!H5") -> str:
    assert isinstance(node, BoundRef)
    cell = CellAddress.parse(at)
    return str(node.at(cell.row, cell.col))


def test_relative_references_bind_to_equal_trees_down_a_column():
    assert bind("=G5*2", "S!H5") == bind("=G6*2", "S!H6")
    assert bind("=G5*2", "S!H5") != bind("=G6*2", "S!H5")
    assert bind("=$G$1*2", "S!H5") == bind("=$G$1*2", "S!H6")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=B3", "S!B3"),
        ("=$B$3:C4", "S!B3:C4"),
        ("=Other!C4", "Other!C4"),
        ("=A:A", "S!A1:A9"),  # whole columns clip to the used rows
        ("=2:3", "S!A2:H3"),  # whole rows clip to the used columns
        ("=Other!A:B", "Other!A1:B4"),
        ("=T[Age]", "S!B3:B6"),
        ("=T[]", "S!B3:E6"),
        ("=T[#Data]", "S!B3:E6"),
        ("=T[#Headers]", "S!B2:E2"),
        ("=T[#Totals]", "S!B7:E7"),
        ("=T[#All]", "S!B2:E7"),
        ("=T[[#Headers],[#Data],[Fare]]", "S!C2:C6"),
        ("=T[[#Data],[#Totals],[Fare]]", "S!C3:C7"),
        ("=T[[#Data],[Fare]:[Ones]]", "S!C3:E6"),
        ("=t[[fare]:[sibsp]]", "S!C3:D6"),  # names are case-insensitive
        ("=T[[#This Row],[Age]]", "S!B5"),  # H5 sits in a data row of the table
        ("=T[[#This Row],[SibSp]:[Ones]]", "S!D5:E5"),
        ("=rate", "S!A1"),  # the sheet-scoped name wins on sheet S
        ("=next_cell", "Other!I5"),
    ],
)
def test_reference_rectangles(text, expected):
    assert rect(bind(text)) == expected


def test_this_row_moves_with_the_row_and_is_value_error_outside_the_data():
    assert bind("=T[[#This Row],[Age]]", "S!H4") == bind("=T[[#This Row],[Age]]", "S!H5")
    assert bind("=T[[#This Row],[Age]]", "S!H9") == ErrorLiteral("#VALUE!")


def test_at_column_inside_the_table_and_from_another_sheet():
    assert rect(bind("=[@Fare]*2", "S!E4").left, "S!E4") == "S!C4"
    assert rect(bind("=T[[#This Row],[Fare]]", "Other!A4"), "Other!A4") == "S!C4"


def test_names_holding_constants_and_formulas_are_inlined():
    assert bind("=rate", "Other!A1") == Number(0.5)  # the workbook-scoped one
    assert bind("=twice", "Other!A1") == Binary("*", Number(0.5), Number(2.0))
    assert rect(bind("=S!rate", "Other!A1"), "Other!A1") == "S!A1"


def test_functions_keep_their_bound_arguments():
    node = bind("=SUM(T[Age])")
    assert isinstance(node, Call) and rect(node.args[0]) == "S!B3:B6"


@pytest.mark.parametrize(
    ("text", "at", "error", "message"),
    [
        ("=Missing!A1", "S!H5", UnknownReferenceError, "S!H5: bad reference"),
        ("=U[Age]", "S!H5", UnknownReferenceError, "S!H5: unknown table 'U'"),
        ("=T[Height]", "S!H5", UnknownReferenceError, "has no column 'Height'"),
        ("=[@Age]", "S!H5", UnknownReferenceError, "must sit inside a table"),
        (
            "=loop_a",
            "S!H5",
            CircularReferenceError,
            "S!H5: name loop_a uses itself: loop_a → loop_b → loop_a",
        ),
    ],
)
def test_binding_errors_are_located(text, at, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace("[", r"\[")):
        bind(text, at)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=nope+1", Binary("+", ErrorLiteral("#NAME?"), Number(1.0))),
        ("=Other!rate", ErrorLiteral("#NAME?")),  # Other has no sheet-scoped rate
    ],
    ids=["unknown", "wrong-scope"],
)
def test_unknown_names_are_name_errors_as_in_excel(text, expected):
    assert bind(text, "S!H5") == expected


def test_headers_of_a_table_without_headers_is_ref_error():
    headless = Table("H", RangeAddress.parse("S!A1:A3"), ("X",), 0, 0)
    model = WorkbookModel.from_cells({"S!B1": 1}, tables=[headless])
    node = bind_formula(model, CellAddress("S", 1, 2), parse_formula("=H[#Headers]"))
    assert node == ErrorLiteral("#REF!")


def test_a_table_header_with_a_trailing_space_is_found():
    table = Table("P", RangeAddress.parse("S!A1:B3"), ("Name", "Age "))
    model = WorkbookModel.from_cells({"S!B2": 30, "S!B3": 40}, tables=[table])
    for text in ("=SUM(P[Age])", "=SUM(P[Age ])"):
        node = bind_formula(model, CellAddress("S", 5, 1), parse_formula(text))
        assert node.args[0].at(5, 1) == RangeAddress.parse("S!B2:B3")
