"""The built Titanic workbook: sheets, tables, live formulas, values, parameters, Solver models."""

from __future__ import annotations

import math

import numpy as np
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from tests.titanic.conftest import MODEL_SHEETS

N = 712
FIRST, LAST = 6, 6 + N - 1
COLUMNS = [
    "Survived", "Embarked", "Pclass", "Sex", "Age", "Fare", "SibSp", "Parch",
    "Age_N", "log_Fare", "Pclass_1", "Pclass_2", "Embark_S", "Embark_C", "Male", "Ones",
]  # fmt: skip
DERIVED = {  # column letter -> formula with {t} table and {r} row, in the file's form
    "I": "={t}[[#This Row],[Age]]/MAX({t}[Age])",
    "J": "=LOG10({t}[[#This Row],[Fare]]+1)",
    "K": "=IF({t}[[#This Row],[Pclass]]=1,1,0)",
    "L": "=IF({t}[[#This Row],[Pclass]]=2,1,0)",
    "M": '=IF({t}[[#This Row],[Embarked]]="S",1,0)',
    "N": '=IF({t}[[#This Row],[Embarked]]="C",1,0)',
    "O": '=IF({t}[[#This Row],[Sex]]="male",1,0)',
}
MODEL_FORMULAS = {
    "linear": {"Q": "=SUMPRODUCT(G{r}:P{r},$G$2:$P$2)", "R": "=(Q{r}-A{r})^2"},
    "nnet": {
        "Q": "=SUMPRODUCT(G{r}:P{r},$G$2:$P$2)",
        "R": "=SUMPRODUCT(G{r}:P{r},$G$3:$P$3)",
        "S": "=IF(Q{r}<0,0,Q{r})",
        "T": "=IF(R{r}<0,0,R{r})",
        "U": "=S{r}+T{r}",
        "V": "=(U{r}-A{r})^2",
    },
    "mmult": {
        "T": "=IF(R{r}<0,0,R{r})",
        "U": "=IF(S{r}<0,0,S{r})",
        "V": "=T{r}+U{r}",
        "W": "=(V{r}-A{r})^2",
    },
}
LOSS_FORMULAS = {
    "linear": "=AVERAGE($R$6:$R$717)",
    "nnet": "=AVERAGE($V$6:$V$717)",
    "mmult": "=AVERAGE($W$6:$W$717)",
}
PARAMS = {"linear": "G2:P2", "nnet": "G2:P3", "mmult": "Z6:AA15"}


def block(ws, ref: str) -> np.ndarray:
    return np.array([[c.value for c in row] for row in ws[ref]], dtype=float)


def test_sheets(formulas):
    assert formulas.sheetnames == ["data", "linear", "nnet", "mmult", "About"]


def test_data_sheet_is_the_raw_csv_as_a_table(formulas, raw):
    ws = formulas["data"]
    assert ws.tables["titanic"].ref == "A1:L892"
    assert [c.value for c in ws[1]] == list(raw.columns)
    for j, name in enumerate(raw.columns, start=1):
        got = [ws.cell(r, j).value for r in range(2, 893)]
        want = [None if isinstance(v, float) and math.isnan(v) else v for v in raw[name]]
        assert got == want, name


@pytest.mark.parametrize("sheet", MODEL_SHEETS)
def test_model_sheet_tables_hold_712_passengers(formulas, sheet):
    ws = formulas[sheet]
    table = ws.tables[f"{sheet}_data"]
    last_col = {"linear": "R", "nnet": "V", "mmult": "P"}[sheet]
    assert table.ref == f"A5:{last_col}{LAST}"
    assert [c.value for c in ws[5]][: len(COLUMNS)] == COLUMNS
    assert all(ws.cell(r, 1).value in (0, 1) for r in range(FIRST, LAST + 1))
    assert ws.cell(LAST + 1, 1).value is None


@pytest.mark.parametrize("sheet", MODEL_SHEETS)
def test_derived_and_model_columns_are_formulas(formulas, sheet):
    ws = formulas[sheet]
    table = f"{sheet}_data"
    for r in range(FIRST, LAST + 1):
        for letter, formula in DERIVED.items():
            assert ws[f"{letter}{r}"].value == formula.format(t=table), f"{letter}{r}"
        for letter, formula in MODEL_FORMULAS[sheet].items():
            assert ws[f"{letter}{r}"].value == formula.format(r=r), f"{letter}{r}"
        assert ws[f"P{r}"].value == 1
    assert ws["B2"].value == LOSS_FORMULAS[sheet]
    assert ws["A2"].value == "Total loss"


