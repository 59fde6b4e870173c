"""The Evolutionary engine and the least-squares shortcuts, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from tests.solver.fixtures import _c, _save
from tests.solver.test_titanic import INPUTS, TITANIC, _column
from xl_lesson3.solver import solve
from xl_lesson3.workbook.load import load_workbook


def _book(make_workbook, name, objective, engine, constraints=(), low=-5.0, high=5.0):
    cells = {"s!A1": 0.0, "s!B1": 0.0, "s!D1": objective}
    bounds = (_c("s!A1:B1", ">=", low), _c("s!A1:B1", "<=", high))
    return _save(
        make_workbook,
        cells,
        name,
        sheet="s",
        objective="s!D1",
        changing=["s!A1:B1"],
        constraints=bounds + constraints,
        engine=engine,
        options={"solver_rsd": "1"},
    )


def test_evolutionary_minimises_a_kinked_objective(make_workbook):
    # |a - 1.3| + |b + 0.7| + IF(a > 2, 1, 0): no useful gradient at the optimum (1.3, -0.7).
    book = _book(make_workbook, "kinked", "=ABS(A1-1.3)+ABS(B1+0.7)+IF(A1>2,1,0)", engine=3)
    result = solve(book)
    assert result.engine == "evolutionary" and result.method == "differential evolution"
    assert [result.values[c] for c in result.model.variables] == pytest.approx(
        [1.3, -0.7], abs=1e-4
    )
    assert all(-5 <= v <= 5 for v in result.values.values())


def test_integer_cells_of_a_nonlinear_grg_model_go_to_the_evolutionary_engine(make_workbook):
    book = _book(
        make_workbook,
        "integer",
        "=(A1-2.6)^2+(B1+1.2)^2",
        engine=1,
        constraints=(_c("s!A1:B1", "int"),),
    )
    result = solve(book)
    assert result.engine == "evolutionary"
    assert [result.values[c] for c in result.model.variables] == [3.0, -1.0]
    assert result.final == pytest.approx(0.4**2 + 0.2**2)


@pytest.mark.skipif(not TITANIC.exists(), reason="workbooks/titanic.xlsx not built")
def test_titanic_linear_sheet_reaches_its_floor_in_one_newton_step():
    book = load_workbook(TITANIC)
    table = next(t for t in book.tables.values() if t.sheet == "linear")
    inputs = np.stack([_column(book, table, name) for name in INPUTS], axis=1)
    survived = _column(book, table, "Survived")
    coef, *_ = np.linalg.lstsq(inputs, survived, rcond=None)
    floor = float(np.mean((inputs @ coef - survived) ** 2))
    result = solve(book, sheet="linear")
    assert result.method == "newton" and result.iterations == 1
    assert result.final == pytest.approx(floor, rel=1e-9)
    assert result.outcome.code == 0


def test_all_different_cells_form_a_permutation(make_workbook):
    cells = {"s!A1": 1, "s!B1": 1, "s!C1": 1, "s!D1": "=(A1-3)^2+(B1-1)^2+(C1-2)^2+A1*B1/10"}
    book = _save(
        make_workbook,
        cells,
        "dif",
        sheet="s",
        objective="s!D1",
        changing=["s!A1:C1"],
        constraints=(_c("s!A1:C1", "dif"),),
        engine=3,
    )
    result = solve(book, population=20)
    assert [result.values[c] for c in result.model.variables] == [3.0, 1.0, 2.0]
    assert result.final == pytest.approx(0.3)


def test_simplex_reaches_a_target_value(make_workbook):
    # 2a + 3b = 12 with a, b >= 0 and a <= 3: HiGHS finds a point on that line.
    cells = {"s!A1": 0, "s!B1": 0, "s!D1": "=2*A1+3*B1"}
    book = _save(
        make_workbook,
        cells,
        "target",
        sheet="s",
        objective="s!D1",
        changing=["s!A1:B1"],
        goal=12.0,
        constraints=(_c("s!A1", "<=", 3.0),),
        non_negative=True,
        engine=2,
    )
    result = solve(book)
    assert result.final == pytest.approx(12.0, abs=1e-9) and not result.failed
    assert 0 <= result.values[result.model.variables[0]] <= 3
