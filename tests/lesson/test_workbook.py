"""lesson3.xlsx: sheets, formulas, cached values, Solver models; checked against numpy,
LibreOffice and our formula engine."""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from tests import libreoffice
from xl_lesson3.cli import main
from xl_lesson3.lesson.data import quadratic_data, relu_target
from xl_lesson3.lesson.workbook import build_lesson_workbook

LESSON_DATA = np.array([[1, 2, 1], [0, 1, 1], [2, 3, 1]], dtype=float)
LESSON_COEFFS = np.array([[2, 5], [6, 7], [1, 8]], dtype=float)


@pytest.fixture(scope="module")
def book_path(tmp_path_factory):
    return build_lesson_workbook(tmp_path_factory.mktemp("lesson") / "lesson3.xlsx", 42)


@pytest.fixture(scope="module")
def formulas(book_path):
    return openpyxl.load_workbook(book_path)


@pytest.fixture(scope="module")
def cached(book_path):
    return openpyxl.load_workbook(book_path, data_only=True)


def _column(ws, coordinates: str) -> np.ndarray:
    return np.array([row[0].value for row in ws[coordinates]], dtype=float)


def _block(ws, coordinates: str) -> np.ndarray:
    return np.array([[cell.value for cell in row] for row in ws[coordinates]], dtype=float)


def _formula_cells(book: openpyxl.Workbook) -> list[tuple[str, str]]:
    """(sheet, coordinate) of every formula cell, every cell of an array formula's block included."""
    found = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, ArrayFormula):
                    found += [(ws.title, c.coordinate) for r in ws[cell.value.ref] for c in r]
                elif isinstance(cell.value, str) and cell.value.startswith("="):
                    found.append((ws.title, cell.coordinate))
    return found


def test_sheets(formulas):
    assert formulas.sheetnames == ["quadratic", "relu", "matmul"]
    assert len(formulas["quadratic"]._charts) == 1
    assert len(formulas["relu"]._charts) == 2


def test_quadratic_sheet(formulas, cached):
    ws, values = formulas["quadratic"], cached["quadratic"]
    data = quadratic_data(42)
    np.testing.assert_array_equal(_column(ws, "A4:A23"), data.x)
    np.testing.assert_array_equal(_column(ws, "B4:B23"), data.y)
    assert [ws[f"G{r}"].value for r in (4, 5, 6)] == ["a", "b", "c"]
    assert [ws[f"H{r}"].value for r in (4, 5, 6)] == [1.5, 1.5, 1.5]
    assert ws["C4"].value == "=$H$4*A4^2+$H$5*A4+$H$6"
    assert ws["C23"].value == "=$H$4*A23^2+$H$5*A23+$H$6"
    assert (ws["G8"].value, ws["H8"].value) == ("MSE", "=AVERAGE(D4:D23)")
    assert (ws["G9"].value, ws["H9"].value) == ("MAE", "=AVERAGE(E4:E23)")
    residual = 1.5 * data.x**2 + 1.5 * data.x + 1.5 - data.y
    np.testing.assert_allclose(_column(values, "C4:C23"), residual + data.y, rtol=1e-14)
    assert values["H8"].value == pytest.approx(np.mean(residual**2), rel=1e-14)
    assert values["H9"].value == pytest.approx(np.mean(np.abs(residual)), rel=1e-14)


def test_relu_sheet(formulas, cached):
    ws, values = formulas["relu"], cached["relu"]
    data = relu_target()
    np.testing.assert_array_equal(_column(ws, "A8:A68"), data.x)
    np.testing.assert_array_equal(_column(ws, "B8:B68"), data.y)
    assert ws["C8"].value == "=MAX(0,$C$3*A8+$C$4)"
    assert ws["F8"].value == "=D8+E8"
    assert ws["G8"].value == "=G$5*MAX(0,G$3*$A8+G$4)"
    assert ws["R8"].value == "=R$5*MAX(0,R$3*$A8+R$4)"  # 12 units: G .. R
    assert ws["S8"].value == "=SUM(G8:R8)+$S$3"
    assert (ws["T2"].value, ws["T3"].value) == ("MSE", "=AVERAGE(T8:T68)")
    # Kinks (x = -b/m) spread evenly inside [-3, 3]; output weights and c start at 0.
    m, b, w = (_block(ws, f"G{row}:R{row}")[0] for row in (3, 4, 5))
    np.testing.assert_allclose(np.sort(-b / m), np.linspace(-3, 3, 14)[1:-1], atol=1e-12)
    assert w.tolist() == [0.0] * 12 and ws["S3"].value == 0
    # Cached values, recomputed here from the sheet's own parameters.
    single = np.maximum(0, ws["C3"].value * data.x + ws["C4"].value)
    double = sum(np.maximum(0, ws[f"{c}3"].value * data.x + ws[f"{c}4"].value) for c in "DE")
    np.testing.assert_allclose(_column(values, "C8:C68"), single, rtol=1e-15)
    np.testing.assert_allclose(_column(values, "F8:F68"), double, rtol=1e-15)
    np.testing.assert_array_equal(_column(values, "S8:S68"), np.zeros(61))
    assert values["T3"].value == pytest.approx(np.mean(data.y**2), rel=1e-14)


