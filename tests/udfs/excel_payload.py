"""Build what the Lesson 3 add-in receives from Excel for a workbook: xlwings Server's book
payload (values, tables, names, selection) and the ribbon's formula payload.

The workbook is the lesson's Titanic workbook built from the first rows of the shipped CSV, so
tests stay fast. Values of formula cells are what Excel would show: the engine's recalculation
(LibreOffice-checked elsewhere), errors as their text, empty cells as "" as Office.js sends them.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pandas as pd
import xlwings as xw

from xl_lesson3.formula.scalars import ExcelError
from xl_lesson3.titanic.builder import build_titanic_workbook
from xl_lesson3.titanic.data import shipped_csv
from xl_lesson3.workbook.address import quote_sheet
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import WorkbookModel


def small_titanic(folder: Path, n_raw: int = 50, seed: int = 42) -> Path:
    """The Titanic workbook for the first `n_raw` passengers of the shipped CSV."""
    csv = folder / "train_head.csv"
    pd.read_csv(shipped_csv()).head(n_raw).to_csv(csv, index=False)
    return build_titanic_workbook(folder / "titanic_small.xlsx", csv=csv, seed=seed).path


@functools.cache
def shared_titanic_model() -> WorkbookModel:
    """`small_titanic` loaded with values, built once per test session (tests/udfs, tests/addin)."""
    with tempfile.TemporaryDirectory(prefix="xl-lesson3-payload-") as tmp:
        return load_with_values(small_titanic(Path(tmp)))


def load_with_values(path: Path) -> WorkbookModel:
    """The workbook's model with formula cells' values filled in by the engine, as Excel shows."""
    from xl_lesson3.formula.evaluate.recalc import evaluate_workbook
    from xl_lesson3.workbook.model import Cell

    model = load_workbook(path)
    values = evaluate_workbook(model)
    cells = dict(model.cells)
    for address, value in values.items():
        old = cells.get(address)
        cells[address] = Cell(address, value, old.formula if old else None)
    return WorkbookModel(
        model.sheet_names,
        cells,
        model.tables,
        model.defined_names,
        model.array_formulas,
        model.source_path,
    )


def office_payload(
    model: WorkbookModel,
    *,
    active_sheet: str,
    selection: str = "A1",
    extra_sheets: dict[str, list[list]] | None = None,
    arrays: str = "spill",
) -> tuple[dict, list[dict]]:
    """(xlwings Server's book payload, the ribbon's formula payload) for `model`.

    `arrays`: how Excel reports the model's array formulas. ``"spill"``: dynamic-array Excel,
    the formula on the anchor cell and its spill range (``getSpillingToRange``); ``"cse"``: a
    legacy array, the same formula text in every cell of the block (``range.formulas``).
    """
    sheets, formulas = [], []
    for name in model.sheet_names:
        used = model.used_range(name)
        values = [["" for _ in range(used.max_col)] for _ in range(used.max_row)]
        for address, cell in model.cells.items():
            if address.sheet != name:
                continue
            value = cell.value
            value = str(value) if isinstance(value, ExcelError) else value
            values[address.row - 1][address.col - 1] = "" if value is None else value
        sheets.append(_sheet(name, used.coordinate, values, _tables(model, name)))
        formulas.append(_formula_entry(model, name, arrays))
    for name, values in (extra_sheets or {}).items():
        end = f"{_col(len(values[0]))}{len(values)}"
        sheets.append(_sheet(name, f"A1:{end}", values, []))
        formulas.append({"sheet": name, "cells": {}, "spills": {}})
    payload = {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {
            "name": "titanic.xlsx",
            "active_sheet_index": [s["name"] for s in sheets].index(active_sheet),
            "selection": selection,
        },
        "names": _names(model),
        "sheets": sheets,
    }
    return payload, formulas


def _formula_entry(model: WorkbookModel, sheet: str, arrays: str) -> dict:
    """What ribbon.js sends for one sheet: formula cells only, and spill ranges."""
    if arrays not in ("spill", "cse"):
        raise ValueError(f"arrays: 'spill' or 'cse', got {arrays!r}")
    cells, spills = {}, {}
    for address, cell in model.cells.items():
        if address.sheet == sheet and cell.formula is not None:
            cells[address.coordinate] = cell.formula
    for anchor, array in model.array_formulas.items():
        if anchor.sheet != sheet:
            continue
        if arrays == "spill":
            spills[anchor.coordinate] = array.ref.coordinate
        else:
            for address in array.ref.cells():
                cells[address.coordinate] = array.text
    return {"sheet": sheet, "cells": cells, "spills": spills}


def empty_payload(sheet_names: tuple[str, ...] = ("Sheet1",)) -> dict:
    """The book payload of a new workbook whose sheets are all empty."""
    return {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {"name": "Book1.xlsx", "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": [_sheet(name, "A1", [[""]], []) for name in sheet_names],
    }


def _sheet(name: str, address: str, values: list[list], tables: list[dict]) -> dict:
    rows, cols = len(values), len(values[0])
    return {
        "name": name,
        "values": values,
        "pictures": [],
        "shapes": [],
        "charts": [],
        "tables": tables,
        "pivot_tables": [],
        "used_range_address": address,
        "used_range_row_count": rows,
        "used_range_column_count": cols,
    }


def _col(index: int) -> str:
    from openpyxl.utils.cell import get_column_letter

    return get_column_letter(index)


def _tables(model: WorkbookModel, sheet: str) -> list[dict]:
    found = []
    for table in model.tables.values():
        if table.sheet != sheet:
            continue
        ref = table.ref
        header = f"{_col(ref.min_col)}{ref.min_row}:{_col(ref.max_col)}{ref.min_row}"
        body = f"{_col(ref.min_col)}{ref.min_row + 1}:{_col(ref.max_col)}{ref.max_row}"
        found.append(
            {
                "name": table.name,
                "range_address": ref.coordinate,
                "row_count": ref.shape[0],
                "column_count": ref.shape[1],
                "columns": list(table.columns),
                "header_row_range_address": header,
                "data_body_range_address": body,
                "total_row_range_address": None,
                "show_headers": True,
                "show_totals": False,
                "table_style": "TableStyleMedium2",
                "show_autofilter": True,
                "show_table_style_first_column": False,
                "show_table_style_last_column": False,
                "show_table_style_row_stripes": True,
                "show_table_style_column_stripes": False,
            }
        )
    return found


def _names(model: WorkbookModel) -> list[dict]:
    names = []
    for name in model.defined_names:
        scope_index = model.sheet_names.index(name.scope) if name.scope else None
        names.append(
            {
                "name": name.name,
                "refers_to": "=" + name.text,
                "type": "String",
                "sheet_index": None,
                "address": None,
                "scope_sheet_name": name.scope,
                "scope_sheet_index": scope_index,
                "book_scope": name.scope is None,
            }
        )
    return names


def book(payload: dict) -> xw.Book:
    """A real xlwings Book (server mode) from the payload, as xlwings Server builds it."""
    return xw.Book(json=payload)


def actions(book: xw.Book, func: str | None = None) -> list[dict]:
    """The actions the macro recorded (what the add-in will apply in Excel)."""
    recorded = book.json()["actions"]
    return [a for a in recorded if func is None or a["func"] == func]


def sheet_ref(sheet: str, coordinate: str) -> str:
    return f"{quote_sheet(sheet)}!{coordinate}"
