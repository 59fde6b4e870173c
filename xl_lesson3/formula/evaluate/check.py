"""`check`: how much of a workbook the engine computes, and does it agree with Excel?

An analyst's first question about their own workbook. Every formula cell is evaluated with the
tolerant evaluator (`tolerant.evaluate_all`) and compared with the value Excel saved in the file;
the report counts, per sheet, the cells that agree, those that differ (with the first examples)
and those we cannot compute, grouped by the function or feature at fault. Each stored Solver
model is compiled to say whether it can be trained.

The agreement rule is the one of ``python -m benchmarks conformance``: numbers within 1e-9
relative or 1e-12 absolute, text, booleans and error values equal, a blank equal to empty text;
cells whose own formula calls a volatile function (RAND, NOW, ...) are left out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from xl_lesson3.errors import XlLesson3Error
from xl_lesson3.formula.evaluate.tolerant import Uncomputable, evaluate_all
from xl_lesson3.formula.plan.discover import one_line
from xl_lesson3.formula.scalars import ExcelError
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.model import WorkbookModel

REL_TOL, ABS_TOL = 1e-9, 1e-12
VOLATILE = re.compile(r"\b(RAND|RANDBETWEEN|RANDARRAY|NOW|TODAY)\s*\(", re.IGNORECASE)
MAX_EXAMPLES = 5


def values_agree(excel: Any, ours: Any) -> bool:
    """Excel's saved value against ours, by the rule in the module docstring."""
    if excel is None or excel == "":
        return ours is None or ours == ""
    if isinstance(excel, bool) or isinstance(ours, bool):
        return type(excel) is type(ours) and excel == ours
    if isinstance(excel, (int, float)):
        if not isinstance(ours, (int, float)):
            return False
        a, b = float(excel), float(ours)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(excel, ExcelError):
        return isinstance(ours, ExcelError) and ours.code == excel.code
    return isinstance(ours, str) and ours == str(excel)


def formula_text(model: WorkbookModel, cell: CellAddress) -> str:
    """The formula that computes `cell` (an array formula's text for each of its cells)."""
    found = model.cell(cell)
    if found is not None and found.formula is not None:
        return found.formula
    array = model.array_formula_covering(cell)
    return array.text if array is not None else ""


@dataclass
class SheetReport:
    """One sheet's figures; `differ` holds the first examples (cell, formula, Excel, ours)."""

    sheet: str
    formulas: int = 0
    agree: int = 0
    differ: int = 0
    volatile: int = 0
    uncomputable: int = 0
    examples: list[tuple[str, str, Any, Any]] = field(default_factory=list)
    causes: Counter = field(default_factory=Counter)
    first_reasons: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (error values as their text)."""
        return {
            "formula_cells": self.formulas,
            "agree": self.agree,
            "differ": self.differ,
            "volatile_left_out": self.volatile,
            "uncomputable": self.uncomputable,
            "differences": [
                {"cell": c, "formula": f, "excel": _plain(e), "ours": _plain(o)}
                for c, f, e, o in self.examples
            ],
            "uncomputable_by_cause": dict(self.causes.most_common()),
            "first_reason": self.first_reasons,
        }


@dataclass
class CheckReport:
    """Per-sheet reports, and each Solver model's sheet → None (trainable) or why not."""

    sheets: list[SheetReport]
    solver_models: dict[str, str | None]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("formulas", "agree", "differ", "volatile", "uncomputable")
        return {key: sum(getattr(sheet, key) for sheet in self.sheets) for key in keys}


def check_workbook(model: WorkbookModel, values: dict[CellAddress, Any] | None = None):
    """Compare every formula cell with Excel's saved value (`model` read with cached values).

    `values`: our values if already computed (`tolerant.evaluate_all`).
    """
    values = evaluate_all(model) if values is None else values
    reports = {sheet: SheetReport(sheet) for sheet in model.sheet_names}
    for cell in sorted(values):
        ours = values[cell]
        report = reports[cell.sheet]
        report.formulas += 1
        text = formula_text(model, cell)
        if VOLATILE.search(text):
            report.volatile += 1
            continue
        if isinstance(ours, Uncomputable):
            report.uncomputable += 1
            report.causes[ours.feature] += 1
            report.first_reasons.setdefault(ours.feature, ours.message)
            continue
        excel = model.cached_value(cell)
        if values_agree(excel, ours):
            report.agree += 1
        else:
            report.differ += 1
            if len(report.examples) < MAX_EXAMPLES:
                report.examples.append((str(cell), text, excel, ours))
    return CheckReport([r for r in reports.values() if r.formulas], solver_model_status(model))


def solver_model_status(model: WorkbookModel) -> dict[str, str | None]:
    """Each sheet with a stored Solver model → None when it compiles, else the reason."""
    from xl_lesson3.formula.compile.program import compile_program
    from xl_lesson3.solver.problem import build_problem, model_sheets

    status: dict[str, str | None] = {}
    for sheet in model_sheets(model):
        try:
            problem = build_problem(model, sheet=sheet)
            compile_program(model, problem.model.objective, problem.variables)
        except XlLesson3Error as exc:
            status[sheet] = re.sub(r" \(supported: [^)]*\)", "", one_line(str(exc)))
        else:
            status[sheet] = None
    return status


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, ExcelError) else value
