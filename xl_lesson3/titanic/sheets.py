"""Write the Titanic workbook's sheets with openpyxl: values, formulas, tables and formatting.

Only the layout lives here; where each cell goes is decided in `layout`, and the formulas'
cached results are added afterwards by the builder (openpyxl cannot store a formula together
with its result).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from xl_lesson3.titanic.layout import (
    DATA_TABLE,
    DERIVED_FORMULAS,
    FIRST_DATA_ROW,
    HEADER_ROW,
    HINT_ROW,
    INPUT_COLUMNS,
    LOSS_COL,
    LOSS_LABEL_COL,
    LOSS_ROW,
    MMULT_PARAM_LABEL_COL,
    RAW_COLUMNS,
    TABLE_COLUMNS,
    TITLE_ROW,
    ModelSheet,
    col,
    mmult_formula,
    mmult_ref,
)

PARAM_FILL = PatternFill("solid", fgColor="FFF2CC")  # the cells Solver changes
LOSS_FILL = PatternFill("solid", fgColor="FCE4D6")  # the cell Solver minimises
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")  # headers outside a table
BOLD = Font(bold=True)
NUMBER_FORMATS = {
    "Age": "0.0#",
    "Fare": "0.00",
    "Age_N": "0.000",
    "log_Fare": "0.000",
}
PARAM_FORMAT = "0.0000"
LOSS_FORMAT = "0.000000"


def _python(value: object) -> object:
    """A CSV value as openpyxl should store it: NaN → empty cell, numpy scalars → Python."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return value


def _write_value(ws: Worksheet, row: int, column: int, value: object) -> None:
    """A data value; text that starts with "=" stays text instead of becoming a formula."""
    cell = ws.cell(row, column, _python(value))
    if isinstance(cell.value, str) and cell.value.startswith("="):
        cell.data_type = "s"


def _set_widths(ws: Worksheet, widths: dict[int, float]) -> None:
    for index, width in widths.items():
        ws.column_dimensions[col(index)].width = width


def _text_width(values: list[object], minimum: float = 8, maximum: float = 45) -> float:
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    return min(max(minimum, longest + 2), maximum)


