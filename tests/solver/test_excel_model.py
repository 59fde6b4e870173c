"""Excel Solver models in sheet-scoped defined names: reading, writing, round trips."""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pytest

from xl_lesson3.errors import SolverModelError, UnknownReferenceError
from xl_lesson3.solver.excel_model import (
    Constraint,
    SolverModel,
    read_solver_model,
    save_model,
    solver_defined_names,
)
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import DefinedName, WorkbookModel

CELLS = {"fit!A1": 1.0, "fit!B1": 2.0, "fit!C1": 0.5, "fit!E1": "=A1^2+B1^2", "other!A1": 3}


def _cell(text: str) -> CellAddress:
    return CellAddress.parse(text)


def _rng(text: str) -> RangeAddress:
    return RangeAddress.parse(text)


def _excel_names(sheet: str, names: dict[str, str]) -> WorkbookModel:
    """A model holding `names` scoped to `sheet`, as Excel's Solver writes them (hidden)."""
    defined = [DefinedName(n, t, scope=sheet, hidden=True) for n, t in names.items()]
    return WorkbookModel.from_cells(CELLS, defined_names=defined)


def test_reads_the_names_excel_writes():
    book = _excel_names(
        "fit",
        {
            "solver_opt": "fit!$E$1",
            "solver_typ": "1",
            "solver_val": "0",
            "solver_adj": "fit!$A$1:$B$1,fit!$C$1",
            "solver_neg": "2",
            "solver_num": "3",
            "solver_lhs1": "fit!$A$1",
            "solver_rel1": "1",
            "solver_rhs1": "10",
            "solver_lhs2": "fit!$A$1:$B$1",
            "solver_rel2": "3",
            "solver_rhs2": "fit!$C$1",
            "solver_lhs3": "fit!$C$1",
            "solver_rel3": "4",
            "solver_rhs3": '"integer"',
            "solver_lhs4": "fit!$B$1",  # stale: beyond solver_num, Excel leaves these behind
            "solver_rel4": "2",
            "solver_rhs4": "0",
            "solver_eng": "1",
            "solver_ver": "3",
            "solver_tol": "0.01",
        },
    )
    model = read_solver_model(book, "fit")
    assert model.objective == _cell("fit!E1")
    assert model.changing == (_rng("fit!A1:B1"), _rng("fit!C1"))
    assert model.goal == "max"
    assert model.non_negative is False
    assert model.constraints == (
        Constraint(_rng("fit!A1"), "<=", 10.0),
        Constraint(_rng("fit!A1:B1"), ">=", _cell("fit!C1")),
        Constraint(_rng("fit!C1"), "int", None),
    )
    assert model.variables == (_cell("fit!A1"), _cell("fit!B1"), _cell("fit!C1"))
    assert model.options == {"solver_tol": "0.01"}


@pytest.mark.parametrize(
    ("typ", "val", "goal"),
    [("1", "0", "max"), ("2", "0", "min"), ("3", "2.5", 2.5), ("3", "-1E-06", -1e-6)],
    ids=["max", "min", "value-of", "value-of-exponent"],
)
def test_goal_codes(typ, val, goal):
    names = {"solver_opt": "fit!$E$1", "solver_adj": "fit!$A$1", "solver_typ": typ}
    names["solver_val"] = val
    assert read_solver_model(_excel_names("fit", names), "fit").goal == goal


def test_missing_solver_neg_means_non_negative_like_excels_dialog():
    names = {"solver_opt": "fit!$E$1", "solver_adj": "fit!$A$1"}
    assert read_solver_model(_excel_names("fit", names), "fit").non_negative is True


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ({"solver_adj": "fit!$A$1"}, "fit: no Solver model on this sheet"),
        ({"solver_opt": "fit!$E$1:$E$2", "solver_adj": "fit!$A$1"}, "fit!solver_opt: expected one"),
        ({"solver_opt": "fit!$E$1", "solver_adj": "#REF!"}, "fit!solver_adj: '#REF!' is not"),
        (
            {"solver_opt": "fit!$E$1", "solver_adj": "fit!$A$1", "solver_typ": "7"},
            "fit!solver_typ: 7",
        ),
        (
            {"solver_opt": "fit!$E$1", "solver_adj": "fit!$A$1", "solver_num": "1"},
            "fit!solver_lhs1: missing",
        ),
        (
            {
                "solver_opt": "fit!$E$1",
                "solver_adj": "fit!$A$1",
                "solver_num": "1",
                "solver_lhs1": "fit!$A$1",
                "solver_rel1": "9",
                "solver_rhs1": "1",
            },
            "fit!solver_rel1: unknown relation code 9",
        ),
        (
            {
                "solver_opt": "fit!$E$1",
                "solver_adj": "fit!$A$1:$B$1",
                "solver_num": "1",
                "solver_lhs1": "fit!$A$1:$B$1",
                "solver_rel1": "1",
                "solver_rhs1": "fit!$A$1:$C$1",
            },
            "fit!solver_rhs1: fit!A1:C1 does not match",
        ),
    ],
    ids=[
        "no-objective",
        "objective-range",
        "ref-error",
        "bad-typ",
        "missing-lhs",
        "bad-rel",
        "rhs-shape",
    ],
)
def test_malformed_models_name_sheet_and_name(names, message):
    with pytest.raises(SolverModelError, match="^" + re.escape(message)):
        read_solver_model(_excel_names("fit", names), "fit")


