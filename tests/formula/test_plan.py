"""Planning: runs of copied formulas, array blocks, order, cycles, unsupported functions."""

from __future__ import annotations

import pytest

from xl_lesson3.errors import CircularReferenceError, FormulaSyntaxError, UnsupportedFunctionError
from xl_lesson3.formula.evaluate.recalc import evaluate_cells, plan_for
from xl_lesson3.formula.functions.core import registry
from xl_lesson3.formula.plan.units import build_plan
from xl_lesson3.formula.scalars import ErrorCode, ExcelError
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.model import ArrayFormula, Table, WorkbookModel


def column(n: int, formula: str, col: str = "B", first: int = 1) -> dict[str, str]:
    """`formula` with {r} (this row) and {p} (previous row) filled in, down rows first..n."""
    return {f"S!{col}{r}": formula.format(r=r, p=r - 1) for r in range(first, first + n)}


def test_copied_formulas_form_one_run_and_arrays_one_block():
    cells = {f"S!A{r}": r for r in range(1, 11)}
    cells |= column(10, "=A{r}*$D$1")
    cells |= column(10, "=B{r}+1", col="C")
    cells["S!D1"] = 3
    cells["S!E1"] = "=SUM(C1:C10)"
    arrays = [ArrayFormula(RangeAddress.parse("S!F1:F10"), "=B1:B10*2")]
    model = WorkbookModel.from_cells(cells, array_formulas=arrays)
    plan = plan_for(model, [CellAddress("S", 1, 5), RangeAddress.parse("S!F1:F10")])
    outputs = [str(unit.output) for unit in plan.units]
    assert sorted(outputs) == ["S!B1:B10", "S!C1:C10", "S!E1", "S!F1:F10"]
    assert outputs.index("S!B1:B10") < outputs.index("S!C1:C10") < outputs.index("S!E1")
    array = plan.unit_of(CellAddress("S", 7, 6))
    assert array.is_array and array.length == 1 and array.output.shape == (10, 1)


def test_a_run_stops_where_the_formula_changes():
    cells = column(5, "=A{r}*2") | {"S!B3": "=A3*3"}
    plan = plan_for(WorkbookModel.from_cells(cells), [RangeAddress.parse("S!B1:B5")])
    assert sorted(str(u.output) for u in plan.units) == ["S!B1:B2", "S!B3", "S!B4:B5"]


def test_growing_ranges_are_not_grouped():
    cells = {f"S!A{r}": r for r in range(1, 6)} | column(5, "=SUM($A$1:A{r})")
    model = WorkbookModel.from_cells(cells)
    plan = plan_for(model, [RangeAddress.parse("S!B1:B5")])
    assert len(plan.units) == 5
    assert evaluate_cells(model, ["S!B1:B5"]) == [[[1.0], [3.0], [6.0], [10.0], [15.0]]]


def test_a_running_total_is_split_and_ordered():
    cells = {f"S!A{r}": r for r in range(1, 7)} | {"S!B1": "=A1"}
    cells |= column(5, "=B{p}+A{r}", first=2)
    model = WorkbookModel.from_cells(cells)
    assert evaluate_cells(model, ["S!B6"]) == [21.0]


def test_a_chain_of_thousands_of_cells_needs_no_recursion():
    n = 3000
    cells = {"S!A1": 1} | column(n - 1, "=A{p}+1", col="A", first=2)
    model = WorkbookModel.from_cells(cells)
    assert evaluate_cells(model, [f"S!A{n}"]) == [float(n)]


def test_zig_zag_runs_are_split_rather_than_reported_as_cycles():
    # B2 = C1, C2 = B1, ...: no cell depends on itself, but the two runs depend on each other.
    cells = {"S!B1": 1, "S!C1": 2} | column(4, "=C{p}+1", first=2)
    cells |= column(4, "=B{p}+1", col="C", first=2)
    model = WorkbookModel.from_cells(cells)
    assert evaluate_cells(model, ["S!B5", "S!C5"]) == [5.0, 6.0]


@pytest.mark.parametrize(
    ("cells", "target", "message"),
    [
        (
            {"S!A1": "=B1+1", "S!B1": "=A1*2"},
            "S!A1",
            "S!A1: circular reference: S!A1 → S!B1 → S!A1",
        ),
        ({"S!A1": "=A1+1"}, "S!A1", "S!A1: circular reference: S!A1 → S!A1"),
        (
            {"S!C1": "=A1", "S!A1": "=SUM(B1:B3)", "S!B2": "=C1"},
            "S!C1",
            "circular reference: S!A1 → S!B2 → S!C1 → S!A1",
        ),
    ],
)
def test_circular_references_name_the_cycle(cells, target, message):
    with pytest.raises(CircularReferenceError, match=message):
        plan_for(WorkbookModel.from_cells(cells), [CellAddress.parse(target)])


