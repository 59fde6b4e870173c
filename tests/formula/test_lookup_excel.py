"""Look-ups where Excel's answers are the reference: blocks of the conformance workbooks (the
values Excel saved; skipped when ../shared/conformance is absent), one block per rule, and
rules checked on small cases whose answers follow from Excel's documented algorithm."""

from __future__ import annotations

import pytest

from tests.formula.excel_saved import disagreements, needs_conformance
from tests.formula.functions.cells import call, err, val
from xl_lesson3.formula.parse.ast import A1Ref, Coord, ErrorLiteral, ExternalRef, NameRef
from xl_lesson3.formula.parse.references import parse_reference

TEST_XLSX = "formulas/test__test_files__test.xlsx"
NA, VALUE, REF = err("#N/A"), err("#VALUE!"), err("#REF!")

EXCEL_BLOCKS = [
    # (id, workbook, cells): each block holds formulas that exercise one rule
    ("xmatch-next-smaller-across-types", TEST_XLSX, "LOOKUP!R189:Y197"),
    ("xmatch-blank-key-after-everything", TEST_XLSX, "LOOKUP!W171:W197"),
    ("xmatch-binary-next-larger", TEST_XLSX, "LOOKUP!R176:Y176"),
    ("xmatch-binary-next-smaller", TEST_XLSX, "LOOKUP!R177:Y177"),
    ("xmatch-wildcard-binary-is-value", TEST_XLSX, "LOOKUP!R183:Y184"),
    ("xmatch-binary-unsorted", TEST_XLSX, "EXTRA!K83:L94"),
    ("xlookup-modes-array", TEST_XLSX, "LOOKUP!AH162:AV169"),
    ("xlookup-binary-modes", TEST_XLSX, "LOOKUP!R162:Y169"),
    ("lookup-approx-unsorted", TEST_XLSX, "LOOKUP!R56:Y64"),
    ("match-approx-unsorted", TEST_XLSX, "LOOKUP!R65:Y71"),
    ("lookup-arrays-of-keys", TEST_XLSX, "LOOKUP!AH56:AV64"),
    ("hlookup-key-and-index-arrays", TEST_XLSX, "LOOKUP!AH44:AV44"),
    ("index-errors", TEST_XLSX, "LOOKUP!R52:AF54"),
    ("index-union-area", TEST_XLSX, "LOOKUP!AQ52:AU54"),
    ("match-descending-exact-first", "pycel/tests__fixtures__lookup.xlsx", "Lookup!B32:J33"),
    ("lookup-2d-result", "pycel/tests__fixtures__lookup.xlsx", "Lookup!B28:J30"),
    ("index-row-zero-past-columns", "pycel/tests__fixtures__lookup.xlsx", "Index!C26:J33"),
    ("irr-array-guess", TEST_XLSX, "FINANCIAL!AH27:AW27"),
    ("npv-array-rate", TEST_XLSX, "FINANCIAL!AH33:AW33"),
    ("irr-run-of-guesses", TEST_XLSX, "FINANCIAL!S26:U27"),
    ("day-past-year-9999", TEST_XLSX, "'DATE & TIME'!T6:T6"),
    ("datedif-boolean-start", TEST_XLSX, "'DATE & TIME'!X4:X4"),
    ("isoweeknum-boolean", TEST_XLSX, "'DATE & TIME'!Y12:Y12"),
    ("weeknum-serial-one", TEST_XLSX, "'DATE & TIME'!T23:T23"),
    ("countifs-decimal-criterion", TEST_XLSX, "STATISTICAL!R25:R25"),
    ("maxifs-decimal-criterion", TEST_XLSX, "STATISTICAL!R64:R64"),
    ("external-link-saved-values", TEST_XLSX, "CORE!B17:B18"),
    ("external-link-through-a-name", TEST_XLSX, "CORE!O13:O13"),
    ("external-link-missing", TEST_XLSX, "CORE!P16:P18"),
    ("sheet-name-with-bang", "formulas/test__test_files__full-range.xlsx", "DATA!B5:B5"),
    ("range-chain-with-a-name", TEST_XLSX, "CORE!D9:E9"),
    ("rows-of-a-union-intersection", TEST_XLSX, "LOOKUP!V15:V15"),
    ("sort-more-orders-than-keys", TEST_XLSX, "LOOKUP!AR117:AT122"),
    ("sumproduct-mismatch-error-first", TEST_XLSX, "'MATH & TRIG'!R75:AF75"),
]


