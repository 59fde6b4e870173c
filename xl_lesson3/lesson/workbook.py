"""Build ``lesson3.xlsx``: the lesson's smaller exercises as spreadsheets a student can follow.

Sheets:

- ``quadratic``: the 20 noisy points of ``3x² + 2x + 1`` (the same data as ``xl-lesson3
  quadratic``), a, b, c at 1.5, a prediction column, MSE and MAE, a chart, and a Solver model
  (minimise the MSE by changing a, b, c);
- ``relu``: one ReLU ``MAX(0, m*x+b)``, a double ReLU, and a sum of 12 weighted ReLUs plus a
  constant to be fitted to ``sin(2x)`` (the target and model of ``xl-lesson3 relu``), with charts
  and a Solver model: minimise the sum's MSE by changing the output weights w and the constant c.
  The units' kinks stay where m and b put them (spread evenly), which makes the fit a linear
  least-squares problem with one exact optimum, so Solver's answer can be checked against numpy;
  the output weights start at 0 (a flat line). Adding the m and b rows to the changing cells lets
  Solver move the kinks too, a problem with many local optima (``xl-lesson3 relu`` does that by
  gradient descent);
- ``matmul``: the lesson's 3×3 by 3×2 product computed with an ``MMULT`` array formula and cell by
  cell with ``SUMPRODUCT``, side by side.

openpyxl writes formulas without results, so each formula's value is computed here with numpy,
right next to the formula text (`_Sheet.formula`), and patched into the saved file as the cell's
cached value by `xl_lesson3.workbook.xlsx_patch.patch_workbook`, together with each sheet's Solver
model names from `xl_lesson3.solver.excel_model.solver_defined_names`. Formulas use only operators,
``SUM``, ``AVERAGE``, ``ABS``, ``MAX``, ``MMULT``, ``SUMPRODUCT`` and ``SUMXMY2``, which Excel,
LibreOffice and our formula engine all compute.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.chart import Reference, ScatterChart, Series
from openpyxl.styles import Font
from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.lesson.data import (
    QUADRATIC_SEED,
    START_PARAMS,
    XYData,
    quadratic_data,
    relu_target,
)
from xl_lesson3.lesson.relu import ReluParams, spread_units
from xl_lesson3.solver.excel_model import SolverModel, solver_defined_names
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.xlsx_patch import patch_workbook

RELU_SHEET_UNITS = 12
MATMUL_DATA = ((1, 2, 1), (0, 1, 1), (2, 3, 1))
MATMUL_COEFFS = ((2, 5), (6, 7), (1, 8))
# Single and double ReLU demo parameters: the notebook's @interact starting values.
SINGLE_RELU = (1.5, 1.5)  # m, b
DOUBLE_RELU = ((-1.5, -1.5), (1.5, 1.5))  # (m1, b1), (m2, b2)
BOLD = Font(bold=True)
NUMBER_FORMAT = "0.0000"


class _Sheet:
    """One worksheet being written, with the numpy value of every formula it gets.

    `values` holds what the patch step writes: every formula's cached value, and every number
    again, because openpyxl writes numbers with 16 significant digits (``%.16g``), which does not
    always read back as the same double; the patch writes the shortest exact form.
    """

    def __init__(self, wb: openpyxl.Workbook, name: str) -> None:
        self.ws = wb.create_sheet(name)
        self.name = name
        self.values: dict[CellAddress, object] = {}

    def cell(self, coordinate: str) -> CellAddress:
        return CellAddress.parse(coordinate, self.name)

    def range(self, coordinate: str) -> RangeAddress:
        return RangeAddress.parse(coordinate, self.name)

    def label(self, coordinate: str, text: str, bold: bool = False) -> None:
        self.ws[coordinate] = text
        if bold:
            self.ws[coordinate].font = BOLD

    def number(self, coordinate: str, value: float) -> None:
        self.ws[coordinate] = float(value)
        self.values[self.cell(coordinate)] = float(value)

    def formula(self, coordinate: str, text: str, value: float) -> None:
        """Write formula `text` with `value` (numpy's result) as its cached value."""
        self.ws[coordinate] = text
        self.ws[coordinate].number_format = NUMBER_FORMAT
        self.values[self.cell(coordinate)] = float(value)

    def array_formula(self, ref: str, text: str, values: np.ndarray) -> None:
        """An array formula over block `ref` (legacy Ctrl+Shift+Enter), values (rows, cols)."""
        area = self.range(ref)
        self.ws[area.top_left.coordinate] = ArrayFormula(ref, text)
        for cell, value in zip(area.cells(), np.asarray(values, float).ravel()):
            self.ws[cell.coordinate].number_format = NUMBER_FORMAT
            self.values[cell] = float(value)

    def widths(self, **widths: float) -> None:
        for column, width in widths.items():
            self.ws.column_dimensions[column].width = width


def _scatter(title: str, x_title: str, y_title: str) -> ScatterChart:
    chart = ScatterChart(scatterStyle="lineMarker")
    chart.title = title
    chart.style = 13
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    # openpyxl marks axes deleted by default, which hides them in recent Excel versions.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.width, chart.height = 16, 9
    return chart


def _add_series(chart: ScatterChart, ws, x_ref: str, y_ref: str, title: str, points: bool) -> None:
    """A series of `chart`: markers only when `points`, otherwise a line without markers."""
    x_area, y_area = RangeAddress.parse(x_ref, ws.title), RangeAddress.parse(y_ref, ws.title)
    xs = Reference(ws, x_area.min_col, x_area.min_row, x_area.max_col, x_area.max_row)
    ys = Reference(ws, y_area.min_col, y_area.min_row, y_area.max_col, y_area.max_row)
    series = Series(ys, xs, title=title)
    if points:
        series.marker.symbol = "circle"
        series.graphicalProperties.line.noFill = True
    else:
        series.marker.symbol = "none"
        series.smooth = False
    chart.series.append(series)


def _quadratic_sheet(wb: openpyxl.Workbook, data: XYData, seed: int) -> tuple[_Sheet, SolverModel]:
    sheet = _Sheet(wb, "quadratic")
    first, last = 4, 3 + len(data)
    sheet.label("A1", "Fit a quadratic: prediction = a·x² + b·x + c", bold=True)
    for column, text in zip("ABCDE", ("x", "y", "prediction", "squared error", "absolute error")):
        sheet.label(f"{column}3", text, bold=True)
    sheet.label("G3", "parameter", bold=True)
    sheet.label("H3", "value", bold=True)
    for row, (name, start) in enumerate(zip("abc", START_PARAMS), start=4):
        sheet.label(f"G{row}", name)
        sheet.number(f"H{row}", start)
    a, b, c = START_PARAMS
    prediction = a * data.x**2 + b * data.x + c
    for i, row in enumerate(range(first, last + 1)):
        sheet.number(f"A{row}", data.x[i])
        sheet.number(f"B{row}", data.y[i])
        sheet.formula(f"C{row}", f"=$H$4*A{row}^2+$H$5*A{row}+$H$6", prediction[i])
        sheet.formula(f"D{row}", f"=(C{row}-B{row})^2", (prediction[i] - data.y[i]) ** 2)
        sheet.formula(f"E{row}", f"=ABS(C{row}-B{row})", abs(prediction[i] - data.y[i]))
    sheet.label("G8", "MSE", bold=True)
    sheet.formula("H8", f"=AVERAGE(D{first}:D{last})", np.mean((prediction - data.y) ** 2))
    sheet.label("G9", "MAE", bold=True)
    sheet.formula("H9", f"=AVERAGE(E{first}:E{last})", np.mean(np.abs(prediction - data.y)))
    notes = (
        f"Data: y = (3x² + 2x + 1)·(1 + N(0, 0.15²)) + N(0, 1.5²), numpy RandomState({seed}),",
        "the same points as `xl-lesson3 quadratic`.",
        "Solver: minimise the MSE (H8) by changing a, b, c (H4:H6).",
    )
    for row, text in enumerate(notes, start=11):
        sheet.label(f"G{row}", text)
    chart = _scatter("data and the current curve", "x", "y")
    _add_series(chart, sheet.ws, f"A{first}:A{last}", f"B{first}:B{last}", "data", points=True)
    _add_series(
        chart, sheet.ws, f"A{first}:A{last}", f"C{first}:C{last}", "a·x² + b·x + c", points=False
    )
    sheet.ws.add_chart(chart, "G15")
    sheet.widths(A=10, B=10, C=12, D=14, E=14, G=10, H=12)
    model = SolverModel("quadratic", sheet.cell("H8"), (sheet.range("H4:H6"),), goal="min")
    return sheet, model


def _relu_parameters(sheet: _Sheet, units: np.ndarray) -> None:
    """Rows 2-5 of the relu sheet: labels and the m, b (, w) of every ReLU, and c."""
    sheet.label("A3", "m", bold=True)
    sheet.label("A4", "b", bold=True)
    sheet.label("A5", "w (output weight)", bold=True)
    for column, text, (m, b) in zip(
        "CDE", ("single", "double: 1st", "double: 2nd"), (SINGLE_RELU, *DOUBLE_RELU)
    ):
        sheet.label(f"{column}2", text, bold=True)
        sheet.number(f"{column}3", m)
        sheet.number(f"{column}4", b)
    for i, (m, b, w) in enumerate(units):
        column = get_column_letter(7 + i)  # G, H, ...
        sheet.label(f"{column}2", f"unit {i + 1}", bold=True)
        sheet.number(f"{column}3", m)
        sheet.number(f"{column}4", b)
        sheet.number(f"{column}5", w)


def _relu_sheet(wb: openpyxl.Workbook, data: XYData) -> tuple[_Sheet, SolverModel]:
    sheet = _Sheet(wb, "relu")
    m, b = spread_units(data, RELU_SHEET_UNITS)
    params = ReluParams(m, b, w=np.zeros_like(m), c=0.0)  # before Solver: a flat line
    n_units = params.units
    first_unit, last_unit = "G", get_column_letter(6 + n_units)  # one column per unit
    sum_col, err_col = get_column_letter(7 + n_units), get_column_letter(8 + n_units)
    first, last = 8, 7 + len(data)
    sheet.label("A1", "ReLU: max(0, m·x + b). Any function, given enough of them.", bold=True)
    _relu_parameters(sheet, np.column_stack([params.m, params.b, params.w]))
    sheet.label(f"{sum_col}2", "c", bold=True)
    sheet.number(f"{sum_col}3", params.c)
    headers = ["x", "target sin(2x)", "single ReLU", "1st ReLU", "2nd ReLU", "double ReLU"]
    headers += [f"w·ReLU {i + 1}" for i in range(n_units)] + ["sum + c", "squared error"]
    for col, text in enumerate(headers, start=1):
        sheet.label(f"{get_column_letter(col)}7", text, bold=True)

    x = data.x
    single = np.maximum(0, SINGLE_RELU[0] * x + SINGLE_RELU[1])
    first_relu = np.maximum(0, DOUBLE_RELU[0][0] * x + DOUBLE_RELU[0][1])
    second_relu = np.maximum(0, DOUBLE_RELU[1][0] * x + DOUBLE_RELU[1][1])
    unit_values = params.unit_outputs(x)  # (n, units)
    total = unit_values.sum(axis=1) + params.c
    for i, row in enumerate(range(first, last + 1)):
        sheet.number(f"A{row}", x[i])
        sheet.number(f"B{row}", data.y[i])
        sheet.formula(f"C{row}", f"=MAX(0,$C$3*A{row}+$C$4)", single[i])
        sheet.formula(f"D{row}", f"=MAX(0,$D$3*A{row}+$D$4)", first_relu[i])
        sheet.formula(f"E{row}", f"=MAX(0,$E$3*A{row}+$E$4)", second_relu[i])
        sheet.formula(f"F{row}", f"=D{row}+E{row}", first_relu[i] + second_relu[i])
        for j in range(n_units):
            col = get_column_letter(7 + j)
            sheet.formula(
                f"{col}{row}", f"={col}$5*MAX(0,{col}$3*$A{row}+{col}$4)", unit_values[i, j]
            )
        sheet.formula(f"{sum_col}{row}", f"=SUM(G{row}:{last_unit}{row})+${sum_col}$3", total[i])
        sheet.formula(f"{err_col}{row}", f"=({sum_col}{row}-B{row})^2", (total[i] - data.y[i]) ** 2)
    sheet.label(f"{err_col}2", "MSE", bold=True)
    sheet.formula(
        f"{err_col}3", f"=AVERAGE({err_col}{first}:{err_col}{last})", np.mean((total - data.y) ** 2)
    )

    notes_col = get_column_letter(10 + n_units)
    notes = (
        f"Solver: minimise the MSE ({err_col}3) by changing the output weights w "
        + f"({first_unit}5:{last_unit}5) and c ({sum_col}3).",
        "The kinks (x = -b/m) stay put, spread evenly and facing alternately: the best w and c",
        "are then a linear least-squares problem with one answer, which Solver finds.",
        f"Add {first_unit}3:{last_unit}4 to the changing cells to move the kinks too (many local "
        + "optima).",
        "Same target and model as `xl-lesson3 relu`, which fits m, b, w and c by gradient descent.",
    )
    for row, text in enumerate(notes, start=1):
        sheet.label(f"{notes_col}{row}", text)
    demo = _scatter("a single ReLU and a double ReLU", "x", "y")
    _add_series(demo, sheet.ws, f"A{first}:A{last}", f"C{first}:C{last}", "single", points=False)
    _add_series(demo, sheet.ws, f"A{first}:A{last}", f"F{first}:F{last}", "double", points=False)
    sheet.ws.add_chart(demo, f"{notes_col}7")
    fit = _scatter(f"sin(2x) and the sum of {n_units} ReLUs", "x", "y")
    _add_series(fit, sheet.ws, f"A{first}:A{last}", f"B{first}:B{last}", "target", points=True)
    _add_series(
        fit,
        sheet.ws,
        f"A{first}:A{last}",
        f"{sum_col}{first}:{sum_col}{last}",
        "sum of ReLUs",
        points=False,
    )
    sheet.ws.add_chart(fit, f"{notes_col}26")
    sheet.widths(A=17, B=14)
    changing = (sheet.range(f"{first_unit}5:{last_unit}5"), sheet.range(f"{sum_col}3"))
    model = SolverModel("relu", sheet.cell(f"{err_col}3"), changing, goal="min")
    return sheet, model


def _matmul_sheet(wb: openpyxl.Workbook) -> _Sheet:
    sheet = _Sheet(wb, "matmul")
    data, coeffs = np.array(MATMUL_DATA, float), np.array(MATMUL_COEFFS, float)
    product = data @ coeffs
    sheet.label(
        "A1", "Matrix multiplication: MMULT, and the same cell by cell with SUMPRODUCT", bold=True
    )
    sheet.label("A3", "data (3×3)", bold=True)
    sheet.label("E3", "coefficients (3×2)", bold=True)
    sheet.label("H3", "MMULT(data, coefficients)", bold=True)
    sheet.label("K3", "SUMPRODUCT, cell by cell", bold=True)
    for (i, j), value in np.ndenumerate(data):
        sheet.number(f"{'ABC'[j]}{4 + i}", value)
    for (i, j), value in np.ndenumerate(coeffs):
        sheet.number(f"{'EF'[j]}{4 + i}", value)
    sheet.array_formula("H4:I6", "=MMULT(A4:C6,E4:F6)", product)
    # SUMPRODUCT multiplies two ranges of the same shape, so each column of the coefficients is
    # laid out as a row (E10:G11) to meet a row of the data.
    sheet.label("E9", "coefficients' columns as rows, for SUMPRODUCT", bold=True)
    for j in range(coeffs.shape[1]):
        for i in range(coeffs.shape[0]):
            sheet.formula(f"{'EFG'[i]}{10 + j}", f"={'EF'[j]}{4 + i}", coeffs[i, j])
    for i in range(data.shape[0]):
        for j in range(coeffs.shape[1]):
            sheet.formula(
                f"{'KL'[j]}{4 + i}",
                f"=SUMPRODUCT($A{4 + i}:$C{4 + i},$E${10 + j}:$G${10 + j})",
                data[i] @ coeffs[:, j],
            )
    sheet.label("K9", "MMULT − SUMPRODUCT, sum of squares (0 = the same)", bold=True)
    sheet.formula("K10", "=SUMXMY2(H4:I6,K4:L6)", 0.0)
    return sheet


def build_lesson_workbook(out: Path, seed: int = QUADRATIC_SEED) -> Path:
    """Write ``lesson3.xlsx`` to `out` (the quadratic data drawn with `seed`); returns `out`.

    The same seed always gives the same cells, formulas, cached values and Solver models.
    """
    out = Path(out)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    quadratic, quadratic_model = _quadratic_sheet(wb, quadratic_data(seed), seed)
    relu, relu_model = _relu_sheet(wb, relu_target())
    matmul = _matmul_sheet(wb)
    values = {**quadratic.values, **relu.values, **matmul.values}
    names = {
        (name, model.sheet): text
        for model in (quadratic_model, relu_model)
        for name, text in solver_defined_names(model).items()
    }
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="xl3-lesson-", dir=out.parent) as tmp:
            plain = Path(tmp) / "plain.xlsx"
            wb.save(plain)
            patch_workbook(plain, out, values=values, defined_names=names)
    except OSError as exc:
        raise WorkbookIOError(f"{out}: cannot write the workbook ({exc.strerror or exc})") from exc
    return out
