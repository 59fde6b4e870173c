"""The engine on the lesson's own Titanic workbook: gradients and op counts of the three sheets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.conftest import REPO
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.solver import read_solver_model
from xl_lesson3.titanic.builder import build_titanic_workbook
from xl_lesson3.titanic.data import shipped_csv
from xl_lesson3.workbook.load import load_workbook

TITANIC = REPO / "workbooks" / "titanic.xlsx"


def _compile_sheet(book, sheet: str):
    model = read_solver_model(book, sheet)
    variables = [cell for area in model.changing for cell in area.cells()]
    return compile_program(book, model.objective, variables)


@pytest.fixture(scope="module")
def titanic():
    return load_workbook(TITANIC)


@pytest.mark.parametrize("sheet", ["linear", "nnet", "mmult"])
def test_gradients_match_finite_differences(titanic, sheet):
    program = _compile_sheet(titanic, sheet)
    # Two points: the workbook's own parameters and a shifted copy (different ReLUs active).
    start = program.initial.detach().clone()
    params = torch.stack([start, start * 0.5 + 0.1]).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: program(p), (params,), eps=1e-6, atol=1e-5)


def _csv_with_rows(tmp_path: Path, n_rows: int) -> Path:
    """Kaggle's CSV cut so that exactly `n_rows` passengers survive the lesson's cleaning."""
    raw = pd.read_csv(shipped_csv())
    kept = raw[raw["Age"].notna() & raw["Embarked"].notna()].head(n_rows)
    path = tmp_path / f"train{n_rows}.csv"
    kept.to_csv(path, index=False)
    return path


def test_nnet_op_count_does_not_grow_with_rows(tmp_path):
    counts = {}
    for n_rows in (100, 700):
        out = tmp_path / f"titanic{n_rows}.xlsx"
        built = build_titanic_workbook(out, csv=_csv_with_rows(tmp_path, n_rows))
        assert built.n_rows == n_rows
        counts[n_rows] = _compile_sheet(load_workbook(out), "nnet").op_count
    assert counts[100] == counts[700]
    assert counts[100] < 100  # one op per formula node of a run, not per row