def write_data_sheet(ws: Worksheet, raw: pd.DataFrame) -> None:
    """The raw CSV as an Excel table named `DATA_TABLE`, missing values left empty."""
    headers = [str(name) for name in raw.columns]
    ws.append(headers)
    for row, record in enumerate(raw.itertuples(index=False), start=2):
        for column, value in enumerate(record, start=1):
            _write_value(ws, row, column, value)
    last = f"{col(len(headers))}{len(raw) + 1}"
    table = Table(displayName=DATA_TABLE, ref=f"A1:{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "A2"
    sample = raw.head(200)
    _set_widths(
        ws,
        {i + 1: _text_width([h, *sample[h].tolist()]) + 2 for i, h in enumerate(raw.columns)},
    )


def write_model_sheet(
    ws: Worksheet, layout: ModelSheet, table: pd.DataFrame, params: np.ndarray
) -> None:
    """One model sheet: title, total loss, parameter block, the data table and model columns.

    `table`: the cleaned passengers (`RAW_COLUMNS`); `params`: linear (10,), nnet (2, 10) or
    mmult (10, 2), in the shape of `layout.params`.
    """
    n_rows = len(table)
    _write_header_block(ws, layout, n_rows)
    _write_params(ws, layout, params)
    _write_table_columns(ws, layout, table)
    _write_model_columns(ws, layout, n_rows)
    last_col = layout.first_model_col + len(layout.model_columns) - 1
    table_last_col = last_col if layout.in_table else len(TABLE_COLUMNS)
    ref = f"A{HEADER_ROW}:{col(table_last_col)}{layout.last_row(n_rows)}"
    excel_table = Table(displayName=layout.table, ref=ref)
    excel_table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(excel_table)
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"
    widths = {i: max(9.0, len(h) + 4.0) for i, h in enumerate(TABLE_COLUMNS, start=1)}
    widths[LOSS_LABEL_COL] = 11
    widths.update({layout.first_model_col + i: 10.0 for i in range(len(layout.model_columns))})
    _set_widths(ws, widths)


def _write_header_block(ws: Worksheet, layout: ModelSheet, n_rows: int) -> None:
    ws.cell(TITLE_ROW, 1, layout.title).font = Font(bold=True, size=13)
    ws.cell(LOSS_ROW, LOSS_LABEL_COL, "Total loss").font = BOLD
    loss = ws.cell(LOSS_ROW, LOSS_COL, layout.loss_formula(n_rows))
    loss.font, loss.fill, loss.number_format = BOLD, LOSS_FILL, LOSS_FORMAT
    hint = (
        f"Train: Data ▸ Solver (the model is saved on this sheet: minimise B{LOSS_ROW} by "
        f"changing {layout.params.coordinate}), or run "
        f"xl-lesson3 solve workbooks/titanic.xlsx --sheet {layout.name}"
    )
    ws.cell(HINT_ROW, 1, hint).font = Font(italic=True, color="595959")


def _write_params(ws: Worksheet, layout: ModelSheet, params: np.ndarray) -> None:
    block = layout.params
    values = np.asarray(params, dtype=np.float64).reshape(block.shape)
    for i, row in enumerate(range(block.min_row, block.max_row + 1)):
        for j, column in enumerate(range(block.min_col, block.max_col + 1)):
            cell = ws.cell(row, column, float(values[i, j]))
            cell.fill, cell.number_format = PARAM_FILL, PARAM_FORMAT
    if layout.in_table:  # rows of parameters above the input columns, labelled on the left
        for i, row in enumerate(range(block.min_row, block.max_row + 1)):
            label = "Params" if block.shape[0] == 1 else f"Params {i + 1}"
            cell = ws.cell(row, block.min_col - 1, label)
            cell.font, cell.alignment = BOLD, Alignment(horizontal="right")
        return
    # mmult: a 10×2 block beside the table, one row per input, one column per hidden unit
    headers = ("Input", "Params 1", "Params 2")
    for offset, text in enumerate(headers):
        _header_cell(ws, HEADER_ROW, MMULT_PARAM_LABEL_COL + offset, text)
    for i, name in enumerate(INPUT_COLUMNS):
        ws.cell(block.min_row + i, MMULT_PARAM_LABEL_COL, name).font = BOLD
    _set_widths(ws, {MMULT_PARAM_LABEL_COL: 10, block.min_col: 10, block.max_col: 10})


def _header_cell(ws: Worksheet, row: int, column: int, text: str) -> None:
    cell = ws.cell(row, column, text)
    cell.font, cell.fill = BOLD, HEADER_FILL


def _write_table_columns(ws: Worksheet, layout: ModelSheet, table: pd.DataFrame) -> None:
    """Header row, the passengers' values, the derived formulas and the Ones column."""
    for index, name in enumerate(TABLE_COLUMNS, start=1):
        ws.cell(HEADER_ROW, index, name)
    raw_values = [table[name].tolist() for name in RAW_COLUMNS]
    formulas = [f.format(t=layout.table) for f in DERIVED_FORMULAS.values()]
    formats = [NUMBER_FORMATS.get(name) for name in TABLE_COLUMNS]
    ones_col = len(TABLE_COLUMNS)
    for i in range(len(table)):
        row = FIRST_DATA_ROW + i
        for j, values in enumerate(raw_values, start=1):
            _write_value(ws, row, j, values[i])
        for j, formula in enumerate(formulas, start=len(RAW_COLUMNS) + 1):
            ws.cell(row, j, formula)
        ws.cell(row, ones_col, 1)
        for j, number_format in enumerate(formats, start=1):
            if number_format:
                ws.cell(row, j).number_format = number_format


def _write_model_columns(ws: Worksheet, layout: ModelSheet, n_rows: int) -> None:
    for offset, column in enumerate(layout.model_columns):
        index = layout.first_model_col + offset
        if layout.in_table:
            ws.cell(HEADER_ROW, index, column.header)
        else:
            _header_cell(ws, HEADER_ROW, index, column.header)
        for row in range(FIRST_DATA_ROW, FIRST_DATA_ROW + n_rows):
            cell = ws.cell(row, index, column.formula(row) if column.template else None)
            cell.number_format = column.number_format
    if layout.name == "mmult":
        ref = mmult_ref(n_rows)
        ws.cell(ref.min_row, ref.min_col).value = ArrayFormula(
            ref.coordinate, mmult_formula(n_rows)
        )


def write_about_sheet(ws: Worksheet, lines: list[str]) -> None:
    """The About sheet: a title and one paragraph per row."""
    ws.cell(1, 1, lines[0]).font = Font(bold=True, size=14)
    for row, line in enumerate(lines[1:], start=2):
        cell = ws.cell(row, 1, line or None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if line.endswith(":") and len(line) < 60:
            cell.font = BOLD
    ws.column_dimensions["A"].width = 110


def select_sheet(wb: Workbook, name: str) -> None:
    """Make `name` the sheet Excel opens on (and the only selected tab)."""
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = ws.title == name
    wb.active = wb.sheetnames.index(name)
