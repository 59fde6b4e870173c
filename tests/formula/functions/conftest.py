"""Fixtures for the function-library tests: Excel's saved values in the conformance workbooks."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import WorkbookModel

CONFORMANCE = Path(__file__).resolve().parents[3].parent / "shared" / "conformance"


@pytest.fixture(scope="module")
def formulas_test_book() -> WorkbookModel:
    """formulas' test.xlsx (a grid of argument kinds per function) with the values Excel saved;
    the test skips when ../shared/conformance is absent."""
    path = CONFORMANCE / "formulas" / "test__test_files__test.xlsx"
    if not path.is_file():
        pytest.skip("../shared/conformance is absent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl on the workbook's extensions
        return load_workbook(path, cached_values=True)
