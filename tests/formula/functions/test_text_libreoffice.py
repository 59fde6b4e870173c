"""Text functions, whole formulas against LibreOffice Calc: one workbook, recalculated once.

Each formula sits on sheet Calc and is evaluated by our engine from the same file, so parsing,
argument coercion and the function library are exercised together. Where Excel and LibreOffice
differ, `excel` holds Excel's value (what we compute; the source is named) and `lo`
LibreOffice's, so the divergence itself stays checked. The byte functions are compared on
single-byte text only: LibreOffice counts two bytes for CJK characters whatever the language,
Excel only under a double-byte default language (see `byte_variants`).
"""

from __future__ import annotations

import openpyxl
import pytest

from tests.formula.functions.cells import Case, disagreement, err
from tests.libreoffice import recalculate
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.workbook.load import load_workbook

VALUE = err("#VALUE!")


CASES = [
    Case("leftb", '=LEFTB("ciao",2)'),
    Case("rightb", '=RIGHTB("ciao",3)'),
    Case("rightb-default", '=RIGHTB("ciao")'),
    Case("midb", '=MIDB("ciao",2,2)'),
    Case("midb-past-end", '=MIDB("ciao",9,2)'),
    Case("lenb", '=LENB("hello world")'),
    Case("lenb-number", "=LENB(1.5)"),
    Case("findb", '=FINDB("l","hello",4)'),
    Case("findb-missing", '=FINDB("z","hello")'),
    Case("searchb", '=SEARCHB("L?","hello")'),
    Case("replaceb", '=REPLACEB("ciao",2,2,"XY")'),
    Case("text-thousands", '=TEXT(1234567.891,"#,##0.00")'),
    Case("text-scaled", '=TEXT(1234567,"#,##0,")'),
    Case("text-scaled-decimals", '=TEXT(1234567,"0.0,,")'),
    Case("text-percent", '=TEXT(0.1234,"0.0%")'),
    Case("text-scientific", '=TEXT(12345,"0.00E+00")'),
    Case("text-negative-section", '=TEXT(-1234.5,"$#,##0.00;($#,##0.00)")'),
    Case("text-zero-section", '=TEXT(0,"0;-0;""zero""")'),
    Case("text-padding", '=TEXT(42,"00000")'),
    Case("text-optional-decimals", '=TEXT(3.1,"0.0##")'),
    Case("text-literal", '=TEXT(12,"0"" kg""")'),
    Case("text-date", '=TEXT(45000,"yyyy-mm-dd")'),
    Case("text-weekday", '=TEXT(45000,"dddd d mmmm")'),
    Case("text-time", '=TEXT(0.75,"hh:mm AM/PM")'),
    Case("text-elapsed", '=TEXT(1.5,"[h]:mm:ss")'),
    Case("text-text-section", '=TEXT("abc","0;-0;0;""<""@"">""")'),
    Case("fixed", "=FIXED(1234.567,1)"),
    Case("fixed-negative-decimals", "=FIXED(1234.567,-2)"),
    Case("fixed-no-commas", "=FIXED(1234.567,2,TRUE)"),
    Case("fixed-default", "=FIXED(-0.005)"),
    Case("substitute-all", '=SUBSTITUTE("a-b-c","-","+")'),
    Case("substitute-nth", '=SUBSTITUTE("a-b-c","-","+",2)'),
    Case("substitute-missing-nth", '=SUBSTITUTE("a-b-c","-","+",3)'),
    Case("substitute-zero", '=SUBSTITUTE("a-b-c","-","+",0)'),
    Case("numbervalue", '=_xlfn.NUMBERVALUE("2.500,27",",",".")'),
    # Microsoft's NUMBERVALUE examples and remarks: a trailing % divides by 100, "" is 0;
    # LibreOffice 7.4 says #VALUE! to both, and to an exponent (Excel: test.xlsx TEXT!V27)
    Case("numbervalue-percent", '=_xlfn.NUMBERVALUE("3.5%")', excel=0.035, lo=VALUE),
    Case("numbervalue-spaces", '=_xlfn.NUMBERVALUE(" 1 000 ")'),
    Case("numbervalue-exponent", '=_xlfn.NUMBERVALUE("1.5E3")', excel=1500.0, lo=VALUE),
    Case("numbervalue-empty", '=_xlfn.NUMBERVALUE("")', excel=0.0, lo=VALUE),
    Case("numbervalue-group-after-decimal", '=_xlfn.NUMBERVALUE("1.2,3")'),
    # Excel reads parentheses as a minus sign (test.xlsx TEXT!R27); LibreOffice refuses them
    Case("numbervalue-parentheses", '=_xlfn.NUMBERVALUE("(12)")', excel=-12.0, lo=VALUE),
    Case("fixed-text-flag", '=FIXED(1234.5,1,"TRUE")'),  # as Excel (test.xlsx EXTRA!Q4)
]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "text.xlsx"
    wb = openpyxl.Workbook()
    calc = wb.active
    calc.title = "Calc"
    for row, case in enumerate(CASES, start=1):
        calc[f"A{row}"] = case.formula
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def ours(book):
    cells = [f"Calc!A{row}" for row in range(1, len(CASES) + 1)]
    return dict(zip([case.id for case in CASES], evaluate_cells(load_workbook(book), cells)))


@pytest.mark.libreoffice
def test_agrees_with_libreoffice(book, ours):
    reference = recalculate(book)["Calc"]
    wrong = []
    for row, case in enumerate(CASES, start=1):
        lo_value = reference[f"A{row}"].value
        problem = disagreement(case, ours[case.id], "" if lo_value is None else lo_value)
        if problem:
            wrong.append(problem)
    assert not wrong, "\n".join(wrong)