def test_unknown_sheet():
    with pytest.raises(UnknownReferenceError, match="^nope: no such sheet"):
        read_solver_model(_excel_names("fit", {}), "nope")


def test_names_are_in_excels_form():
    model = SolverModel(
        sheet="my sheet",
        objective=_cell("'my sheet'!E1"),
        changing=(_rng("'my sheet'!A1:B2"), _rng("'my sheet'!D1")),
        goal=0.25,
        constraints=(
            Constraint(_rng("'my sheet'!A1:B2"), "<=", 3),
            Constraint(_rng("'my sheet'!D1"), ">=", _cell("'my sheet'!F1")),
            Constraint(_rng("'my sheet'!D1"), "bin"),
        ),
        non_negative=True,
    )
    names = solver_defined_names(model)
    assert names["solver_opt"] == "'my sheet'!$E$1"
    assert names["solver_adj"] == "'my sheet'!$A$1:$B$2,'my sheet'!$D$1"
    assert (names["solver_typ"], names["solver_val"]) == ("3", "0.25")
    assert (names["solver_neg"], names["solver_num"], names["solver_eng"]) == ("1", "3", "1")
    assert (names["solver_lhs1"], names["solver_rel1"], names["solver_rhs1"]) == (
        "'my sheet'!$A$1:$B$2",
        "1",
        "3",
    )
    assert (names["solver_rel2"], names["solver_rhs2"]) == ("3", "'my sheet'!$F$1")
    assert (names["solver_rel3"], names["solver_rhs3"]) == ("5", '"binary"')
    assert names["solver_ver"] == "3"
    # Excel writes its option names on every save; the dialog needs them to open the model.
    for option in (
        "solver_cvg",
        "solver_drv",
        "solver_est",
        "solver_itr",
        "solver_msl",
        "solver_nwt",
        "solver_pre",
        "solver_scl",
        "solver_sho",
        "solver_tim",
        "solver_tol",
        "solver_rlx",
        "solver_lin",
    ):
        assert option in names


def _model(**changes) -> SolverModel:
    base = {
        "sheet": "fit",
        "objective": _cell("fit!E1"),
        "changing": (_rng("fit!A1:B1"), _rng("fit!C1")),
        "goal": "min",
        "constraints": (
            Constraint(_rng("fit!A1:B1"), "<=", 4.5),
            Constraint(_rng("fit!C1"), "=", _cell("other!A1")),
            Constraint(_rng("fit!A1"), "dif"),
        ),
        "non_negative": True,
    }
    base.update(changes)
    return SolverModel(**base)


@pytest.mark.parametrize("goal", ["min", "max", -3.5], ids=["min", "max", "value-of"])
def test_save_model_round_trips(make_workbook, tmp_path, goal):
    src = make_workbook(CELLS)
    out = tmp_path / "with-model.xlsx"
    model = _model(goal=goal)
    save_model(src, model, out)
    again = read_solver_model(load_workbook(out), "fit")
    assert again == SolverModel(**{**model.__dict__, "options": again.options})
    assert set(again.options) >= {"solver_tol", "solver_cvg"}
    # Excel's form: hidden and scoped to the sheet, as openpyxl sees them.
    book = openpyxl.load_workbook(out)
    defined = book["fit"].defined_names["solver_opt"]
    assert defined.hidden and defined.attr_text == "fit!$E$1"
    assert "solver_opt" not in book.defined_names


def test_save_model_replaces_a_bigger_model_and_keeps_other_parts(make_workbook, tmp_path):
    src = make_workbook(CELLS)
    save_model(src, _model())  # in place, 3 constraints
    before = zipfile.ZipFile(src)
    parts = {name: before.read(name) for name in before.namelist()}
    save_model(src, _model(constraints=(), goal="max"))
    model = read_solver_model(load_workbook(src), "fit")
    assert model.constraints == () and model.goal == "max"
    names = {n.name for n in load_workbook(src).defined_names}
    assert not any(n.startswith(("solver_lhs", "solver_rel", "solver_rhs")) for n in names)
    after = zipfile.ZipFile(src)
    for name, data in parts.items():
        if name != "xl/workbook.xml":
            assert after.read(name) == data, name


def test_save_model_unknown_sheet(make_workbook):
    src = make_workbook(CELLS)
    model = _model(
        sheet="nope", objective=_cell("nope!A1"), changing=(_rng("nope!B1"),), constraints=()
    )
    with pytest.raises(UnknownReferenceError, match="^nope: no such sheet"):
        save_model(src, model)
