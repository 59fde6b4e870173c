"""Outcomes in Excel Solver's words, exit statuses, and where each option came from."""

from __future__ import annotations

import json

import pytest

from tests.solver.fixtures import _c, _save
from xl_lesson3.cli import main
from xl_lesson3.errors import BadInputError
from xl_lesson3.solver import solve


def _two_cells(
    make_workbook,
    name,
    constraints,
    engine=1,
    objective="=(A1-1)^2+(B1-2)^2",
    goal="min",
    options=None,
    non_negative=False,
):
    """s!A1:B1 changing, s!C1 = A1+B1, s!D1 the objective."""
    cells = {"s!A1": 0.0, "s!B1": 0.0, "s!C1": "=A1+B1", "s!D1": objective}
    return _save(
        make_workbook,
        cells,
        name,
        sheet="s",
        objective="s!D1",
        changing=["s!A1:B1"],
        goal=goal,
        constraints=constraints,
        engine=engine,
        non_negative=non_negative,
        options=options or {},
    )


def _run_json(capsys, *args) -> tuple[int, dict]:
    status = main(["solve", *map(str, args), "--json"])
    return status, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("engine", "objective", "code"),
    [(1, "=(A1-1)^2+(B1-2)^2", 5), (2, "=A1+2*B1", 5)],
    ids=["grg-augmented-lagrangian", "simplex"],
)
def test_no_feasible_point_exits_1_names_the_worst_row_and_writes_nothing(
    make_workbook, capsys, engine, objective, code
):
    rows = (_c("s!C1", ">=", 10.0), _c("s!C1", "<=", 4.0))
    book = _two_cells(make_workbook, "infeasible", rows, engine=engine, objective=objective)
    status, payload = _run_json(capsys, book)
    assert status == 1 and payload["output"] is None and payload["code"] == code
    assert payload["message"] == "Solver could not find a feasible solution."
    assert not book.with_name("infeasible-solved.xlsx").exists()
    assert "worst: s!C1" in payload["detail"] and not payload["feasible"]


def test_formula_constraint_with_the_augmented_lagrangian(make_workbook):
    # min (a-1)^2 + (b-2)^2 with a + b <= 1: the answer is (0, 1), objective 2, binding.
    book = _two_cells(make_workbook, "al", (_c("s!C1", "<=", 1.0),))
    result = solve(book)
    assert [result.values[c] for c in result.model.variables] == pytest.approx([0, 1], abs=1e-6)
    assert result.final == pytest.approx(2.0, rel=1e-6)
    (row,) = result.constraints
    assert row.status == "Binding" and row.slack == pytest.approx(0.0, abs=1e-6)


def test_unbounded_lp_does_not_converge(make_workbook, capsys):
    book = _two_cells(
        make_workbook, "unbounded", (), engine=2, objective="=A1+B1", goal="max", non_negative=True
    )
    status, payload = _run_json(capsys, book)
    assert status == 1 and payload["code"] == 4
    assert payload["message"] == "The Objective Cell values do not converge."


def test_simplex_refuses_a_nonlinear_model(make_workbook, capsys):
    book = _two_cells(make_workbook, "nonlinear", (), engine=2)
    status, payload = _run_json(capsys, book)
    assert status == 1 and payload["code"] == 7 and payload["output"] is None
    assert "linearity conditions" in payload["message"]


def test_sgd_creeping_upward_exits_1_and_writes_nothing(make_workbook, capsys):
    # 60 a^2: each step multiplies a by 1 - 2*60*0.018 = -1.16, so the loss grows by 35% a step
    # without ever reaching the divergence threshold in 30 steps.
    cells = {"s!A1": 1.0, "s!B1": "=60*A1^2"}
    book = make_workbook(cells, name="creep.xlsx")
    args = ["--objective", "s!B1", "--changing", "s!A1", "--method", "sgd", "--lr", "0.018"]
    status, payload = _run_json(capsys, book, *args, "--steps", "30")
    assert status == 1 and payload["output"] is None and not payload["improved"]
    assert payload["code"] == 2 and payload["final"] == payload["initial"] == 60.0
    assert not book.with_name("creep-solved.xlsx").exists()


def test_options_come_from_the_model_then_the_cli(make_workbook, capsys):
    stored = {"solver_msl": "1", "solver_ssz": "7", "solver_rsd": "3", "solver_itr": "50"}
    book = _two_cells(make_workbook, "options", (), options=stored)
    status, payload = _run_json(capsys, book, "--method", "lbfgs", "--seed", "5", "--dry-run")
    assert status == 0
    options = payload["options"]
    assert options["restarts"] == {"value": 7, "from": "model"}
    assert options["seed"] == {"value": 5, "from": "cli"}
    assert options["max_steps"] == {"value": 50, "from": "model"}
    assert options["engine"] == {"value": "grg", "from": "model"}
    assert options["max_time"] == {"value": None, "from": "default"}
    assert payload["restarts"] == 7


def test_time_limit_stops_the_run(make_workbook):
    cells = {"s!A1": 0.3, "s!B1": "=ABS(A1-1)+ABS(A1+1)*0.5"}
    book = make_workbook(cells, name="time.xlsx")
    result = solve(
        book, objective="s!B1", changing=["s!A1"], method="adam", steps=10**7, tol=0.0, max_time=0.5
    )
    assert result.outcome.code == 10 and result.status == "stopped at the time limit"


@pytest.mark.parametrize("target", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_a_target_value_must_be_finite(make_workbook, target):
    book = _two_cells(make_workbook, "target", ())
    with pytest.raises(BadInputError, match=r"^--value: the target must be a finite number"):
        solve(book, goal=target)