def test_a_cycle_through_an_array_formula():
    arrays = [ArrayFormula(RangeAddress.parse("S!B1:B2"), "=A1:A2*2")]
    model = WorkbookModel.from_cells({"S!A1": 1, "S!A2": "=B1"}, array_formulas=arrays)
    with pytest.raises(CircularReferenceError, match="S!A2 → S!B1 → S!A2|S!B1 → S!A2 → S!B1"):
        plan_for(model, [CellAddress("S", 2, 2)])


def test_unsupported_functions_are_reported_together_with_what_is_supported():
    cells = {"S!A1": "=WEBSERVICE(1)", "S!A2": "=FOO(1)+WEBSERVICE(2)", "S!A3": "=A1+A2"}
    with pytest.raises(UnsupportedFunctionError) as info:
        plan_for(WorkbookModel.from_cells(cells), [CellAddress("S", 3, 1)])
    message = str(info.value)
    assert message.startswith("S!A1: WEBSERVICE is not supported")
    assert "also unsupported: S!A2: FOO" in message
    assert "(supported: " in message and "AVERAGE, " in message and "SUMPRODUCT" in message


def test_unparsable_formulas_matter_only_when_needed():
    model = WorkbookModel.from_cells({"S!A1": 2, "S!B1": "=A1*3", "S!C1": "=SUM(A1"})
    assert evaluate_cells(model, ["S!B1"]) == [6.0]
    with pytest.raises(FormulaSyntaxError, match="S!C1: formula ends too early"):
        evaluate_cells(model, ["S!C1"])


def test_plan_checks_functions_only_with_a_catalog():
    model = WorkbookModel.from_cells({"S!A1": "=NOSUCH(1)"})
    plan = build_plan(model, [CellAddress("S", 1, 1)])  # parse and plan need no registry
    assert len(plan.units) == 1
    with pytest.raises(UnsupportedFunctionError):
        build_plan(model, [CellAddress("S", 1, 1)], functions=registry)


def test_parse_and_plan_never_import_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from xl_lesson3.formula.plan.units import build_plan\n"
        "from xl_lesson3.workbook.model import WorkbookModel\n"
        "from xl_lesson3.workbook.address import CellAddress\n"
        "m = WorkbookModel.from_cells({'S!A1': 1, 'S!B1': '=SUM(A1)*2'})\n"
        "build_plan(m, [CellAddress('S', 1, 2)])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_only_the_needed_rows_of_a_long_run_are_planned():
    cells = {f"S!A{r}": r for r in range(1, 11)} | column(10, "=A{r}*2")
    cells["S!C1"] = "=SUM(B7:B8)"
    model = WorkbookModel.from_cells(cells)
    plan = plan_for(model, [RangeAddress.parse("S!B3:B5"), CellAddress("S", 1, 3)])
    assert sorted(str(u.output) for u in plan.units) == ["S!B3:B5", "S!B7:B8", "S!C1"]
    assert evaluate_cells(model, ["S!B4:B5", "S!C1"]) == [[[8.0], [10.0]], 30.0]


def test_a_cycle_in_rows_nobody_needs_does_not_matter():
    # A1 and A2 are one copied formula; only A2 sits on a cycle (A2 → B2 → A2).
    model = WorkbookModel.from_cells({"S!A1": "=B1", "S!A2": "=B2", "S!B1": 4, "S!B2": "=A2"})
    assert evaluate_cells(model, ["S!A1"]) == [4.0]
    with pytest.raises(CircularReferenceError, match="S!A2 → S!B2 → S!A2"):
        plan_for(model, [CellAddress("S", 2, 1)])


def test_runs_split_where_this_row_leaves_the_table():
    table = Table("T", RangeAddress.parse("S!A1:A4"), ("X",))
    cells = {"S!A1": "X", "S!A2": 1, "S!A3": 2, "S!A4": 3}
    cells |= column(5, "=T[[#This Row],[X]]*2", col="C", first=2)  # rows 5 and 6: outside
    model = WorkbookModel.from_cells(cells, tables=[table])
    plan = plan_for(model, [RangeAddress.parse("S!C2:C6")])
    assert sorted(str(u.output) for u in plan.units) == ["S!C2:C4", "S!C5:C6"]
    value_error = ExcelError(ErrorCode.VALUE)
    expected = [[[2.0], [4.0], [6.0], [value_error], [value_error]]]
    assert evaluate_cells(model, ["S!C2:C6"]) == expected
