"""The solve API on small workbooks, checked against closed forms (numpy polyfit, calculus)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from xl_lesson3.errors import DeviceError, SolverModelError, UnknownReferenceError
from xl_lesson3.solver import CancelFit, Constraint, SolverModel, save_model, solve, threads
from xl_lesson3.workbook import spare_core
from xl_lesson3.workbook.address import CellAddress, RangeAddress

XS = np.linspace(-2.0, 3.0, 15)
YS = 1.5 * XS**2 - 2.0 * XS + 0.3 + np.random.default_rng(0).normal(0.0, 0.3, XS.size)


def quadratic_cells() -> dict[str, object]:
    """a*x^2 + b*x + c fitted to (XS, YS) by mean squared error, parameters in A1:C1."""
    cells: dict[str, object] = {"fit!A1": 1.0, "fit!B1": 1.0, "fit!C1": 1.0}
    for row, (x, y) in enumerate(zip(XS, YS), start=3):
        cells[f"fit!A{row}"] = float(x)
        cells[f"fit!B{row}"] = float(y)
        cells[f"fit!C{row}"] = f"=($A$1*A{row}^2+$B$1*A{row}+$C$1-B{row})^2"
    cells["fit!E1"] = f"=AVERAGE(C3:C{XS.size + 2})"
    return cells


def _values(result, cells: str) -> list[float]:
    return [result.values[c] for c in RangeAddress.parse(cells).cells()]


@pytest.mark.parametrize("method", ["adam", "lbfgs"])
def test_quadratic_fit_recovers_polyfit(make_workbook, method):
    book = make_workbook(quadratic_cells())
    result = solve(book, objective="fit!E1", changing=["fit!A1:C1"], method=method)
    expected = np.polyfit(XS, YS, 2)
    best_mse = float(np.mean((np.polyval(expected, XS) - YS) ** 2))
    assert _values(result, "fit!A1:C1") == pytest.approx(expected, abs=1e-5)
    assert result.final == pytest.approx(best_mse, rel=1e-9)
    assert result.initial == pytest.approx(float(np.mean((XS**2 + XS + 1 - YS) ** 2)))
    assert result.improved and not result.diverged
    assert len(result.history) == result.iterations
    assert result.device == "cpu" or result.device.startswith("cuda")


def test_sgd_is_the_lessons_loop(make_workbook):
    book = make_workbook(quadratic_cells())
    result = solve(
        book,
        objective="fit!E1",
        changing=["fit!A1:C1"],
        method="sgd",
        lr=0.01,
        steps=3000,
        device="cpu",
    )
    assert _values(result, "fit!A1:C1") == pytest.approx(np.polyfit(XS, YS, 2), abs=1e-3)
    # plain gradient descent on a convex loss goes down at every step
    assert all(b <= a for a, b in zip(result.history, result.history[1:]))


@pytest.mark.parametrize("method", ["adam", "lbfgs", "sgd"])
def test_maximisation(make_workbook, method):
    cells = {"s!A1": 0.0, "s!B1": 0.0, "s!C1": "=5-(A1-3)^2-(B1+1)^2"}
    result = solve(
        make_workbook(cells),
        objective="s!C1",
        changing=["s!A1:B1"],
        goal="max",
        method=method,
        lr=0.1 if method != "lbfgs" else None,
        steps=2000,
    )
    assert _values(result, "s!A1:B1") == pytest.approx([3.0, -1.0], abs=1e-4)
    assert result.final == pytest.approx(5.0, abs=1e-8)
    assert result.initial == pytest.approx(-5.0)
    assert max(result.history) == pytest.approx(5.0, abs=1e-8)  # history is in the cell's units


@pytest.mark.parametrize("method", ["adam", "lbfgs"])
def test_value_of_target(make_workbook, method):
    cells = {"s!A1": 1.0, "s!B1": "=A1^3"}
    result = solve(
        make_workbook(cells), objective="s!B1", changing=["s!A1"], goal=27.0, method=method
    )
    assert result.values[CellAddress.parse("s!A1")] == pytest.approx(3.0, abs=1e-5)
    assert result.final == pytest.approx(27.0, abs=1e-4)


def _bounded_book(make_workbook, tmp_path, constraints, non_negative):
    # Unconstrained optimum: A1 = 5, B1 = -3, C1 = 2.
    cells = {
        "s!A1": 0.5,
        "s!B1": 0.5,
        "s!C1": 0.5,
        "s!D1": 1.5,
        "s!E1": 0,
        "s!F1": "=(A1-5)^2+(B1+3)^2+(C1-2)^2",
    }
    path = make_workbook(cells)
    model = SolverModel(
        sheet="s",
        objective=CellAddress.parse("s!F1"),
        changing=(RangeAddress.parse("s!A1:C1"),),
        constraints=constraints,
        non_negative=non_negative,
    )
    save_model(path, model)
    return path


@pytest.mark.parametrize("method", ["adam", "lbfgs", "sgd"])
def test_bounds_and_solver_neg_hold_at_the_answer(make_workbook, tmp_path, method):
    constraints = (
        Constraint(RangeAddress.parse("s!A1"), "<=", CellAddress.parse("s!D1")),  # A1 <= 1.5
        Constraint(RangeAddress.parse("s!C1"), ">=", 2.5),
    )
    path = _bounded_book(make_workbook, tmp_path, constraints, non_negative=True)
    result = solve(
        path, sheet="s", method=method, restarts=4, lr=0.05 if method == "sgd" else None, steps=2000
    )
    # B1 has no lower bound of its own, so solver_neg gives it 0.
    assert _values(result, "s!A1:C1") == pytest.approx([1.5, 0.0, 2.5], abs=1e-6)
    assert result.final == pytest.approx(3.5**2 + 9 + 0.25, abs=1e-6)


def test_equality_constraint_and_explicit_lower_bound_beat_solver_neg(make_workbook, tmp_path):
    constraints = (
        Constraint(RangeAddress.parse("s!B1"), ">=", -1.0),  # explicit, so not 0
        Constraint(RangeAddress.parse("s!A1"), "=", 4.0),
    )
    path = _bounded_book(make_workbook, tmp_path, constraints, non_negative=True)
    result = solve(path, sheet="s", method="lbfgs")
    assert _values(result, "s!A1:C1") == pytest.approx([4.0, -1.0, 2.0], abs=1e-6)


def test_multistart_escapes_the_workbooks_local_minimum(make_workbook):
    # (x^2-1)^2 + 0.3x: the workbook starts in the right-hand (worse) well.
    cells = {"s!A1": 1.0, "s!B1": "=(A1^2-1)^2+0.3*A1"}
    one = solve(make_workbook(cells), objective="s!B1", changing=["s!A1"], method="lbfgs")
    many = solve(
        make_workbook(cells), objective="s!B1", changing=["s!A1"], method="lbfgs", restarts=16
    )
    assert one.values[CellAddress.parse("s!A1")] > 0.5
    assert many.values[CellAddress.parse("s!A1")] < -0.5
    assert many.final < one.final and many.restarts == 16


def test_restarts_are_seeded(make_workbook):
    cells = {"s!A1": 1.0, "s!B1": "=(A1^2-1)^2+0.3*A1"}
    book = make_workbook(cells)
    runs = [
        solve(
            book,
            objective="s!B1",
            changing=["s!A1"],
            restarts=8,
            seed=seed,
            steps=20,
            method="adam",
        )
        for seed in (3, 3, 4)
    ]
    assert runs[0].values == runs[1].values != runs[2].values


def test_sgd_with_too_big_a_learning_rate_diverges(make_workbook):
    book = make_workbook(quadratic_cells())
    result = solve(book, objective="fit!E1", changing=["fit!A1:C1"], method="sgd", lr=10.0)
    assert result.diverged and result.failed and not result.improved
    assert result.status.startswith("diverged at step ")
    assert "try a smaller learning rate" in result.status
    assert result.final == result.initial  # nothing better: the workbook's values are kept
    assert math.isfinite(result.final)


def test_callback_sees_progress_and_can_stop(make_workbook):
    book = make_workbook(quadratic_cells())
    seen = []

    def on_progress(progress):
        seen.append(progress)
        if progress.step == 5:
            raise CancelFit("stopped by the user")

    result = solve(
        book, objective="fit!E1", changing=["fit!A1:C1"], method="lbfgs", callback=on_progress
    )
    assert [p.step for p in seen] == [1, 2, 3, 4, 5]
    assert result.iterations == 5 and result.status == "stopped by the user"
    assert seen[-1].objective <= seen[0].objective


def test_float32(make_workbook):
    book = make_workbook(quadratic_cells())
    result = solve(
        book, objective="fit!E1", changing=["fit!A1:C1"], method="lbfgs", dtype=torch.float32
    )
    assert _values(result, "fit!A1:C1") == pytest.approx(np.polyfit(XS, YS, 2), abs=1e-3)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"objective": "nope!B1", "changing": ["nope!A1"]},
            UnknownReferenceError,
            "nope: no such sheet",
        ),
        (
            {"objective": "s!B1", "changing": ["s!B1"]},
            SolverModelError,
            "s!B1: changing cells must hold values, not formulas",
        ),
        (
            {"objective": "s!A1", "changing": ["s!C1"]},
            SolverModelError,
            "s!A1: the objective holds no formula",
        ),
        (
            {"objective": "s!D1", "changing": ["s!A1"]},
            SolverModelError,
            "s!D1: the objective does not depend on the changing cells (s!A1)",
        ),
        (
            {"objective": "s!B1", "changing": ["s!E1"]},
            SolverModelError,
            "s!E1: changing cells must hold numbers, found 'text'",
        ),
        ({"sheet": "s"}, SolverModelError, "s: no Solver model on this sheet"),
        ({}, SolverModelError, "choose a sheet or give the objective and changing cells"),
    ],
    ids=[
        "unknown-sheet",
        "formula-changing",
        "constant-objective",
        "independent-objective",
        "text-changing",
        "no-model",
        "no-sheet",
    ],
)
def test_bad_input(make_workbook, kwargs, error, message):
    cells = {"s!A1": 1.0, "s!C1": 2.0, "s!B1": "=A1^2", "s!D1": "=C1*2", "s!E1": "text"}
    with pytest.raises(error) as info:
        solve(make_workbook(cells), **kwargs)
    assert message in str(info.value)


def test_integer_constraint_on_a_formula_cell_is_refused(make_workbook, tmp_path):
    constraints = (Constraint(RangeAddress.parse("s!F1"), "int"),)
    path = _bounded_book(make_workbook, tmp_path, constraints, non_negative=False)
    with pytest.raises(SolverModelError, match=r"^s!F1: integer constraint on a cell that is not"):
        solve(path, sheet="s")


def test_contradictory_bounds(make_workbook, tmp_path):
    constraints = (
        Constraint(RangeAddress.parse("s!A1"), "<=", 1.0),
        Constraint(RangeAddress.parse("s!A1"), ">=", 2.0),
    )
    path = _bounded_book(make_workbook, tmp_path, constraints, non_negative=False)
    with pytest.raises(SolverModelError, match=r"^s!A1: the constraints leave no feasible value"):
        solve(path, sheet="s")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda(make_workbook):
    with pytest.raises(DeviceError, match="^--device cuda: CUDA is not available"):
        solve(
            make_workbook(quadratic_cells()),
            objective="fit!E1",
            changing=["fit!A1:C1"],
            device="cuda",
        )


@pytest.mark.gpu
def test_cuda_matches_cpu(make_workbook):
    book = make_workbook(quadratic_cells())
    cpu = solve(book, objective="fit!E1", changing=["fit!A1:C1"], method="lbfgs", device="cpu")
    gpu = solve(book, objective="fit!E1", changing=["fit!A1:C1"], method="lbfgs", device="cuda")
    assert gpu.device.startswith("cuda")
    assert gpu.final == pytest.approx(cpu.final, rel=1e-9)


def test_cpu_threads_are_restored(make_workbook):
    before = torch.get_num_threads()
    solve(
        make_workbook(quadratic_cells()),
        objective="fit!E1",
        changing=["fit!A1:C1"],
        steps=3,
        cpu_threads=1,
    )
    assert torch.get_num_threads() == before


def _threads_seen(book, restarts: int) -> set[int]:
    """torch's thread counts seen by the progress callback of an auto-threaded solve."""
    seen: set[int] = set()
    solve(
        book,
        objective="fit!E1",
        changing=["fit!D1"],
        method="adam",
        steps=2,
        restarts=restarts,
        callback=lambda _progress: seen.add(torch.get_num_threads()),
    )
    return seen


