"""Smooth functions computed outside autograd (scipy): refused by the gradient engines by name,
trained by the Evolutionary engine, never silently stuck on a false zero gradient."""

from __future__ import annotations

import pytest
from scipy import stats

from tests.solver.test_engines import _book
from xl_lesson3.errors import SolverModelError
from xl_lesson3.solver import solve

# t.cdf(a, 5) = 0.9 and b = -0.7: an optimum scipy knows independently of our engine
OBJECTIVE = "=(T.DIST(A1,5,TRUE)-0.9)^2+(B1+0.7)^2"


@pytest.mark.parametrize(("engine", "name"), [(1, "grg"), (2, "simplex")], ids=["grg", "simplex"])
def test_gradient_engines_name_the_cell_and_function(make_workbook, engine, name):
    book = _book(make_workbook, f"tdist-{name}", OBJECTIVE, engine=engine)
    with pytest.raises(
        SolverModelError, match=r"s!D1: T\.DIST: computed without gradients.*evolutionary"
    ):
        solve(book)


def test_evolutionary_engine_trains_through_it(make_workbook):
    book = _book(make_workbook, "tdist-evo", OBJECTIVE, engine=3)
    result = solve(book)
    a, b = (result.values[c] for c in result.model.variables)
    assert a == pytest.approx(stats.t.ppf(0.9, 5), abs=1e-3)
    assert b == pytest.approx(-0.7, abs=1e-3)


def test_a_gradient_free_function_of_constants_only_is_fine(make_workbook):
    # T.DIST of a constant folds into the program; the gradient engine trains the rest
    book = _book(make_workbook, "tdist-const", "=(A1-T.DIST(1,5,TRUE))^2+(B1+0.7)^2", engine=1)
    result = solve(book)
    a, b = (result.values[c] for c in result.model.variables)
    assert a == pytest.approx(stats.t.cdf(1, 5), abs=1e-6)
    assert b == pytest.approx(-0.7, abs=1e-6)
