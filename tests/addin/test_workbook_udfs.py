"""Workbooks that use the add-in's functions compile, evaluate and train like any other."""

from __future__ import annotations

import numpy as np
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from udfs import functions as udf
from xl_lesson3.addin import workflow
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.formula.evaluate.recalc import evaluate_workbook
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook

X = [[0.5, 1.0], [1.0, 1.0], [1.5, 1.0], [2.0, 1.0], [3.0, 1.0]]  # one input and a ones column
Y = [1.0, 0.0, 2.0, 2.5, 4.0]


def _net_workbook(make_workbook):
    """A two-unit ReLU net written with TORCH_MMULT and RELU, its loss with TORCH_MSE."""
    cells = {}
    for r, (row, y) in enumerate(zip(X, Y), start=1):
        cells[f"S!A{r}"], cells[f"S!B{r}"], cells[f"S!C{r}"] = row[0], row[1], y
        cells[f"S!F{r}"] = f"=SUM(RELU(TORCH_MMULT(A{r}:B{r},$D$1:$E$2)))"  # prediction
    cells.update({"S!D1": 0.3, "S!E1": -0.2, "S!D2": 0.1, "S!E2": 0.4})  # 2×2 weights
    cells["S!H1"] = "Total loss"
    cells["S!I1"] = "=TORCH_MSE(F1:F5,C1:C5)"
    return load_workbook(make_workbook(cells))


def test_relu_mmult_workbook_compiles_and_solves(make_workbook):
    model = _net_workbook(make_workbook)
    target = workflow.find_target(model, "S", RangeAddress("S", 1, 4, 2, 5))
    assert target.objective == CellAddress("S", 1, 9)  # found beside "Total loss"
    program = compile_program(model, target.objective, target.variables)
    weights = np.array([[0.3, -0.2], [0.1, 0.4]])
    preds = np.maximum(np.array(X) @ weights, 0).sum(axis=1)
    assert program(program.initial.unsqueeze(0)).item() == pytest.approx(
        np.mean((preds - Y) ** 2), rel=1e-12
    )
    result = workflow.train(model, target, device="cpu")
    before = evaluate_workbook(model)[target.objective]
    after = evaluate_workbook(model, overrides=result.values)[target.objective]
    assert result.initial == pytest.approx(before, rel=1e-9)
    assert result.final == pytest.approx(after, rel=1e-9)
    assert after < 0.5 * before


def test_torch_solve_in_a_workbook_matches_the_udf(make_workbook):
    cells = {}
    for r, (row, y) in enumerate(zip(X, Y), start=1):
        cells[f"S!A{r}"], cells[f"S!B{r}"], cells[f"S!C{r}"] = row[0], row[1], y
    cells["S!D1"], cells["S!E1"] = 0.0, 0.0
    # An array formula over G1:H1, as a file stores a spilled result for older Excel.
    cells["S!G1"] = ArrayFormula("G1:H1", '=TORCH_SOLVE(A1:B5,C1:C5,D1:E1,"linear",,300,0.1,0)')
    model = load_workbook(make_workbook(cells))
    values = evaluate_workbook(model)
    trained = [values[CellAddress("S", 1, 7)], values[CellAddress("S", 1, 8)]]
    expected = udf.torch_solve(X, [[y] for y in Y], [[0.0, 0.0]], "linear", None, 300, 0.1, 0)
    assert trained == pytest.approx(expected[0], rel=1e-12)
    best = np.linalg.lstsq(np.array(X), np.array(Y), rcond=None)[0]
    np.testing.assert_allclose(trained, best, atol=1e-3)