@pytest.mark.parametrize("restarts", [4, 512])
def test_auto_threads_follow_the_size_of_each_call(make_workbook, restarts):
    """A column of 2,048 formulas: 4 restarts keep one thread; 512 (a million numbers per
    call) may take the idle cores; torch's own setting is back afterwards."""
    cells: dict[str, object] = {"fit!D1": 0.5}
    for row in range(1, 2049):
        cells[f"fit!A{row}"] = row / 2048
        cells[f"fit!B{row}"] = f"=(A{row}-$D$1)^2"
    cells["fit!E1"] = "=SUM(B1:B2048)"
    book = make_workbook(cells)
    before = torch.get_num_threads()
    seen = _threads_seen(book, restarts)
    assert len(seen) == 1
    if restarts == 4:
        assert seen == {1}
    else:
        assert 1 <= seen.pop() <= spare_core.usable_cores()
    assert torch.get_num_threads() == before


def test_auto_threads_rule():
    assert threads.auto_threads(256, 712) == 1  # the Titanic net at 256 restarts
    assert threads.auto_threads(1, threads.PARALLEL_FROM - 1) == 1
    assert spare_core.threads_for(1.0, 2) == 2  # a quiet 2-core machine
    assert spare_core.threads_for(0.6, 2) == 2
    assert spare_core.threads_for(0.3, 2) == 1  # the other core busy
    assert spare_core.threads_for(0.0, 1) == 1
    assert spare_core.threads_for(2.7, 16) == 4  # ours and three idle cores
    assert spare_core.threads_for(15.0, 8) == 8  # never beyond what we may use