def test_matmul_blocks_agree_with_numpy(formulas, cached):
    ws, values = formulas["matmul"], cached["matmul"]
    np.testing.assert_array_equal(_block(ws, "A4:C6"), LESSON_DATA)
    np.testing.assert_array_equal(_block(ws, "E4:F6"), LESSON_COEFFS)
    mmult = ws["H4"].value
    assert isinstance(mmult, ArrayFormula)
    assert mmult.ref == "H4:I6" and mmult.text == "=MMULT(A4:C6,E4:F6)"
    assert ws["K4"].value.startswith("=SUMPRODUCT(")
    expected = LESSON_DATA @ LESSON_COEFFS
    np.testing.assert_array_equal(_block(values, "H4:I6"), expected)
    np.testing.assert_array_equal(_block(values, "K4:L6"), expected)
    assert formulas["matmul"]["K10"].value == "=SUMXMY2(H4:I6,K4:L6)"
    assert values["K10"].value == 0


def test_solver_models(formulas):
    def names(sheet):
        return {n: d for n, d in formulas[sheet].defined_names.items() if n.startswith("solver_")}

    quadratic, relu = names("quadratic"), names("relu")
    assert quadratic["solver_opt"].attr_text == "quadratic!$H$8"
    assert quadratic["solver_adj"].attr_text == "quadratic!$H$4:$H$6"
    assert quadratic["solver_typ"].attr_text == "2"  # minimise
    assert relu["solver_opt"].attr_text == "relu!$T$3"
    assert relu["solver_adj"].attr_text == "relu!$G$5:$R$5,relu!$S$3"
    assert all(name.hidden for name in [*quadratic.values(), *relu.values()])
    assert not any(n.startswith("solver_") for n in formulas["matmul"].defined_names)


def _cells(book: openpyxl.Workbook) -> dict:
    return {
        (ws.title, cell.coordinate): getattr(cell.value, "text", cell.value)
        for ws in book.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.value is not None
    }


def test_same_seed_same_cells_other_seed_other_data(tmp_path, book_path, formulas, cached):
    again = tmp_path / "again.xlsx"
    assert main(["build", "lesson", "--out", str(again), "--seed", "42"]) == 0
    assert _cells(openpyxl.load_workbook(again)) == _cells(formulas)
    assert _cells(openpyxl.load_workbook(again, data_only=True)) == _cells(cached)
    other = openpyxl.load_workbook(build_lesson_workbook(tmp_path / "other.xlsx", 3))
    np.testing.assert_array_equal(_column(other["quadratic"], "B4:B23"), quadratic_data(3).y)
    assert (
        _column(other["quadratic"], "B4:B23").tolist()
        != _column(formulas["quadratic"], "B4:B23").tolist()
    )


def test_engine_recalculation_equals_cached_values(book_path, formulas, cached):
    from xl_lesson3.formula.evaluate.recalc import evaluate_workbook
    from xl_lesson3.workbook.address import CellAddress
    from xl_lesson3.workbook.load import load_workbook

    model = load_workbook(book_path)
    computed = evaluate_workbook(model)
    cells = _formula_cells(formulas)
    for sheet, coordinate in cells:
        value = computed[CellAddress.parse(coordinate, sheet)]
        assert value == pytest.approx(cached[sheet][coordinate].value, rel=1e-12, abs=1e-14), (
            f"{sheet}!{coordinate}"
        )
    assert len(cells) > 900


@pytest.mark.libreoffice
def test_libreoffice_recalculation_equals_cached_values(book_path, formulas, cached):
    recalculated = libreoffice.recalculate(book_path)
    cells = _formula_cells(formulas)
    for sheet, coordinate in cells:
        assert recalculated[sheet][coordinate].value == pytest.approx(
            cached[sheet][coordinate].value, rel=1e-12, abs=1e-14
        ), f"{sheet}!{coordinate}"
    assert len(cells) > 900


def test_committed_workbook_is_current(repo_root, formulas, cached):
    # Rebuilt here vs committed: least squares (LAPACK) may differ in the last bits between
    # machines, so numbers are compared with a tolerance.
    committed = repo_root / "workbooks" / "lesson3.xlsx"
    for fresh, data_only in ((formulas, False), (cached, True)):
        old, new = _cells(openpyxl.load_workbook(committed, data_only=data_only)), _cells(fresh)
        assert old.keys() == new.keys()
        for key, value in new.items():
            if isinstance(value, float):
                assert old[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
            else:
                assert old[key] == value, key
