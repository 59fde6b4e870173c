"""Excel 365's text functions against Excel's own answers: values Excel saved in the
conformance workbooks (formulas' test.xlsx sheets TEXT and EXTRA, pycel's text.xlsx; see
../shared/conformance, copied here by cell) and Microsoft's documentation examples. LibreOffice
7.4 has none of TEXTSPLIT, TEXTBEFORE, TEXTAFTER, REGEX*, ARRAYTOTEXT, VALUETOTEXT.
"""

from __future__ import annotations

import pytest
from openpyxl.worksheet.formula import ArrayFormula

from tests.formula.functions.cells import call, err, ref, same, val
from xl_lesson3.formula.evaluate.recalc import evaluate_cells
from xl_lesson3.workbook.load import load_workbook

NA, VALUE, DIV0 = err("#N/A"), err("#VALUE!"), err("#DIV/0!")
HOOD = "Little red Riding Hood's red hood"
PHONES = "Sonia Rees    (378) 555-4195\nAngel Brown    (878) 555-8622"
# the grid of argument kinds of test.xlsx's TEXT sheet, columns C:K of one row
KINDS = [[0, 1.9, 2.3, 10, -1, None, "1987-08-26", True, VALUE]]

CASES = [
    # (id, function, args, Excel's value)  -- source
    # TEXTSPLIT
    ("split-doc-space", "TEXTSPLIT", [val("Dakota Lennon Sanchez"), val(" ")],
     [["Dakota", "Lennon", "Sanchez"]]),  # Microsoft's TEXTSPLIT examples
    ("split-doc-rows", "TEXTSPLIT", [val("1,2,3;4,5,6"), val(","), val(";")],
     [["1", "2", "3"], ["4", "5", "6"]]),  # docs
    ("split-doc-pad", "TEXTSPLIT", [val("1,2,3;4,5"), val(","), val(";")],
     [["1", "2", "3"], ["4", "5", NA]]),  # docs
    ("split-row-only", "TEXTSPLIT", [val("a.b"), val(None), val(".")], [["a"], ["b"]]),
    ("split-all-options", "TEXTSPLIT",
     [val("26/08TRUE19|87"), val([["/", "|", True]]), val([[6, 9]]), val(False), val(1), val(10)],
     [["2", 10.0, 10.0], ["", "08", "1"], ["", "87", 10.0]]),  # test.xlsx EXTRA!J28:L30
    ("split-ignore-empty", "TEXTSPLIT",
     [val("1,2.3;4,,5AA6.7"), val([[",", "."]]), val([[";", "a"]]), val(True), val(1), val("pi")],
     [["1", "2", "3"], ["4", "5", "pi"], ["6", "7", "pi"]]),  # test.xlsx EXTRA!O28:Q30
    ("split-each-text", "TEXTSPLIT", [ref(KINDS), val(1)],
     [["0", "", "2.3", "", "-", VALUE, "", "TRUE", VALUE]]),  # test.xlsx TEXT!AH47:AP47
    ("split-empty-delimiter", "TEXTSPLIT", [val("a,b"), val("")], VALUE),  # TEXT!V47
    ("split-blank-delimiter", "TEXTSPLIT", [val("a,b"), ref(None)], VALUE),  # TEXT!W47
    ("split-match-mode-2", "TEXTSPLIT", [val("a"), val(" "), val(" "), val(1), val(2)], VALUE),
    # TEXTBEFORE / TEXTAFTER
    ("after-doc", "TEXTAFTER", [val(HOOD), val("red")], " Riding Hood's red hood"),  # docs
    ("after-doc-2nd", "TEXTAFTER", [val(HOOD), val("red"), val(2)], " hood"),  # docs
    ("after-doc-from-end", "TEXTAFTER", [val(HOOD), val("red"), val(-2)],
     " Riding Hood's red hood"),  # docs
    ("after-doc-case", "TEXTAFTER", [val(HOOD), val("Red"), val(None), val(False)], NA),  # docs
    ("after-doc-missing", "TEXTAFTER", [val(HOOD), val("basket")], NA),  # docs
    ("after-doc-third", "TEXTAFTER", [val(HOOD), val("red"), val(3)], NA),  # docs
    ("after-doc-empty-delimiter", "TEXTAFTER", [val(HOOD), val("")], HOOD),  # docs remarks
    ("after-doc-empty-from-end", "TEXTAFTER", [val(HOOD), val(""), val(-1)], ""),  # docs
    ("after-doc-match-end", "TEXTAFTER", [val("Socrates"), val(" "), val(None), val(None),
                                          val(1)], ""),  # docs
    ("after-doc-no-match-end", "TEXTAFTER", [val("Socrates"), val(" "), val(None), val(None),
                                             val(0)], NA),  # docs
    ("after-if-not-found", "TEXTAFTER", [val("a"), val("b"), val(1), val(0), val(0), val("x")],
     "x"),
    ("after-instances", "TEXTAFTER",
     [val("1,2,3,4,5,6,7,8"), val([["3", "4"]]), ref(KINDS)],
     [[VALUE, ",4,5,6,7,8", ",5,6,7,8", NA, ",5,6,7,8", VALUE, VALUE, ",4,5,6,7,8",
       VALUE]]),  # test.xlsx TEXT!AH44:AP44
    ("after-last-of-three", "TEXTAFTER", [val("1,2,3,4,5,6,7,8"), val([["3", "4", "5"]]),
                                          val(-1)], ",6,7,8"),  # test.xlsx EXTRA!H33
    ("before-each", "TEXTBEFORE", [ref(KINDS), val([[1, 1.9, "3", "4"]]), ref(KINDS)],
     [[VALUE, "", NA, VALUE, "-", VALUE, VALUE, NA, VALUE]]),  # test.xlsx TEXT!AH45:AP45
    ("before-2nd", "TEXTBEFORE", [val("1,2,3,4,5,6,7,8"), val([["3", "4"]]), val(2.3)],
     "1,2,3,"),  # test.xlsx TEXT!T45
    ("before-bad-match-mode", "TEXTAFTER", [val("1,2,3"), val("2"), val(2.3), val(10)], VALUE),
    # REGEXTEST / REGEXEXTRACT / REGEXREPLACE
    ("regextest-number", "REGEXTEST", [val(0), val(r"^\d+$")], True),  # TEXT!R33
    ("regextest-number-pattern", "REGEXTEST", [val(1.9), val(1.9)], True),  # TEXT!S33
    ("regextest-case-2", "REGEXTEST", [val(2.3), val(r"^\d+$"), val(2)], VALUE),  # TEXT!T33
    ("regextest-case-1.9", "REGEXTEST", [val(10), val(r"^\d+$"), val(1.9)], True),  # TEXT!U33
    ("regextest-ignore-case", "REGEXTEST", [val("ciao"), val("^ciaO$"), val(1)], True),
    ("regextest-error", "REGEXTEST", [ref(DIV0), val("x")], DIV0),  # TEXT!AB33
    ("regextest-bad-pattern", "REGEXTEST", [val("a"), val("(")], VALUE),
    ("extract-doc-first", "REGEXEXTRACT", [val("DylanWilliams"), val("[A-Z][a-z]+")],
     "Dylan"),  # Microsoft's REGEXEXTRACT example 1
    ("extract-doc-all", "REGEXEXTRACT", [val("DylanWilliams"), val("[A-Z][a-z]+"), val(1)],
     [["Dylan", "Williams"]]),  # docs
    ("extract-phones", "REGEXEXTRACT", [val(PHONES), val(r"[0-9()]+ [0-9-]+"), val(1)],
     [["(378) 555-4195", "(878) 555-8622"]]),  # docs example 2; test.xlsx EXTRA!I2:J2
    ("extract-groups", "REGEXEXTRACT", [val("1a2b3c"), val(r"((\d)[bc]+|(3c))"), val(2)],
     [["2b", "2"]]),  # test.xlsx EXTRA!M3:N3 (O3, an unset last group, #N/A)
    ("extract-no-groups", "REGEXEXTRACT", [val("a 1"), val(r"\d"), val(2)], VALUE),  # EXTRA!K3
    ("extract-none", "REGEXEXTRACT", [val("abc"), val(r"\d")], NA),  # test.xlsx EXTRA!I5
    ("extract-each", "REGEXEXTRACT", [ref(KINDS), val(r"^\d+$")],
     [["0", NA, NA, "10", NA, NA, NA, NA, VALUE]]),  # test.xlsx TEXT!AH31:AP31
    ("extract-each-mode", "REGEXEXTRACT", [ref([[PHONES], ["a 7"]]), val(r"\d+"), ref([[1], [2]])],
     [["378"], [VALUE]]),  # the first of each result, as test.xlsx EXTRA!J3:J4
    ("replace-all", "REGEXREPLACE", [val(0), val(r"^\d+$"), val("pi")], "pi"),  # TEXT!R32
    ("replace-boolean", "REGEXREPLACE", [val(10), val(r"^\d+$"), val(True)], "TRUE"),  # U32
    ("replace-blank", "REGEXREPLACE", [ref(None), val(r"^\d+$"), val("pi")], ""),  # W32
    ("replace-groups", "REGEXREPLACE", [val("Sonia Rees"), val(r"(\w+) (\w+)"), val("$2, $1")],
     "Rees, Sonia"),
    ("replace-occurrence", "REGEXREPLACE", [val("a1b2c3"), val(r"\d"), val("#"), val(2)],
     "a1b#c3"),
    ("replace-from-end", "REGEXREPLACE", [val("a1b2c3"), val(r"\d"), val("#"), val(-1)],
     "a1b2c#"),
    # ARRAYTOTEXT / VALUETOTEXT
    ("arraytotext-concise", "ARRAYTOTEXT", [ref([[0, 1.9], [0, 1.9]]), val(0)],
     "0, 1.9, 0, 1.9"),  # TEXT!R3
    ("arraytotext-blanks", "ARRAYTOTEXT", [ref([[None], [""]]), val(0)], ", "),  # TEXT!V3
    ("arraytotext-errors", "ARRAYTOTEXT", [ref([[VALUE, NA]]), val(0.9)],
     "#VALUE!, #N/A"),  # TEXT!Z4
    ("arraytotext-strict", "ARRAYTOTEXT", [ref([[1.9, 2.3], [1.9, 2.3]]), val(1)],
     "{1.9,2.3;1.9,2.3}"),  # TEXT!S4
    ("arraytotext-strict-text", "ARRAYTOTEXT", [ref([["", True, VALUE]]), val(1)],
     '{"",TRUE,#VALUE!}'),  # TEXT!X4:Y4
    ("arraytotext-lone-blank", "ARRAYTOTEXT", [ref(None), val(1)], VALUE),  # TEXT!V4
    ("arraytotext-format-2", "ARRAYTOTEXT", [ref([[0, 1.9]]), val(2)], VALUE),  # TEXT!R4
    ("arraytotext-format-each", "ARRAYTOTEXT", [ref([[0, True]]), ref(KINDS)],
     [["0, TRUE", "{0,TRUE}", VALUE, VALUE, VALUE, "0, TRUE", VALUE, "{0,TRUE}", VALUE]]),
    # test.xlsx TEXT!AH3:AP3
    ("valuetotext-each", "VALUETOTEXT", [ref(KINDS), val(0)],
     [["0", "1.9", "2.3", "10", "-1", "", "1987-08-26", "TRUE", "#VALUE!"]]),  # TEXT!AH54
    ("valuetotext-strict", "VALUETOTEXT", [ref(KINDS), val(1)],
     [["0", "1.9", "2.3", "10", "-1", "", '"1987-08-26"', "TRUE", "#VALUE!"]]),  # TEXT!AH55
    ("valuetotext-text-format", "VALUETOTEXT", [val("a"), val("1.99")], '"a"'),  # TEXT!X55
    ("valuetotext-bad-format", "VALUETOTEXT", [val(1), val(-1)], VALUE),  # TEXT!S55
    ("valuetotext-quote", "VALUETOTEXT", [val('say "hi"'), val(1)], '"say ""hi"""'),
    # *B: one byte per character outside double-byte languages
    ("findb", "FINDB", [val("ia"), val("山田太郎ciao"), val(1.9)], 6.0),  # TEXT!S17
    ("leftb", "LEFTB", [val(True), val(3)], "TRU"),  # TEXT!AG21
    ("lenb", "LENB", [val("1987-08-26")], 10.0),
    ("midb", "MIDB", [val("ciao"), val(1.9), val(2)], "ci"),  # TEXT!S26
    ("replaceb", "REPLACEB", [val("ciao"), val(2), val(2), val("vvv")], "cvvvo"),
    ("rightb", "RIGHTB", [val("ciao"), val(True)], "o"),
    ("searchb", "SEARCHB", [val("BASE"), val("database"), val(1)], 5.0),  # TEXT!R40
    # NUMBERVALUE, FIXED, SUBSTITUTE
    ("numbervalue-parentheses", "NUMBERVALUE", [val("(2.500,27)"), val(","), val(".")],
     -2500.27),  # test.xlsx TEXT!R27
    ("numbervalue-group-after-decimal", "NUMBERVALUE", [val("(2,500.27)"), val(","), val(".")],
     VALUE),  # TEXT!S27
    ("numbervalue-same-separators", "NUMBERVALUE", [val("(2500.27)"), val("."), val(".,")],
     VALUE),  # TEXT!T27
    ("numbervalue-percents", "NUMBERVALUE", [val("(2,500.27%)%"), val("."), val(",.,")],
     -0.250027),  # TEXT!U27
    ("numbervalue-spaces-exponent", "NUMBERVALUE",
     [val("(,25,,0,0.27E + 6%)%"), val("."), val(",.,")], -250027.0),  # TEXT!V27
    ("numbervalue-sign-in-parentheses", "NUMBERVALUE",
     [val("(-2500.27E+2%)%"), val("."), val(",.,")], VALUE),  # TEXT!R28
    ("numbervalue-percent-before-exponent", "NUMBERVALUE",
     [val("- 2500.27%E+2%%"), val("."), val(",.,")], VALUE),  # TEXT!S28
    ("numbervalue-odd-decimal", "NUMBERVALUE", [val("250)027"), val(")")], 250.027),  # U28
    ("numbervalue-comma-decimal", "NUMBERVALUE", [val("(2500,27E+6%)%"), val(",")],
     -250027.0),  # TEXT!W28
    ("numbervalue-blank-decimal", "NUMBERVALUE", [val("1"), ref(None)], VALUE),  # TEXT!AB28
    ("numbervalue-blank-group", "NUMBERVALUE", [val("1"), val("2"), ref(None)], VALUE),  # AC28
    ("fixed-text-true", "FIXED", [val("1234.5"), val("3"), val("TRuE")], "1234.500"),  # EXTRA!Q4
    ("fixed-text-false", "FIXED", [val(10001), val("36"), val("FALSe")],
     "10,001." + "0" * 36),  # test.xlsx EXTRA!Q5
    ("fixed-text-number", "FIXED", [val(1), val(3), val("0")], VALUE),  # test.xlsx EXTRA!O4
    ("substitute-boolean-instance", "SUBSTITUTE", [val("a-1"), val(-1), val(None), ref(True)],
     VALUE),  # test.xlsx CORE!AB14
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_excel_value(name, args, expected):
    assert same(call(name, *args), expected)


TEXT_FORMATS = [
    # (id, value, format, Excel's value) -- formulas test.xlsx EXTRA / pycel text.xlsx
    ("hash-decimals-before-zeros", 1.000000001, "00###.##.0000.00", "001..0000.00"),  # A2
    ("unclosed-quote", 1.23, '#"°F""', VALUE),  # EXTRA!A4
    ("literal-comma-after-space", 1234567890, "0,## ## ,##", "1,234,56 7,8 ,90"),  # A15
    ("grouping-by-place", 1234567.555, "#,##000######## .  # ,0.00.0,00",
     "00,01,234,567 .  5 ,5.50.000"),  # EXTRA!A17
    ("grouping-long", 1234578.555, "#,##00000000####0### .  # ,0.00.0,00",
     "0,000,000,01,234,578 .  5 ,5.50.000"),  # EXTRA!A20
    ("grouping-literals", 1234578.555, "#,##00000,  ,00 , 0########    .  # ,0.00.0,00",
     "0,000,0  ,00, , 01,234,578    .  5 ,5.50.000"),  # EXTRA!A23
    ("digits-after-exponent", 1234578.555, "0##e+8800######", VALUE),  # EXTRA!A27
    ("at-beside-digits", 1234567.89, '#,#"ZZ"#.0"YY"00@', VALUE),  # text.xlsx C3
    ("date-letter-among-digits", 1234567.89, '#,#"ZZ"#.0Y00', VALUE),  # text.xlsx C4
    ("third-section-text", 0, "w;x;z@", "w"),  # text.xlsx TextNumbers!C8
    ("second-section-text", -1, "w;x@", "-w"),  # text.xlsx C17
    ("empty-format-negative", -1, "", "-"),  # text.xlsx C13
    ("comma-before-literal", 890123.456789, "0,x#.00.0", "89012x3.45.7"),  # text.xlsx C34
    ("comma-after-literal", 890123.456789, "#x,0x#.00.0", "8901x,2x3.45.7"),  # C36
    ("grouping-overflow", 890123.456789, "#x,0,#.00.0", "890,1x,23.45.7"),  # C37
    ("decimal-comma-code", 890123.456789, "#.###,x,##", "890123.456x,79"),  # C42
    ("hash-between-zeros", 890123.456789, "#.#####00#0", "890123.45678900"),  # C50
    ("at-in-middle-section", "X", ';-  ##.0;"ZERO"@;"X"', VALUE),  # TextDates!C9
    ("elapsed-past-9999", 71003160, "[hh]", "1704075840"),  # TextDates!C12
    ("negative-elapsed-with-minutes", -1, "[h]:m", VALUE),  # TextDates!C19
    ("negative-lone-elapsed", -1, "[m]", "-1440"),  # TextDates!C22
    ("fraction-of-second", 0, "[s].000", "0.000"),  # TextDates!C28
    ("fraction-of-second-value", 1.5 / 86400, "s.00", "1.50"),
    ("thousands-scale-after-decimals", 1234567, "#,##0.0,", "1,234.6"),
    # text that spells a time is read as one first (pycel text.xlsx TextDates!C30-C48)
    ("time-text-seconds-past-59", "0:59:99", "#.#####", ".04212"),
    ("time-text-minutes-past-59", "23:9999", "#.#####", "7.90208"),
    ("time-text-hours-past-23", "24:99", "#.#####", "24:99"),
    ("time-text-minutes-seconds", "23:59.012345", "#.#######", ".0166552"),
    ("time-text-trailing-point", "23:59.", "#.###########", ".99930555556"),
    ("time-text-too-many-seconds", "59:10000.0", "#.#####", "59:10000.0"),
    ("time-text-point-in-hours", "23.:59", "#.###########", "23.:59"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "fmt", "expected"), [c[1:] for c in TEXT_FORMATS], ids=[c[0] for c in TEXT_FORMATS]
)
def test_text_format(value, fmt, expected):
    assert same(call("TEXT", val(value), val(fmt)), expected)


def test_spills_and_omitted_arguments(make_workbook):
    """Whole formulas: REGEXEXTRACT and TEXTSPLIT fill an array formula's cells; an argument
    left empty (``TEXTSPLIT(A1,,";")``) takes its default, a blank cell does not."""
    path = make_workbook(
        {
            "S!A1": "a;b",
            "S!C1": ArrayFormula("C1:E1", '=_xlfn.REGEXEXTRACT("x1y22z333","\\d+",1)'),
            "S!C2": ArrayFormula("C2:C3", '=_xlfn.TEXTSPLIT(A1,,";")'),
            "S!D5": '=_xlfn.TEXTAFTER("a-b-c","-",,,,"none")',
            "S!D6": '=_xlfn.TEXTAFTER("a-b-c","-",B9)',
        }
    )
    model = load_workbook(path)
    spill, split, after, blank = evaluate_cells(model, ["S!C1:E1", "S!C2:C3", "S!D5", "S!D6"])
    assert spill == [["1", "22", "333"]]
    assert split == [["a"], ["b"]]
    assert after == "b-c"
    assert same(blank, VALUE)
