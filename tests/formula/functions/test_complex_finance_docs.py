"""Microsoft's documentation examples for the complex-number, numeral, Thai-text and dated or
cumulative financial functions (support.microsoft.com, one page per function). Complex
results are Excel's exact text: IMPOWER("2+3i",3) is "-46+9.00000000000001i" because Excel
raises to a power in polar form, as we do.
"""

from __future__ import annotations

import pytest

from tests.formula.functions.cells import call, same, val

DOCS = [
    ("complex", "COMPLEX", [3, 4], "3+4i"),
    ("complex-j", "COMPLEX", [3, 4, "j"], "3+4j"),
    ("complex-imaginary-only", "COMPLEX", [0, 1], "i"),
    ("complex-real-only", "COMPLEX", [1, 0], "1"),
    ("imabs", "IMABS", ["5+12i"], 13.0),
    ("imaginary", "IMAGINARY", ["3+4i"], 4.0),
    ("imaginary-j", "IMAGINARY", ["0-j"], -1.0),
    ("imaginary-number", "IMAGINARY", [4], 0.0),
    ("imargument", "IMARGUMENT", ["3+4i"], 0.92729521800161),
    ("imconjugate", "IMCONJUGATE", ["3+4i"], "3-4i"),
    ("imcos", "IMCOS", ["1+i"], "0.833730025131149-0.988897705762865i"),
    ("imdiv", "IMDIV", ["-238+240i", "10+24i"], "5+12i"),
    ("imexp", "IMEXP", ["1+i"], "1.46869393991589+2.28735528717884i"),
    ("imln", "IMLN", ["3+4i"], "1.6094379124341+0.927295218001612i"),
    ("imlog10", "IMLOG10", ["3+4i"], "0.698970004336019+0.402719196273373i"),
    ("imlog2", "IMLOG2", ["3+4i"], "2.32192809488736+1.33780421245098i"),
    ("impower", "IMPOWER", ["2+3i", 3], "-46+9.00000000000001i"),
    ("improduct", "IMPRODUCT", ["3+4i", "5-3i"], "27+11i"),
    ("improduct-number", "IMPRODUCT", ["1+2i", 30], "30+60i"),
    ("imreal", "IMREAL", ["6-9i"], 6.0),
    ("imsin", "IMSIN", ["4+3i"], "-7.61923172032141-6.548120040911i"),
    ("imsqrt", "IMSQRT", ["1+i"], "1.09868411346781+0.455089860562227i"),
    ("imsub", "IMSUB", ["13+4i", "5+3i"], "8+i"),
    ("imsum", "IMSUM", ["3+4i", "5-3i"], "8+i"),
    ("imtan", "IMTAN", ["4+3i"], "0.00490825806749606+1.00070953606723i"),
    ("roman", "ROMAN", [499, 0], "CDXCIX"),
    ("roman-concise", "ROMAN", [499, 1], "LDVLIV"),
    ("roman-more-concise", "ROMAN", [499, 2], "XDIX"),
    ("roman-still-more", "ROMAN", [499, 3], "VDIV"),
    ("roman-simplified", "ROMAN", [499, 4], "ID"),
    ("arabic", "ARABIC", ["LVII"], 57.0),
    ("arabic-lower-case", "ARABIC", ["mcmxii"], 1912.0),
    ("decimal-hex", "DECIMAL", ["FF", 16], 255.0),
    ("decimal-binary", "DECIMAL", [111, 2], 7.0),
    ("decimal-base-36", "DECIMAL", ["zap", 36], 45745.0),
    ("bahttext", "BAHTTEXT", [1234], "หนึ่งพันสองร้อยสามสิบสี่บาทถ้วน"),
    ("cumipmt-second-year", "CUMIPMT", [0.09 / 12, 360, 125000, 13, 24, 0], -11135.23213),
    ("cumipmt-first-month", "CUMIPMT", [0.09 / 12, 360, 125000, 1, 1, 0], -937.5),
    ("cumprinc-second-year", "CUMPRINC", [0.09 / 12, 360, 125000, 13, 24, 0], -934.1071234),
    ("cumprinc-first-month", "CUMPRINC", [0.09 / 12, 360, 125000, 1, 1, 0], -68.27827118),
    ("ppmt-first-month", "PPMT", [0.1 / 12, 1, 24, 2000], -75.62318601),
    ("ppmt-last-year", "PPMT", [0.08, 10, 10, 200000], -27598.05346),
]
FLOWS = [[-10000, 2750, 4250, 3250, 2750]]
DATES = [[39448, 39508, 39751, 39859, 39904]]  # 1/1/2008, 3/1/2008, 10/30/2008, ...


@pytest.mark.parametrize(
    ("name", "args", "expected"), [c[1:] for c in DOCS], ids=[c[0] for c in DOCS]
)
def test_documented_example(name, args, expected):
    actual = call(name, *(val(arg) for arg in args))
    assert same(actual, expected, rel=1e-9), actual


def test_xnpv_documented_example():
    assert same(call("XNPV", val(0.09), val(FLOWS), val(DATES)), 2086.647602, rel=1e-9)


def test_xirr_documented_example():
    assert same(call("XIRR", val(FLOWS), val(DATES), val(0.1)), 0.373362535, rel=1e-8)
