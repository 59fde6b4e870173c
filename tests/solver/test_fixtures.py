"""Each fixture reaches its independent optimum with the engine its stored model asks for.

LP/MILP exactly (to HiGHS's and our float tolerance), nonlinear within 1e-6 relative; every
constraint holds; the written workbook, re-read and recalculated by our engine, gives the
reported objective.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.solver import fixtures
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.solver import solve, write_solution
from xl_lesson3.workbook.load import load_workbook

CASES = [
    # builder, engine reported, relative tolerance on the optimum, restarts (solver_msl/ssz)
    (fixtures.portfolio, "grg", 1e-6, 1),
    (fixtures.transport, "simplex", 1e-9, 1),
    (fixtures.knapsack, "simplex", 1e-12, 1),
    (fixtures.curve_fit, "grg", 1e-6, 1),
    (fixtures.logistic, "grg", 1e-6, 1),
    # non-convex: references are the best of 8 independent torch starts; with
    # every rating present that is also the closed-form global optimum
    # (test_collab_reference_is_the_global_optimum); why 1e-6 holds: fixtures.py
    (fixtures.collab_index, "grg", 1e-6, 1),
    (fixtures.collab_index_rows, "grg", 1e-6, 1),
    (fixtures.collab_index_sparse, "grg", 1e-6, 8),
]


@pytest.mark.parametrize(
    ("build", "engine", "rtol", "restarts"),
    CASES,
    ids=[
        "portfolio",
        "transport",
        "knapsack",
        "curve-fit",
        "logistic",
        "collab-index-match",
        "collab-sumproduct-index-rows",
        "collab-sparse-multistart",
    ],
)
def test_fixture_reaches_its_independent_optimum(
    make_workbook, tmp_path, build, engine, rtol, restarts
):
    path, optimum = build(make_workbook)
    result = solve(path)
    assert result.engine == engine
    assert result.restarts == restarts
    assert result.final == pytest.approx(optimum, rel=rtol, abs=1e-12)
    assert result.feasible and not result.failed
    assert all(row.status != "Violated" for row in result.constraints)
    for row in result.constraints:
        assert row.slack >= -1e-6 * max(1.0, abs(row.rhs)) or row.relation == "="
    out = write_solution(result, tmp_path / "solved.xlsx")
    (recalculated,) = evaluate_cells(load_workbook(out), [result.objective])
    assert recalculated == pytest.approx(result.final, rel=1e-9, abs=1e-12)


def test_knapsack_cells_are_binary(make_workbook):
    path, _ = fixtures.knapsack(make_workbook)
    result = solve(path)
    assert set(result.values.values()) <= {0.0, 1.0}
    assert result.outcome.code == 14  # "found an integer solution within tolerance"


def test_transport_reports_binding_supply_and_demand(make_workbook):
    path, _ = fixtures.transport(make_workbook)
    result = solve(path)
    by_cell = {str(row.cell): row for row in result.constraints}
    # Total demand 530 < supply 550: every demand row binds, one supply row has slack 20.
    assert [by_cell[f"t!{c}4"].status for c in "BCD"] == ["Binding"] * 3
    slacks = sorted(by_cell[f"t!E{r}"].slack for r in (2, 3))
    assert slacks == pytest.approx([0.0, 20.0], abs=1e-9)
    assert result.outcome.code == 0


def test_integer_cells_of_a_linear_grg_model_go_to_the_milp(make_workbook, tmp_path):
    path, best = fixtures.knapsack(make_workbook)
    result = solve(path, engine="grg")
    assert result.engine == "simplex" and result.method == "simplex (HiGHS MILP)"
    assert result.final == best
    assert result.options["engine"] == {"value": "grg", "from": "cli"}


def test_collab_reference_is_the_global_optimum():
    """Every (user, movie) pair is rated, so the best rank-3 fit of the 8x8 ratings grid is its
    truncated SVD (Eckart-Young): the torch script's best start is the global minimum."""
    grid = np.zeros((fixtures.CF_USERS, fixtures.CF_MOVIES))
    grid[fixtures.CF_PAIRS[:, 0], fixtures.CF_PAIRS[:, 1]] = fixtures.CF_RATINGS
    singular = np.linalg.svd(grid, compute_uv=False)
    floor = np.sqrt((singular[fixtures.CF_FACTORS :] ** 2).sum() / grid.size)
    assert fixtures.collab_reference(False) == pytest.approx(floor, rel=1e-9)


@pytest.mark.parametrize("sparse", [False, True], ids=["all-ratings", "sparse"])
def test_collab_sheet_starts_where_the_torch_script_starts(make_workbook, sparse):
    """The INDEX/MATCH look-ups pick the same factors as the script's plain indexing."""
    path, _ = fixtures.collab_index(make_workbook, sparse=sparse)
    (start,) = evaluate_cells(load_workbook(path), ["cf!K1"])
    users = torch.tensor(fixtures.CF_START_U)
    movies = torch.tensor(fixtures.CF_START_M)
    expected = float(fixtures.cf_torch_rmse(users, movies, sparse))
    assert start == pytest.approx(expected, rel=1e-12)
    assert start > 5 * fixtures.collab_reference(sparse)  # the optimum is far from the start
