"""The model's wire format (`model_wire`): what a load in a second process sends back.

Every model must come back the same, value types included: the shipped workbooks and the
Excel-saved conformance workbooks (read with and without cached values), and values JSON cannot
say (errors, NaN, infinities, integers beyond 64 bits) next to ones it can (booleans, ``1`` and
``1.0``, text reading ``null``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pytest

from tests.workbook.model_compare import model_differences
from xl_lesson3.formula.scalars import ErrorCode, ExcelError
from xl_lesson3.workbook import model_wire
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import (
    ArrayFormula,
    CalcSettings,
    DefinedName,
    Table,
    WorkbookModel,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "workbooks").glob("*.xlsx"))
CONFORMANCE = ROOT / ".." / "shared" / "conformance"
BOOKS = sorted(CONFORMANCE.glob("*/*.xlsx")) if CONFORMANCE.is_dir() else []


def _round_trip(model: WorkbookModel) -> WorkbookModel:
    return model_wire.decode(b"".join(model_wire.encode(model)))


@pytest.mark.parametrize("layout", [False, True], ids=["model", "with-layouts"])
@pytest.mark.parametrize("book", SHIPPED, ids=lambda p: p.name)
def test_shipped_workbooks_come_back_the_same(book, layout):
    model = load_workbook(book, layout=layout)
    assert len(model.cells) > 1000  # the lesson's sheets, not an empty book
    assert bool(model.layouts) is layout
    back = _round_trip(model)
    assert model_differences(model, back) == []
    for name, sent in model.layouts.items():  # the arrays themselves, not just equal ones
        assert back.layouts[name].tail_at.tolist() == sent.tail_at.tolist()


@pytest.mark.skipif(not BOOKS, reason="../shared/conformance is absent")
@pytest.mark.parametrize("cached", [False, True], ids=["formulas", "cached-values"])
@pytest.mark.parametrize("book", BOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_excel_saved_workbooks_come_back_the_same(book, cached):
    model = load_workbook(book, cached_values=cached)
    back = _round_trip(model)
    assert model_differences(model, back) == []
    assert len(back.cells) == len(model.cells) > 0


def _odd_values_model() -> WorkbookModel:
    cells = {
        "S!A1": ExcelError(ErrorCode.NA),
        "S!A2": ExcelError(ErrorCode.DIV0),
        "S!A3": math.nan,
        "S!A4": math.inf,
        "S!A5": -math.inf,
        "S!A6": 2**70,
        "S!A7": -(2**64),
        "S!A8": True,
        "S!A9": False,
        "S!A10": 1,
        "S!A11": 1.0,
        "S!A12": "null",
        "S!A13": "NaN",
        "S!A14": "Ünïcode \u2603 \t tab",
        "S!A15": 0.1 + 0.2,
        "S!A16": 5e-324,
        "S!A17": -0.0,
        # a float column with an infinity: not sent as an array of finite floats
        "S!B1": 1.5,
        "S!B2": math.inf,
        # a column JSON says as is, with None-free nulls in text
        "S!C1": "x",
        "S!C2": True,
    }
    for row in range(1, 201):  # one formula text repeated, and formulas with distinct texts
        cells[f"S!D{row}"] = "=S!$A$10*2"
        cells[f"S!E{row}"] = f"=D{row}+1"
    table = Table("T1", RangeAddress("S", 1, 4, 201, 5), ("D", "E"), 1, 0)
    names = (DefinedName("rate", "S!$A$10", None, False), DefinedName("k", "0.5", "S", True))
    arrays = (ArrayFormula(RangeAddress("S", 1, 7, 2, 8), "=A10:B11*2", dynamic=True),)
    model = WorkbookModel.from_cells(
        cells, tables=[table], defined_names=names, array_formulas=arrays
    )
    return dataclasses.replace(
        model,
        cells=model.cells,
        calc=CalcSettings(True, 7, 1e-5),
        date1904=True,
        character_set="mac_roman",
        partial=True,
        array_cached_values={CellAddress("S", 2, 8): ExcelError(ErrorCode.VALUE)},
    )


def test_values_json_cannot_say_come_back_with_their_types():
    model = _odd_values_model()
    back = _round_trip(model)
    assert model_differences(model, back) == []
    column = back.cells.values[("S", 1)]
    assert [type(v).__name__ for v in column.values[:11]] == [
        "ExcelError",
        "ExcelError",
        "float",
        "float",
        "float",
        "int",
        "int",
        "bool",
        "bool",
        "int",
        "float",
    ]
    assert column.values[0] == ExcelError(ErrorCode.NA) and math.isnan(column.values[2])
    assert column.values[5] == 2**70 and column.values[11] == "null"
    assert math.copysign(1.0, column.values[16]) == -1.0
    assert back.cells.values[("S", 2)].values == [1.5, math.inf]
    assert back.calc == CalcSettings(True, 7, 1e-5) and back.partial and back.date1904


def test_a_repeated_formula_text_is_sent_once():
    model = _odd_values_model()
    sent = b"".join(model_wire.encode(model))
    assert sent.count(b"S!$A$10*2") == 1  # 200 cells, one text
    assert sent.count(b"+1") == 200  # distinct texts each go once
    assert _round_trip(model).cells.formulas[("S", 4)].formulas == ["=S!$A$10*2"] * 200


def test_a_value_of_another_type_is_refused_before_anything_is_sent():
    model = WorkbookModel.from_cells({"S!A1": dt.datetime(2024, 1, 1), "S!A2": 1.0})
    with pytest.raises(TypeError, match="datetime"):
        model_wire.encode(model)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b"not a model",
        lambda b: b[: len(b) // 2],
        lambda b: b + b"\0",
        lambda b: b[:24] + b"{" + b[25:],
    ],
    ids=["other-bytes", "cut-short", "trailing-byte", "bad-header"],
)
def test_damaged_bytes_are_a_wire_error(damage):
    sent = b"".join(model_wire.encode(_odd_values_model()))
    with pytest.raises(model_wire.WireError):
        model_wire.decode(damage(sent))


@pytest.mark.parametrize(
    ("kind", "carried"),
    [
        (WorkbookModel, model_wire.FIELDS),
        (Table, ("name", "ref", "columns", "header_row_count", "totals_row_count")),
        (DefinedName, ("name", "text", "scope", "hidden")),
        (ArrayFormula, ("ref", "text", "dynamic")),
        (CalcSettings, ("iterate", "iterate_count", "iterate_delta")),
    ],
)
def test_the_codec_carries_every_field(kind, carried):
    """A field added to the model must be added to the wire format (this fails until it is)."""
    assert tuple(f.name for f in dataclasses.fields(kind)) == tuple(carried)
