"""A formula's saved text result (``t="str"``) holds control characters as OOXML ``_xHHHH_``
escapes, as Excel writes ``=CHAR(1)`` (formulas' test.xlsx CORE!B32 stores ``_x0001_``); the
reader undoes them, as it does for shared and inline strings."""

from __future__ import annotations

import html
import zipfile

import pytest

from xl_lesson3.formula.evaluate.check import values_agree
from xl_lesson3.formula.evaluate.tolerant import evaluate_all
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load import load_workbook


@pytest.mark.parametrize(
    ("formula", "saved", "expected"),
    [
        ("=CHAR(1)", "_x0001_", "\x01"),
        ('="a"&CHAR(13)&"b"', "a_x000D_b", "a\rb"),
        ('="_x0041_"', "_x005F_x0041_", "_x0041_"),  # a literal escape stays literal
        ('="plain"', "plain", "plain"),
    ],
    ids=["control", "inside", "literal", "plain"],
)
def test_saved_text_results_are_unescaped(make_workbook, tmp_path, formula, saved, expected):
    source = make_workbook({"S!A1": formula})
    path = tmp_path / "saved.xlsx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = html.escape(formula[1:], quote=False)
                stored = f'<c r="A1" t="str"><f>{text}</f><v>{saved}</v></c>'
                data = data.replace(f'<c r="A1"><f>{text}</f><v /></c>'.encode(), stored.encode())
                assert stored.encode() in data
            dst.writestr(info, data)
    model = load_workbook(path, cached_values=True)
    cell = CellAddress.parse("S!A1")
    assert model.cached_value(cell) == expected
    assert values_agree(model.cached_value(cell), evaluate_all(model)[cell])
