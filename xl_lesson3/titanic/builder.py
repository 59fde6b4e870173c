"""Build the Titanic workbook: clean the CSV, lay out the sheets, add cached results and Solver.

Two passes, because openpyxl can write a formula or a value into a cell but not both: openpyxl
writes the sheets (formulas, tables, formatting) to a draft file, then `patch_workbook` adds every
formula's cached result (computed in `models`) and the Solver models' hidden names while copying
the draft to the destination atomically. Nothing is written until the CSV has been read and
checked, and a failure never leaves a partial workbook behind.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

from xl_lesson3.errors import BadInputError, WorkbookIOError
from xl_lesson3.solver.excel_model import SolverModel, solver_defined_names
from xl_lesson3.titanic import DEFAULT_SEED
from xl_lesson3.titanic.about import about_lines
from xl_lesson3.titanic.data import clean, read_raw, shipped_csv
from xl_lesson3.titanic.layout import (
    DERIVED_FORMULAS,
    FIRST_DATA_ROW,
    MODEL_LAYOUTS,
    SHEETS,
    TABLE_COLUMNS,
    ModelSheet,
)
from xl_lesson3.titanic.models import (
    ModelValues,
    Parameters,
    derived_columns,
    input_matrix,
    linear_model,
    neural_net,
)
from xl_lesson3.titanic.sheets import (
    select_sheet,
    write_about_sheet,
    write_data_sheet,
    write_model_sheet,
)
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.xlsx_patch import patch_workbook


@dataclass(frozen=True)
class TitanicWorkbook:
    """What `build_titanic_workbook` wrote: the file, its seed, row count and total losses."""

    path: Path
    seed: int
    n_rows: int
    losses: dict[str, float]  # model sheet -> its total loss (B2)


def build_titanic_workbook(
    out: Path, *, csv: Path | None = None, seed: int = DEFAULT_SEED
) -> TitanicWorkbook:
    """Write the lesson's Titanic workbook to `out` (see `xl_lesson3.titanic.layout`).

    `csv`: Kaggle's ``train.csv`` or None for the copy shipped with the package. `seed` makes the
    parameters' ``RAND()-0.5`` starting values reproducible. Raises `BadInputError` subclasses
    for an unreadable or incomplete CSV and an unwritable `out`.
    """
    out = Path(out)
    if seed < 0:
        raise BadInputError(f"--seed: must be 0 or more, got {seed}")
    _check_output_folder(out)
    source = Path(csv) if csv is not None else shipped_csv()
    raw = read_raw(source)
    table = clean(raw, source)
    derived = derived_columns(table)
    params = Parameters.from_seed(seed)
    results = _model_values(table, derived, params)

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = "Titanic survival (fast.ai lesson 3)"
    wb.properties.creator = f"xl-lesson3 build titanic --seed {seed}"
    for name in SHEETS:
        wb.create_sheet(name)
    write_data_sheet(wb["data"], raw)
    sheet_params = {"linear": params.linear, "nnet": params.nnet, "mmult": params.mmult}
    for name, layout in MODEL_LAYOUTS.items():
        write_model_sheet(wb[name], layout, table, sheet_params[name])
    csv_name = source.name if csv is not None else "train.csv"
    lines = about_lines(seed=seed, n_raw=len(raw), n_rows=len(table), csv_name=csv_name)
    write_about_sheet(wb["About"], lines)
    select_sheet(wb, "About")

    cached: dict[CellAddress, object] = {}
    names: dict[tuple[str, str | None], str] = {}
    for name, layout in MODEL_LAYOUTS.items():
        cached.update(_cached_values(layout, derived, results[name]))
        names.update(_solver_names(layout))
    with tempfile.TemporaryDirectory(prefix="xl-lesson3-build-") as tmp:
        draft = Path(tmp) / "draft.xlsx"
        wb.save(draft)
        patch_workbook(draft, out, values=cached, defined_names=names)
    losses = {name: result.total_loss for name, result in results.items()}
    return TitanicWorkbook(out, seed, len(table), losses)


def _check_output_folder(out: Path) -> None:
    """Fail before the slow part when `out` cannot possibly be written."""
    if not out.parent.is_dir():
        raise WorkbookIOError(f"{out}: cannot write: folder {out.parent} does not exist")
    if out.is_dir():
        raise WorkbookIOError(f"{out}: cannot write: it is a folder")


def _model_values(
    table: pd.DataFrame, derived: pd.DataFrame, params: Parameters
) -> dict[str, ModelValues]:
    inputs = input_matrix(table, derived)  # (n_rows, 10)
    survived = table["Survived"].to_numpy(dtype=np.float64)
    return {
        "linear": linear_model(inputs, params.linear, survived),
        "nnet": neural_net(inputs, params.nnet, survived),
        "mmult": neural_net(inputs, params.mmult.T, survived),
    }


def _cached_values(
    layout: ModelSheet, derived: pd.DataFrame, result: ModelValues
) -> dict[CellAddress, object]:
    """Every formula cell of one model sheet → its result."""
    values: dict[CellAddress, object] = {layout.loss_cell: result.total_loss}
    for name in DERIVED_FORMULAS:
        column = TABLE_COLUMNS.index(name) + 1
        values.update(_column_cells(layout.name, column, derived[name].to_numpy()))
    for offset, model_column in enumerate(layout.model_columns):
        column = layout.first_model_col + offset
        values.update(_column_cells(layout.name, column, result.columns[model_column.header]))
    return values


def _column_cells(sheet: str, column: int, values: np.ndarray) -> dict[CellAddress, object]:
    return {
        CellAddress(sheet, FIRST_DATA_ROW + i, column): value
        for i, value in enumerate(values.tolist())
    }


def _solver_names(layout: ModelSheet) -> dict[tuple[str, str | None], str]:
    """The sheet's Solver model (minimise the total loss by changing the parameters)."""
    model = SolverModel(
        sheet=layout.name,
        objective=layout.loss_cell,
        changing=(layout.params,),
        goal="min",
        non_negative=False,  # the lesson unticks "Make Unconstrained Variables Non-Negative"
    )
    return {(name, layout.name): text for name, text in solver_defined_names(model).items()}
