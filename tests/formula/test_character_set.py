"""CHAR/CODE follow the code page of the Excel that saved the workbook: Windows-1252 from
Excel for Windows, Mac Roman from Excel for Mac (named in docProps/app.xml). Expected values
are Excel's, saved in formulas' test.xlsx (sheet CORE, rows 159-160, by Excel for Mac) and
Microsoft's Windows-1252 table."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.formula.evaluate.tolerant import evaluate_all
from xl_lesson3.workbook.load import load_workbook

FORMULAS = {
    "S!A1": "=CHAR(128)",
    "S!A2": "=CHAR(129)",
    "S!A3": "=UNICODE(CHAR(128))",
    "S!A4": '=CODE("é")',
    "S!A5": "=CHAR(65)",
}
CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


def _as_saved_by(path: Path, application: str) -> Path:
    """`path` with docProps/app.xml naming `application` (openpyxl writes "Microsoft Excel")."""
    out = path.with_name(f"{application.replace(' ', '-')}.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/app.xml":
                data = data.replace(b"Microsoft Excel", application.encode())
                assert application.encode() in data
            dst.writestr(info, data)
    return out


@pytest.mark.parametrize(
    ("application", "character_set", "expected"),
    [
        ("Microsoft Excel", "cp1252", ["€", "\x81", 8364.0, 233.0, "A"]),
        ("Microsoft Macintosh Excel", "mac_roman", ["Ä", "Å", 196.0, 142.0, "A"]),
    ],
    ids=["windows", "mac"],
)
def test_char_and_code_use_the_saving_excels_code_page(
    make_workbook, application, character_set, expected
):
    path = _as_saved_by(make_workbook(FORMULAS), application)
    model = load_workbook(path)
    assert model.character_set == character_set
    assert evaluate_cells(model, list(FORMULAS)) == expected
    assert list(evaluate_all(model).values()) == expected


def test_two_workbooks_keep_their_own_code_page(make_workbook):
    mac = load_workbook(_as_saved_by(make_workbook(FORMULAS), "Microsoft Macintosh Excel"))
    windows = load_workbook(make_workbook(FORMULAS))
    assert evaluate_cells(mac, ["S!A1"]) == ["Ä"]
    assert evaluate_cells(windows, ["S!A1"]) == ["€"]


@pytest.mark.skipif(not CONFORMANCE.is_dir(), reason="../shared/conformance is absent")
@pytest.mark.parametrize(
    ("book", "character_set"),
    [("formulas/test__test_files__excel.xlsx", "mac_roman"),
     ("pycel/tests__fixtures__basic.xlsx", "cp1252")],
    ids=["excel-for-mac", "excel-for-windows"],
)  # fmt: skip
def test_conformance_workbooks_name_their_excel(book, character_set):
    assert load_workbook(CONFORMANCE / book).character_set == character_set