def test_mmult_is_one_array_formula(formulas):
    ws = formulas["mmult"]
    anchor = ws["R6"].value
    assert isinstance(anchor, ArrayFormula)
    assert anchor.ref == f"R6:S{LAST}"
    assert anchor.text == f"=MMULT($G$6:$P${LAST},$Z$6:$AA$15)"
    others = [ws.cell(r, c).value for r in range(FIRST, LAST + 1) for c in (18, 19)][1:]
    assert not any(isinstance(v, (str, ArrayFormula)) for v in others)  # only cached values


@pytest.mark.parametrize("sheet", MODEL_SHEETS)
def test_values_equal_pandas(cached, expected, sheet):
    ws = cached[sheet]
    for j, name in enumerate(COLUMNS, start=1):
        got = [ws.cell(r, j).value for r in range(FIRST, LAST + 1)]
        want = expected[name].tolist()
        if name in ("Age_N", "log_Fare"):
            assert got == pytest.approx(want, rel=1e-12), name
        else:
            assert got == want, name


def _forward(inputs: np.ndarray, params: np.ndarray, survived: np.ndarray) -> float:
    """Mean squared error of the linear model (params (1, 10)) or the two-ReLU net ((2, 10))."""
    hidden = inputs @ params.T
    pred = hidden[:, 0] if params.shape[0] == 1 else np.maximum(hidden, 0).sum(axis=1)
    return float(np.mean((pred - survived) ** 2))


@pytest.mark.parametrize("sheet", MODEL_SHEETS)
def test_total_loss_from_the_sheets_own_parameters(cached, expected, built, sheet):
    params = block(cached[sheet], PARAMS[sheet])
    if sheet == "mmult":
        params = params.T
    inputs = expected[COLUMNS[6:]].to_numpy(dtype=float)
    loss = _forward(inputs, params, expected["Survived"].to_numpy(dtype=float))
    assert cached[sheet]["B2"].value == pytest.approx(loss, rel=1e-12)
    assert built.losses[sheet] == pytest.approx(loss, rel=1e-12)


def test_parameters_are_frozen_rand_values(formulas, cached):
    for sheet, ref in PARAMS.items():
        cells = [c for row in formulas[sheet][ref] for c in row]
        assert all(isinstance(c.value, float) for c in cells), sheet  # values, not =RAND()
        assert all(-0.5 <= c.value < 0.5 for c in cells), sheet
    nnet, mmult = block(cached["nnet"], PARAMS["nnet"]), block(cached["mmult"], PARAMS["mmult"])
    assert np.array_equal(mmult, nnet.T)  # the same network, so the same starting loss
    assert not np.array_equal(block(cached["linear"], PARAMS["linear"])[0], nnet[0])
    assert formulas["linear"]["F2"].value == "Params"
    assert [formulas["nnet"][c].value for c in ("F2", "F3")] == ["Params 1", "Params 2"]
    assert [c.value for c in formulas["mmult"]["Y5:AA5"][0]] == ["Input", "Params 1", "Params 2"]
    assert [row[0].value for row in formulas["mmult"]["Y6:Y15"]] == COLUMNS[6:]


SOLVER_TEXT = {
    "solver_typ": "2",  # minimise
    "solver_eng": "1",  # GRG Nonlinear
    "solver_neg": "2",  # "make unconstrained variables non-negative" unticked
    "solver_num": "0",
    "solver_ver": "3",
    "solver_val": "0",
    "solver_lin": "2",
}


CHANGING = {"linear": "linear!$G$2:$P$2", "nnet": "nnet!$G$2:$P$3", "mmult": "mmult!$Z$6:$AA$15"}


@pytest.mark.parametrize("sheet", MODEL_SHEETS)
def test_solver_model_names(formulas, sheet):
    names = formulas[sheet].defined_names
    assert names["solver_opt"].attr_text == f"{sheet}!$B$2"
    assert names["solver_adj"].attr_text == CHANGING[sheet]
    for name, text in SOLVER_TEXT.items():
        assert names[name].attr_text == text, name
    for name in ("solver_cvg", "solver_itr", "solver_pre", "solver_tol", "solver_tim"):
        assert name in names
    assert all(d.hidden for d in names.values())
    assert names["solver_opt"].localSheetId == formulas.sheetnames.index(sheet)
    assert not any(name.startswith("solver_") for name in formulas.defined_names)


def test_readable(formulas):
    for sheet in MODEL_SHEETS:
        ws = formulas[sheet]
        assert ws.freeze_panes == "A6"
        assert ws["B2"].number_format == "0.000000"
        assert ws["I6"].number_format == "0.000"
        assert ws.column_dimensions["A"].width >= len("Total loss")
        assert "Solver" in ws["A4"].value
    assert formulas["data"].freeze_panes == "A2"
    about = "\n".join(str(c.value) for c in formulas["About"]["A"] if c.value)
    for text in ("data", "linear", "nnet", "mmult", "Data ▸ Solver", "xl-lesson3 solve"):
        assert text in about
    assert formulas.active.title == "About"
