"""Excel's own answers where LibreOffice cannot be the reference: values Excel saved in the
conformance workbooks (formulas' and pycel's test files, see ../shared/conformance) and values
from Microsoft's documentation. Each case names its source.
"""

from __future__ import annotations

import pytest

from tests.formula.functions.cells import call, err, ref, same, val

NA, NUM, VALUE = err("#N/A"), err("#NUM!"), err("#VALUE!")
BIG_TEXT = "123456789076754345682.2121234567832131341"
BIG_FIXED = "123,456,789,076,754,000,000"  # Excel keeps 15 significant digits

CASES = [
    # (id, function, args, Excel's value)  -- source
    (
        "irr-far-guess",
        "IRR",
        [val([[-7, 2, 1, 4, -3], [-7, 2, -1, 4, 4]]), val(7)],
        -0.021126011550541612,
    ),  # formulas test.xlsx FINANCIAL!T26
    ("irr-doc", "IRR", [ref([-70000, 12000, 15000, 18000, 21000])], -0.021244848272975),  # docs
    ("convert-foot-pound", "CONVERT", [val(1), val("flb"), val("J")], 1.3558179483314003),
    ("convert-picocalorie", "CONVERT", [val(1), val("pc"), val("J")], 4.184e-12),
    ("convert-parsec", "CONVERT", [val(1), val("pc"), val("km")], 30856775812815.531),
    ("convert-deka-e", "CONVERT", [val(1), val("eg"), val("g")], 10.0),
    ("convert-prefixed-mph", "CONVERT", [val(1), val("kmph"), val("m/h")], 1609344.0),
    ("convert-no-prefix-on-slug", "CONVERT", [val(1), val("ksg"), val("g")], NA),
    ("convert-cubed-caret", "CONVERT", [val(1), val("ft^3"), val("L")], 28.316846592),
    ("convert-boolean", "CONVERT", [ref(True), val("C"), val("F")], VALUE),
    ("datedif-yd-fake-leap-day", "DATEDIF", [val(8), val(1987), val("YD")], 153.0),
    ("isoweeknum-january-1900", "ISOWEEKNUM", [val(8)], 1.0),
    ("isoweeknum-serial-1", "ISOWEEKNUM", [val(1)], 52.0),
    ("weeknum-day-zero", "WEEKNUM", [val(0.7), val(1)], 0.0),
    ("yearfrac-basis-first", "YEARFRAC", [ref(err("#DIV/0!")), val(200), val(5)], NUM),
    ("yearfrac-text-basis", "YEARFRAC", [val(1), val(200), val("plugh")], VALUE),
    ("yearfrac-boolean-basis", "YEARFRAC", [val(1), val(200), ref(True)], VALUE),
    ("edate-boolean", "EDATE", [ref(366), ref(False)], VALUE),
    ("iseven-boolean", "ISEVEN", [ref(True)], VALUE),
    ("switch-blank-is-not-false", "SWITCH", [ref(False), ref(None), val("match")], NA),
    ("switch-blank-is-not-empty-text", "SWITCH", [ref(None), val(""), val("match")], NA),
    ("switch-blank-is-zero", "SWITCH", [ref(None), val(0), val("match")], "match"),
    ("switch-zero-is-blank", "SWITCH", [val(0), ref(None), val("match")], "match"),
    ("norm-s-dist-text-one", "NORM.S.DIST", [val(0.7), val("1")], VALUE),
    (
        "norm-dist-text-true",
        "NORM.DIST",
        [val(3), val(-1), val(2), val("TRUE")],
        0.9772498680518208,
    ),
    (
        "covariance-pairwise-error",
        "COVARIANCE.P",
        [ref([[True, err("#VALUE!"), NA]]), ref([[NA, err("#DIV/0!"), err("#NAME?")]])],
        NA,
    ),
    ("large-k-error-first", "LARGE", [ref([VALUE, 1.0]), ref(NA)], NA),
    ("gcd-negative-fraction", "GCD", [ref(-0.4)], NUM),
    (
        "forecast-day-first-text-date",
        "FORECAST",
        [val("29/02/1900"), ref([[0.1, 0.2, 0.3]]), ref([[0.2, 0.3, -0.1]])],
        -20.52307692307692,
    ),
    ("mround-boolean", "MROUND", [ref(True), val(0)], VALUE),
    ("factdouble-negative", "FACTDOUBLE", [val(-2)], NUM),
    # TEXT's over-long codes and conditional sections (formulas test.xlsx EXTRA!A35-A41)
    (
        "text-month-runs",
        "TEXT",
        [val(130), val("m mm mmm mmmm mmmmm mmmmmm mmmmmmm")],
        "5 05 May May M May May",
    ),
    ("text-year-runs", "TEXT", [val(130), val("y yy yyy yyyy yyyyyy")], "00 00 1900 1900 1900"),
    ("text-hour-runs", "TEXT", [val(130.63332), val("h hh hhh hhhh")], "15 15 15 15"),
    ("text-conditions", "TEXT", [val(2), val("[<=1]a;[=2]xx;xcx")], "xx"),
    ("text-condition-else", "TEXT", [val(3), val("[<=1]a;[=2]aa;xxx")], "xxx"),
    # TEXT places digits around literal text (formulas test.xlsx EXTRA!A12-A26)
    ("text-literal-inside-digits", "TEXT", [val(1234578.555), val("0cc###,00")], "1,2cc34,579"),
    ("text-degrees", "TEXT", [val(123456), val("##0° 00' 00''")], "12° 34' 56''"),
    ("text-digit-literals", "TEXT", [val(1234), val("5000700")], "5012734"),
    ("text-percent-spaces", "TEXT", [val(1.23), val("# ### %%%")], "1230 000 %%%"),
    ("text-grouping-spaces", "TEXT", [val(1234567890), val("0,## ##, ##")], "1,234,56 7,8 90"),
    ("text-point-kept", "TEXT", [val(1), val("0.")], "1."),
    # FIXED's decimals: at most 127, and far negative rounds everything away (formulas
    # test.xlsx TEXT!S18, T18, U18)
    ("fixed-decimals-over-127", "FIXED", [val(BIG_TEXT), val(128)], VALUE),
    ("fixed-127-decimals", "FIXED", [val(BIG_TEXT), val(127)], BIG_FIXED + "." + "0" * 127),
    ("fixed-far-negative-decimals", "FIXED", [val(BIG_TEXT), val(-128000)], "0"),
    ("pmt-doc", "PMT", [val(0.08 / 12), val(10), val(10000)], -1037.0320893591606),
    ("yearfrac-doc", "YEARFRAC", [val(40909), val(41120), val(1)], 0.57650273224043713),
]


@pytest.mark.parametrize(
    ("name", "args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_excel_value(name, args, expected):
    actual = call(name, *args)
    assert same(actual, expected, rel=1e-11), actual
