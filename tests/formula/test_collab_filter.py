"""The course's collaborative-filtering sheet: embeddings looked up with MATCH and OFFSET train.

The acceptance test of issue 12: a workbook in the shape of fast.ai's ``collab_filter.xlsx``
(see `collab`) is evaluated, differentiated and trained from its own Solver model, and every
figure is checked against an independent torch script on the same data (``nn.Embedding``-style
indexing, ``torch.optim.LBFGS``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.formula.collab import SHEET, collab_data, write_collab_workbook
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.solver import solve
from xl_lesson3.solver.problem import build_problem
from xl_lesson3.workbook.load import load_workbook


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    data = collab_data()
    return data, write_collab_workbook(tmp_path_factory.mktemp("collab") / "collab.xlsx", data)


def _torch_loss(data, users: torch.Tensor, movies: torch.Tensor) -> torch.Tensor:
    """The sheet's RMSE written directly in torch: the reference."""
    index_u, index_m = torch.as_tensor(data.users), torch.as_tensor(data.movies)
    predictions = (users[index_u] * movies[index_m]).sum(1)
    return (predictions - torch.as_tensor(data.ratings)).pow(2).mean().sqrt()


def test_the_sheet_evaluates_like_the_torch_script(book):
    data, path = book
    model = load_workbook(path)
    last = len(data.ratings) + 1
    rmse, user_row, movie_row = evaluate_cells(
        model, [f"{SHEET}!AB1", f"{SHEET}!D{last}:H{last}", f"{SHEET}!I2:M2"]
    )
    expected = _torch_loss(data, torch.tensor(data.user_factors), torch.tensor(data.movie_factors))
    assert rmse == pytest.approx(float(expected), rel=1e-12)
    assert user_row[0] == pytest.approx(data.user_factors[data.users[-1]].tolist(), rel=1e-12)
    assert movie_row[0] == pytest.approx(data.movie_factors[data.movies[0]].tolist(), rel=1e-12)


def test_gradients_flow_through_the_lookups(book):
    data, path = book
    model = load_workbook(path)
    problem = build_problem(model, sheet=SHEET)
    program = compile_program(model, problem.model.objective, problem.variables)
    params = program.initial[None].clone().requires_grad_()
    program(params).sum().backward()
    users = torch.tensor(data.user_factors, requires_grad=True)
    movies = torch.tensor(data.movie_factors, requires_grad=True)
    _torch_loss(data, users, movies).backward()
    expected = torch.cat([users.grad.reshape(-1), movies.grad.reshape(-1)])
    assert torch.allclose(params.grad[0], expected, rtol=1e-10, atol=1e-13)
    assert (expected != 0).sum() > 100  # the picked factors really get gradients


def test_the_lookups_stay_vectorised(tmp_path):
    """A run of copied array formulas is one unit: more ratings, the same tensor operations."""
    counts = []
    for keep in (0.4, 0.9):
        path = write_collab_workbook(tmp_path / f"c{keep}.xlsx", collab_data(seed=1, keep=keep))
        model = load_workbook(path)
        problem = build_problem(model, sheet=SHEET)
        program = compile_program(model, problem.model.objective, problem.variables)
        counts.append((program.op_count, len(program.plan.units)))
    assert counts[0] == counts[1]
    assert counts[0][1] == 4  # user factors, movie factors, predictions, objective


def test_solver_model_trains_to_the_torch_optimum(book):
    data, path = book
    result = solve(path, method="lbfgs", steps=400)
    users = torch.tensor(data.user_factors, requires_grad=True)
    movies = torch.tensor(data.movie_factors, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [users, movies],
        max_iter=2000,
        tolerance_grad=1e-12,
        tolerance_change=1e-15,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        loss = _torch_loss(data, users, movies)
        loss.backward()
        return loss

    optimizer.step(closure)
    reference = float(_torch_loss(data, users, movies).detach())
    assert result.initial == pytest.approx(
        float(_torch_loss(data, torch.tensor(data.user_factors), torch.tensor(data.movie_factors))),
        rel=1e-12,
    )
    assert reference < 0.5 * result.initial  # the reference really trained
    assert result.final == pytest.approx(reference, rel=1e-4)
    trained = np.array([result.values[cell] for cell in result.model.variables])
    assert np.isfinite(trained).all()