@needs_conformance
@pytest.mark.parametrize(
    ("name", "cells"), [b[1:] for b in EXCEL_BLOCKS], ids=[b[0] for b in EXCEL_BLOCKS]
)
def test_excel_saved_values(name, cells):
    wrong = disagreements(name, cells)
    assert not wrong, "\n".join(wrong)


ROW = [[-1.1, 2.1, 3.1, 4.1]]
MIXED = [[True, 4.1, False, 1.1]]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # halving [TRUE,4.1,FALSE,1.1] for 4 (next larger): 4.1 > 4 (keep 2, go left), TRUE > 4
        ([val(4), val(MIXED), val(1), val(2)], 1.0),
        # next smaller by halving: 4.1 < "b" (keep 2, go right), FALSE > "b" (go left): 2
        ([val("b"), val(MIXED), val(-1), val(2)], 2.0),
        ([val("b"), val(ROW), val(-1)], 4.0),  # text sorts after every number
        ([val(True), val(ROW), val(1)], NA),  # nothing sorts after TRUE among numbers
        ([val("a*"), val([["ab"]]), val(2), val(2)], VALUE),  # wildcards cannot be halved
        # -1.5 rounds down to -2: halving as if descending misses 3.1 (-1 would find it)
        ([val(3.1), val(ROW), val(0), val(-1.5)], NA),
        ([val(NA), val(ROW), val(9)], NA),  # the key's error before the bad mode's #VALUE!
    ],
    ids=[
        "binary-next-larger",
        "binary-next-smaller-text",
        "text-after-numbers",
        "true-after-everything",
        "wildcard-binary",
        "mode-rounded-down",
        "key-error-first",
    ],
)
def test_xmatch_rules(args, expected):
    assert call("XMATCH", *args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([val(20), val([["a", 2.1, "b", 4.1]])], 4.1),  # text skipped: the last number <= 20
        ([val(4.1), val([["b", 4.1, "a", 1.1]])], 4.1),  # an equal value ends the scan
        ([val(2), val([[1, 2], [3, 4]]), val([[5, 6], [7, 8]])], NA),  # 2-D result vector
    ],
    ids=["unsorted-skips-text", "equal-stops", "two-d-result"],
)
def test_lookup_rules(args, expected):
    assert call("LOOKUP", *args) == expected


def test_match_descending_stops_at_an_equal_value():
    assert call("MATCH", val(0), val([[0, 1, 2, 3]]), val(-1)) == 1.0
    assert call("MATCH", val(-1), val([[0, 1, 2, 3]]), val(-1)) == 4.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "'!\"'!A1",
            A1Ref('!"', Coord(1, False), Coord(1, False), Coord(1, False), Coord(1, False)),
        ),
        ("[2]!Rate", ExternalRef(2, NameRef(None, "Rate"))),
        (
            "'[1]My Sheet'!$B$2",
            ExternalRef(
                1, A1Ref("My Sheet", Coord(2, True), Coord(2, True), Coord(2, True), Coord(2, True))
            ),
        ),
        ("A2:'[2]Other'!A2", ErrorLiteral("#VALUE!")),
    ],
    ids=["quoted-bang", "external-name", "external-quoted-sheet", "range-into-other-book"],
)
def test_parse_references(text, expected):
    assert parse_reference(text) == expected
