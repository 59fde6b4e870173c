"""Acceptance: the lesson workbook's Solver models, solved by our solver, reach numpy's optimum."""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest

from xl_lesson3.lesson.workbook import build_lesson_workbook
from xl_lesson3.solver import solve
from xl_lesson3.workbook.address import CellAddress


@pytest.fixture(scope="module")
def book_path(tmp_path_factory):
    return build_lesson_workbook(tmp_path_factory.mktemp("solve") / "lesson3.xlsx", 42)


@pytest.fixture(scope="module")
def sheets(book_path):
    return openpyxl.load_workbook(book_path)


def _row(ws, coordinates: str) -> np.ndarray:
    return np.array([cell.value for cell in ws[coordinates][0]], dtype=float)


def _column(ws, coordinates: str) -> np.ndarray:
    return np.array([row[0].value for row in ws[coordinates]], dtype=float)


def test_quadratic_sheet_reaches_polyfit(book_path, sheets):
    ws = sheets["quadratic"]
    x, y = _column(ws, "A4:A23"), _column(ws, "B4:B23")
    coeffs = np.polyfit(x, y, 2)
    best_mse = np.mean((np.polyval(coeffs, x) - y) ** 2)

    result = solve(book_path, sheet="quadratic", method="lbfgs", device="cpu")

    assert result.objective == CellAddress("quadratic", 8, 8)  # H8, from the sheet's Solver model
    assert result.initial > 3 * best_mse
    assert abs(result.final - best_mse) < 1e-7
    found = [result.values[CellAddress("quadratic", row, 8)] for row in (4, 5, 6)]
    np.testing.assert_allclose(found, coeffs, atol=1e-4)


def test_relu_sheet_reaches_least_squares(book_path, sheets):
    # With the kinks fixed by the sheet's m and b, the best output weights w and constant c are
    # a linear least-squares problem: numpy's lstsq gives its exact optimum.
    ws = sheets["relu"]
    x, y = _column(ws, "A8:A68"), _column(ws, "B8:B68")
    m, b = _row(ws, "G3:R3"), _row(ws, "G4:R4")
    design = np.column_stack([np.maximum(0.0, np.outer(x, m) + b), np.ones_like(x)])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    best_mse = np.mean((design @ solution - y) ** 2)

    result = solve(book_path, sheet="relu", method="lbfgs", device="cpu")

    assert result.objective == CellAddress("relu", 3, 20)  # T3
    assert result.initial == pytest.approx(np.mean(y**2))  # all weights start at 0
    assert result.final == pytest.approx(best_mse, rel=1e-6)
    assert best_mse < 0.002  # twelve ReLUs follow sin(2x) closely
    found = [result.values[CellAddress("relu", 5, col)] for col in range(7, 19)]
    found.append(result.values[CellAddress("relu", 3, 19)])  # c in S3
    np.testing.assert_allclose(found, solution, atol=1e-3)
