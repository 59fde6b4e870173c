"""The examples of Microsoft's documentation pages for the statistics and matrix functions
added with LINEST (each page's own data and result), and a few of Excel's argument rules
seen in the conformance workbooks' saved values (formulas' test.xlsx, cell named).
"""

from __future__ import annotations

import pytest

from tests.formula.functions.cells import call, err, ref, same, val

NA, NUM, VALUE, DIV0 = err("#N/A"), err("#NUM!"), err("#VALUE!"), err("#DIV/0!")
KURT_DATA = ref([3, 4, 5, 2, 3, 4, 5, 6, 4, 7])
RANKED = ref([13, 12, 11, 8, 4, 3, 2, 1, 1, 1])
EXC_DATA = ref([1, 2, 3, 6, 6, 6, 7, 8, 9])

CASES = [
    # (id, function, args, expected)
    ("kurt-doc", "KURT", [KURT_DATA], -0.151799637),
    ("skew-doc", "SKEW", [KURT_DATA], 0.359543071),
    ("skew-p-doc", "SKEW.P", [KURT_DATA], 0.303193339),
    ("trimmean-doc", "TRIMMEAN", [ref([4, 5, 6, 7, 2, 3, 4, 5, 1, 2, 3]), val(0.2)], 3.777777778),
    ("percentrank-inc-doc-2", "PERCENTRANK.INC", [RANKED, val(2)], 0.333),
    ("percentrank-inc-doc-4", "PERCENTRANK.INC", [RANKED, val(4)], 0.555),
    ("percentrank-inc-doc-8", "PERCENTRANK.INC", [RANKED, val(8)], 0.666),
    ("percentrank-inc-doc-5", "PERCENTRANK.INC", [RANKED, val(5)], 0.583),
    ("percentrank-exc-doc-7", "PERCENTRANK.EXC", [EXC_DATA, val(7)], 0.7),
    ("percentrank-exc-doc-5.43", "PERCENTRANK.EXC", [EXC_DATA, val(5.43)], 0.381),
    ("percentrank-exc-doc-digits", "PERCENTRANK.EXC", [EXC_DATA, val(5.43), val(1)], 0.3),
    (
        "frequency-doc",
        "FREQUENCY",
        [ref([79, 85, 78, 85, 50, 81, 95, 88, 97]), ref([70, 79, 89])],
        [[1.0], [2.0], [4.0], [2.0]],
    ),
    (
        "mode-mult-doc",
        "MODE.MULT",
        [ref([1, 2, 3, 4, 3, 2, 1, 2, 3, 5, 6, 1])],
        [[1.0], [2.0], [3.0]],
    ),
    (
        "mdeterm-doc",
        "MDETERM",
        [val([[1, 3, 8, 5], [1, 3, 6, 1], [1, 1, 1, 0], [7, 3, 10, 2]])],
        88.0,
    ),
    ("minverse-doc", "MINVERSE", [val([[4, -1], [2, 0]])], [[0.0, 0.5], [-1.0, 2.0]]),
    ("averagea-doc", "AVERAGEA", [ref([10, 7, 9, 2, "Not available"])], 5.6),
    ("maxa-doc", "MAXA", [ref([0, 0.2, 0.5, 0.4, True])], 1.0),
    ("mina-doc", "MINA", [ref([False, 0.2, 0.5, 0.4, 0.8])], 0.0),
    # Excel's saved values, formulas test.xlsx
    ("kurt-mixed", "KURT", [ref([4, 0.1]), ref([0.1, 0.2]), ref([0.2, 0.3])], 5.951621437925667),
    ("trimmean-text-percent", "TRIMMEAN", [ref([0, 1, 0.7, 0.2, -1]), ref("29/02/1900")], NUM),
    (  # STATISTICAL!Y80
        "percentrank-exc-boolean-x",
        "PERCENTRANK.EXC",
        [ref([0, 0.1, 0.7, 0.002, 4]), ref(True), val(2)],
        0.68,
    ),
    ("mode-sngl-empty-text", "MODE.SNGL", [ref([0.1, 0.2]), ref([0.2, 0.3]), val("")], 0.2),
    ("mode-mult-empty-arg", "MODE.MULT", [ref([1, 1]), val(None)], VALUE),  # STATISTICAL!AG69
    ("frequency-blank-bins", "FREQUENCY", [ref([2, 3, 4]), ref([None, None])], [[0.0], [3.0]]),
    ("large-below-one", "LARGE", [ref([0.1, -10, 0.9, 2.2, -0.1]), val(0.9)], NUM),  # AG57
    ("small-fraction", "SMALL", [ref([0, -10, 0.9, 2.2, -0.1]), val(2.2)], -0.1),  # AK95
    ("quartile-negative", "QUARTILE.INC", [ref([0, -10, 0.9, 2.2, -0.1]), val(-0.1)], NUM),
    ("pearson-null-last", "PEARSON", [ref([err("#NULL!"), NUM]), ref([err("#REF!"), 1])], NUM),
    ("forecast-blank-x-cell", "FORECAST.LINEAR", [val(1), ref(7), ref(None)], VALUE),  # V42
    ("gcd-text-cell", "GCD", [ref("ciao")], VALUE),  # 'MATH & TRIG'!X34
    ("gcd-boolean-first", "GCD", [ref(-0.4), ref(True)], VALUE),  # Y34
    ("factdouble-below-minus-one", "FACTDOUBLE", [ref(-1.1)], NUM),  # T31
    ("erfc-boolean", "ERFC", [ref(True)], VALUE),  # ENGINEERING!Y23
]


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_documented_values(name, args, expected):
    assert same(call(name, *args), expected, rel=1e-9)
