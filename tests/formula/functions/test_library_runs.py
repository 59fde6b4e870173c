"""The function library inside the engine: vectorised runs, compiled gradients, volatile cells.

Expected values are computed here in plain Python from the same inputs (the engine's own
code is never the reference).
"""

from __future__ import annotations

import datetime as dt

import pytest
import torch

from xl_lesson3.errors import EvaluationError
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.formula.evaluate.recalc import evaluate_cells, evaluate_workbook
from xl_lesson3.formula.functions.math.rounding import seed_volatile
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load import load_workbook

NAMES = ["ann", "bob", "ann", "cy", "bob", "ann", "dee", "cy"]
SERIALS = [43831, 43890, 44196, 36526, 45000, 18264, 40000, 43000]


def _cell(sheet: str, a1: str) -> CellAddress:
    return CellAddress.parse(f"{sheet}!{a1}")


def _run_book(make_workbook):
    cells = {}
    for i, (name, serial) in enumerate(zip(NAMES, SERIALS), start=2):
        cells[f"S!A{i}"] = name
        cells[f"S!B{i}"] = serial
        cells[f"S!C{i}"] = f"=COUNTIF($A$2:$A$9,A{i})"  # one run: a criterion per row
        cells[f"S!D{i}"] = f"=YEAR(B{i})*100+MONTH(B{i})"
        cells[f"S!E{i}"] = f'=UPPER(LEFT(A{i},2))&TEXT(B{i},"-yyyy")'
        cells[f"S!F{i}"] = f"=SUMIF($A$2:$A$9,A{i},$B$2:$B$9)"
    return load_workbook(make_workbook(cells))


def _year_month(serial: int) -> float:
    day = dt.date(1899, 12, 30) + dt.timedelta(days=serial)
    return day.year * 100 + day.month


def test_runs_of_library_functions_evaluate_row_by_row(make_workbook):
    values = evaluate_workbook(_run_book(make_workbook))
    for i, (name, serial) in enumerate(zip(NAMES, SERIALS), start=2):
        day = dt.date(1899, 12, 30) + dt.timedelta(days=serial)
        assert values[_cell("S", f"C{i}")] == NAMES.count(name)
        assert values[_cell("S", f"D{i}")] == _year_month(serial)
        assert values[_cell("S", f"E{i}")] == f"{name[:2].upper()}-{day.year}"
        expected = sum(s for n, s in zip(NAMES, SERIALS) if n == name)
        assert values[_cell("S", f"F{i}")] == expected


def test_a_run_is_one_plan_unit(make_workbook):
    """COUNTIF down eight rows with a per-row criterion is planned as one vectorised unit."""
    from xl_lesson3.formula.evaluate.recalc import plan_for
    from xl_lesson3.workbook.address import RangeAddress

    model = _run_book(make_workbook)
    plan = plan_for(model, [RangeAddress.parse("S!C2:C9")])
    counting = [unit for unit in plan.units if unit.output.min_col == 3]
    assert len(counting) == 1 and counting[0].length == len(NAMES)


def test_sumif_trains_the_values_it_selects(make_workbook):
    """d SUMIF(A, ">2", B) / dB is 1 where A > 2 and 0 elsewhere; the criteria get none."""
    keys = [1, 3, 5, 2, 4]
    cells = {f"S!A{i}": k for i, k in enumerate(keys, start=1)}
    cells |= {f"S!B{i}": float(i) for i in range(1, 6)}
    cells["S!C1"] = '=SUMIF(A1:A5,">2",B1:B5)*STDEV(B1:B5)'
    model = load_workbook(make_workbook(cells))
    variables = [_cell("S", f"B{i}") for i in range(1, 6)]
    program = compile_program(model, _cell("S", "C1"), variables)
    params = program.initial.clone().reshape(1, -1).requires_grad_()
    program(params).sum().backward()
    b = torch.arange(1.0, 6.0, dtype=torch.float64).requires_grad_()
    mask = torch.tensor([float(k > 2) for k in keys], dtype=torch.float64)
    ((b * mask).sum() * b.std()).backward()
    assert torch.allclose(params.grad.reshape(-1), b.grad, rtol=1e-12, atol=1e-12)


def test_text_of_the_changing_cells_cannot_differ_between_restarts(make_workbook):
    cells = {"S!A1": 1.0, "S!B1": '=LEN(TEXT(A1,"0.00"))+A1'}
    model = load_workbook(make_workbook(cells))
    program = compile_program(model, _cell("S", "B1"), [_cell("S", "A1")])
    assert program(torch.tensor([[1.0]], dtype=torch.float64)).item() == pytest.approx(5.0)
    with pytest.raises(EvaluationError, match="S!B1"):
        program(torch.tensor([[1.0], [22.0]], dtype=torch.float64))


def test_volatile_functions(make_workbook):
    cells = {
        "S!A1": "=RAND()",
        "S!A2": "=RANDBETWEEN(1,6)",
        "S!A3": "=TODAY()",
        "S!A4": "=NOW()-TODAY()",
    }
    model = load_workbook(make_workbook(cells))
    seed_volatile(7)
    first = evaluate_cells(model, ["S!A1", "S!A2", "S!A3", "S!A4"])
    seed_volatile(7)
    again = evaluate_cells(model, ["S!A1", "S!A2"])
    assert 0 <= first[0] < 1 and first[1] in {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}
    assert again == first[:2]  # reproducible from the seed
    today = (dt.date.today() - dt.date(1899, 12, 30)).days
    assert first[2] in (today, today + 1)  # the test may straddle midnight
    assert 0 <= first[3] < 1
