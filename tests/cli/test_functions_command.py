"""`xl-lesson3 functions`: the look-up an analyst runs before bringing a workbook."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xl_lesson3", "functions", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_named_functions_are_described_as_excel_files_them():
    done = _cli("sum", "_xlfn.XLOOKUP", "ROUND", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    # Excel's own categories (Microsoft's function reference); ROUND is a step function
    assert rows["SUM"]["excel_category"] == "Math & Trig"
    assert rows["_XLFN.XLOOKUP"]["excel_category"] == "Lookup & Reference"
    assert rows["_XLFN.XLOOKUP"]["folder"] == "lookup"
    assert rows["SUM"]["differentiable"] is True
    assert rows["ROUND"]["differentiable"] is False


def test_an_unknown_name_is_reported_with_exit_1():
    done = _cli("SUM", "NOSUCHFUNCTION")
    assert done.returncode == 1
    assert "NOSUCHFUNCTION: not supported" in done.stdout


def test_a_bad_folder_names_the_option_with_exit_2():
    done = _cli("--folder", "maths")
    assert done.returncode == 2
    assert "--folder maths" in done.stderr and "math" in done.stderr


@pytest.mark.parametrize("book", ["titanic.xlsx", "lesson3.xlsx"])
def test_every_function_the_shipped_workbooks_call_is_listed(book):
    """The listing covers what real formulas call: read from the files by openpyxl, not by us."""
    called = set()
    workbook = openpyxl.load_workbook(REPO / "workbooks" / book)
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                text = (
                    cell.value if isinstance(cell.value, str) else getattr(cell.value, "text", "")
                )
                if isinstance(text, str) and text.startswith("="):
                    called |= {
                        name.removeprefix("_xlfn.")
                        for name in re.findall(r"([A-Za-z_][A-Za-z0-9._]*)\(", text)
                    }
    assert called, "the workbook should call functions"
    listed = json.loads(_cli("--json").stdout)
    assert {name.upper() for name in called} <= set(listed)
