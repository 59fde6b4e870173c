"""Distributions and hypothesis tests against values that do not come from scipy: Microsoft's
documentation examples (compared to the digits the page shows), closed forms, and Excel's own
saved values in the formulas test workbook where Excel departs from its documentation or from
LibreOffice (each case names its cell there).
"""

from __future__ import annotations

import math

import pytest

from tests.formula.functions.cells import call, err, ref, same, val

NA, NUM, VALUE, DIV0, NULL = (err(t) for t in ("#N/A", "#NUM!", "#VALUE!", "#DIV/0!", "#NULL!"))

# (id, function, args, value as the documentation prints it, its last digit's place)
DOCUMENTED = [
    ("beta-dist-cdf", "BETA.DIST", [2, 8, 10, True, 1, 3], 0.6854706, 1e-7),
    ("beta-dist-pdf", "BETA.DIST", [2, 8, 10, False, 1, 3], 1.4837646, 1e-7),
    ("beta-inv", "BETA.INV", [0.685470581, 8, 10, 1, 3], 2.0, 1e-7),
    ("binom-dist", "BINOM.DIST", [6, 10, 0.5, False], 0.2050781, 1e-7),
    ("binom-dist-range", "BINOM.DIST.RANGE", [60, 0.75, 48], 0.084, 1e-3),
    ("binom-dist-range-span", "BINOM.DIST.RANGE", [60, 0.75, 45, 50], 0.524, 1e-3),
    ("binom-inv", "BINOM.INV", [6, 0.5, 0.75], 4.0, 0.0),
    ("chisq-dist-cdf", "CHISQ.DIST", [0.5, 1, True], 0.52049988, 1e-8),
    ("chisq-dist-pdf", "CHISQ.DIST", [2, 3, False], 0.20755375, 1e-8),
    ("chisq-dist-rt", "CHISQ.DIST.RT", [18.307, 10], 0.0500006, 1e-7),
    ("chisq-inv", "CHISQ.INV", [0.93, 1], 3.283020287, 1e-9),
    ("chisq-inv-2", "CHISQ.INV", [0.6, 2], 1.832581464, 1e-9),
    ("chisq-inv-rt", "CHISQ.INV.RT", [0.050001, 10], 18.306973, 1e-6),
    ("confidence-norm", "CONFIDENCE.NORM", [0.05, 2.5, 50], 0.692952, 1e-6),
    ("confidence-t", "CONFIDENCE.T", [0.05, 1, 50], 0.284196855, 1e-9),
    ("expon-dist-cdf", "EXPON.DIST", [0.2, 10, True], 0.86466472, 1e-8),
    ("expon-dist-pdf", "EXPON.DIST", [0.2, 10, False], 1.35335283, 1e-8),
    ("f-dist-cdf", "F.DIST", [15.2069, 6, 4, True], 0.99, 1e-2),
    ("f-dist-pdf", "F.DIST", [15.2069, 6, 4, False], 0.0012238, 1e-7),
    ("f-dist-rt", "F.DIST.RT", [15.2068649, 6, 4], 0.01, 1e-2),
    ("f-inv", "F.INV", [0.01, 6, 4], 0.10930991, 1e-8),
    ("f-inv-rt", "F.INV.RT", [0.01, 6, 4], 15.206865, 1e-6),
    ("gamma-dist-pdf", "GAMMA.DIST", [10.00001131, 9, 2, False], 0.032639, 1e-6),
    ("gamma-dist-cdf", "GAMMA.DIST", [10.00001131, 9, 2, True], 0.068094, 1e-6),
    ("gamma-inv", "GAMMA.INV", [0.068094, 9, 2], 10.0000112, 1e-5),
    ("hypgeom-dist-cdf", "HYPGEOM.DIST", [1, 4, 8, 20, True], 0.4654, 1e-4),
    ("hypgeom-dist-pmf", "HYPGEOM.DIST", [1, 4, 8, 20, False], 0.3633, 1e-4),
    ("lognorm-dist-cdf", "LOGNORM.DIST", [4, 3.5, 1.2, True], 0.0390836, 1e-7),
    ("lognorm-dist-pdf", "LOGNORM.DIST", [4, 3.5, 1.2, False], 0.0176176, 1e-7),
    ("lognorm-inv", "LOGNORM.INV", [0.039084, 3.5, 1.2], 4.0000252, 1e-7),
    ("negbinom-dist-cdf", "NEGBINOM.DIST", [10, 5, 0.25, True], 0.3135141, 1e-7),
    ("negbinom-dist-pmf", "NEGBINOM.DIST", [10, 5, 0.25, False], 0.0550487, 1e-7),
    ("permutationa", "PERMUTATIONA", [3, 2], 9.0, 0.0),
    ("poisson-dist-cdf", "POISSON.DIST", [2, 5, True], 0.124652, 1e-6),
    ("poisson-dist-pmf", "POISSON.DIST", [2, 5, False], 0.084224, 1e-6),
    ("t-dist-cdf", "T.DIST", [60, 1, True], 0.99469533, 1e-8),
    ("t-dist-pdf", "T.DIST", [8, 3, False], 0.00073691, 1e-8),
    ("t-dist-2t", "T.DIST.2T", [1.959999998, 60], 0.054645, 1e-6),
    ("t-dist-rt", "T.DIST.RT", [1.959999998, 60], 0.027322, 1e-6),
    ("t-inv", "T.INV", [0.75, 2], 0.8164966, 1e-7),
    ("t-inv-2t", "T.INV.2T", [0.546449, 60], 0.606533, 1e-6),
    ("weibull-dist-cdf", "WEIBULL.DIST", [105, 20, 100, True], 0.929581, 1e-6),
    ("weibull-dist-pdf", "WEIBULL.DIST", [105, 20, 100, False], 0.035589, 1e-6),
]


@pytest.mark.parametrize(
    "name, args, expected, place", [c[1:] for c in DOCUMENTED], ids=[c[0] for c in DOCUMENTED]
)
def test_documented_example(name, args, expected, place):
    result = call(name, *(val(a) for a in args))
    assert abs(result - expected) <= place / 2 + 1e-12 * abs(expected), result


T_A = [3, 4, 5, 8, 9, 1, 2, 4, 5]  # T.TEST's documentation data
T_B = [6, 19, 3, 2, 14, 4, 5, 17, 1]
Z_DATA = [3, 6, 7, 8, 6, 5, 4, 2, 1, 9]  # Z.TEST's
CHI_ACTUAL = [[58, 35], [11, 25], [10, 23]]  # CHISQ.TEST's
CHI_EXPECTED = [[45.35, 47.65], [17.56, 18.44], [16.09, 16.91]]

# (id, function, args, documented value, its last digit's place)
DOCUMENTED_ARRAYS = [
    ("t-test-paired", "T.TEST", [ref(T_A), ref(T_B), val(2), val(1)], 0.196016, 1e-6),
    ("f-test", "F.TEST", [ref([6, 7, 9, 15, 21]), ref([20, 28, 31, 38, 40])], 0.64831785, 1e-8),
    ("chisq-test", "CHISQ.TEST", [ref(CHI_ACTUAL), ref(CHI_EXPECTED)], 0.0003082, 1e-7),
    ("z-test-4", "Z.TEST", [ref(Z_DATA), val(4)], 0.090574, 1e-6),
    ("z-test-6", "Z.TEST", [ref(Z_DATA), val(6)], 0.863043, 1e-6),
    ("prob-one", "PROB", [val([[0, 1, 2, 3]]), val([[0.2, 0.3, 0.1, 0.4]]), val(2)], 0.1, 1e-9),
    (
        "prob-span",
        "PROB",
        [val([[0, 1, 2, 3]]), val([[0.2, 0.3, 0.1, 0.4]]), val(1), val(3)],
        0.8,
        1e-9,
    ),
]


@pytest.mark.parametrize(
    "name, args, expected, place",
    [c[1:] for c in DOCUMENTED_ARRAYS],
    ids=[c[0] for c in DOCUMENTED_ARRAYS],
)
def test_documented_array_example(name, args, expected, place):
    result = call(name, *args)
    assert abs(result - expected) <= place / 2 + 1e-12, result


def _binomial_range(n: int, p: float, lo: int, hi: int) -> float:
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(lo, hi + 1))


@pytest.mark.parametrize(
    "args",
    [(60, 0.75, 48, 48), (60, 0.75, 45, 50), (10, 0.3, 0, 10), (7, 0.01, 2, 5)],
    ids=["single", "span", "all", "small-tail"],
)
def test_binom_dist_range_is_the_sum_of_its_terms(args):
    n, p, lo, hi = args
    result = call("BINOM.DIST.RANGE", val(n), val(p), val(lo), val(hi))
    assert math.isclose(result, _binomial_range(n, p, lo, hi), rel_tol=1e-12)


# Excel's saved values in ../shared/conformance/formulas/test__test_files__test.xlsx, sheet
# STATISTICAL (cell named), where they depart from the documentation or from LibreOffice.
TEXT_DATE = "29/02/1900"  # a text date: serial 60
EXCEL_SAVED = [
    ("beta-inv-one", "BETA.INV", [ref(True), val(3), val(2)], NUM),  # AO9
    ("beta-dist-text-date", "BETA.DIST", [ref(True), ref(TEXT_DATE), val(0.7), val(1)], 1.0),
    ("hypgeom-cdf-above-sample", "HYPGEOM.DIST", [val(5), val(3), val(2), val(30), val(1)], 1.0),
    ("hypgeom-all-zero", "HYPGEOM.DIST", [val(0)] + [ref(None)] * 4, 1.0),  # R54
    (
        "hypgeom-sample-above-population",
        "HYPGEOM.DIST",
        [val(1)] + [val(v) for v in (60, 45, 32, 1)],
        NUM,
    ),
    ("t-dist-pdf-no-df", "T.DIST", [val(0), ref(None), ref(None)], DIV0),  # R102
    ("t-dist-cdf-no-df", "T.DIST", [ref(None), ref(None), val(1)], NUM),  # W102
    ("confidence-t-one", "CONFIDENCE.T", [val(0.9), val(7), val(1)], DIV0),  # V19
    ("binom-range-text-true", "BINOM.DIST.RANGE", [val(3), val(-1), val(0.2), val("TRUE")], VALUE),
    (
        "lognorm-text-true",
        "LOGNORM.DIST",
        [val(3), val(-1), val(2), val("TRUE")],
        0.8529813804934137,
    ),
    (
        "prob-blank-upper",
        "PROB",
        [val([[1, 2, 3, 4, 5]]), val([[0.1, 0.2, 0.3, 0.3, 0.1]]), val(1), ref(None)],
        0.0,
    ),
    (
        "prob-sum-not-one",
        "PROB",
        [val([[1, 2, 3, 4, 5]]), val([[0.1, 0.2, 0.3, 0.2, 0.1]]), val(0.7)],
        NUM,
    ),
    ("prob-sizes", "PROB", [val([[1, 2, 3, 4, 5]]), val([[0.1, 0.2, 0.3, 0.4]]), val(4)], NA),
    (
        "chisq-test-shapes",
        "CHISQ.TEST",
        [ref([[10, 0.1], [10, 3.2]]), ref([0.7] * 4)],
        9.66041305483331e-58,
    ),
    (
        "chisq-test-blank-pair",
        "CHISQ.TEST",
        [ref([[0.7, 2]]), ref([[4, None]])],
        0.09894293606729619,
    ),
    ("chisq-test-one-cell", "CHISQ.TEST", [ref(3.2), ref(2)], NA),  # U17
    ("chisq-test-no-pairs", "CHISQ.TEST", [ref([[4, None, "x"]]), ref([[None, "x", True]])], DIV0),
    (
        "chisq-test-null-passed-over",
        "CHISQ.TEST",
        [ref([[NULL, NUM]]), ref([[err("#REF!"), 1]])],
        NUM,
    ),
    ("f-test-one-number", "F.TEST", [ref([[0.7, 2]]), ref([[4, None]])], DIV0),  # T34
    ("z-test-one-number-with-sigma", "Z.TEST", [ref([[4, None, "x"]]), ref(None), val(2)], DIV0),
    ("z-test-x-error-first", "Z.TEST", [ref([[NA, DIV0]]), ref(NULL), ref(err("#NAME?"))], NULL),
    ("z-test-sigma-zero", "Z.TEST", [ref([[3.2, 0.7]]), val(2), val(0)], NUM),  # U121
    ("permutationa-text", "PERMUTATIONA", [ref("ciao"), ref(None)], VALUE),  # W83
]


@pytest.mark.parametrize(
    "name, args, expected", [c[1:] for c in EXCEL_SAVED], ids=[c[0] for c in EXCEL_SAVED]
)
def test_excel_saved_value(name, args, expected):
    assert same(call(name, *args), expected, rel=1e-12)


TAILS = val([[1], [2], [1], [2], [1], [2]])
TYPES = val([[1], [2], [3], [1], [2], [3]])


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (  # R107:R112: a 2x2 range paired with a 4x1 one
            [[10, 0.1], [10, 3.2]],
            [0.7, 0.7, 0.7, 0.7],
            [0.06596981193605113, 0.08547090523883295, 0.06596981193605113]
            + [0.13193962387210226, 0.04273545261941648, 0.13193962387210226],
        ),
        (  # S107:S112: paired arrays of two sizes
            [[3.2, 0.7]],
            [[0.7, 2, 4]],
            [NA, 0.866634072152544, 0.4364188915262061, NA, 0.433317036076272, 0.8728377830524122],
        ),
        (  # Y107:Y112: pair by pair, array2's #N/A comes before array1's second cell
            [[True, VALUE]],
            [[NA, DIV0]],
            [NA, VALUE, VALUE, NA, VALUE, VALUE],
        ),
        ([[NULL, NUM]], [[err("#REF!"), 0.07]], [NUM] * 6),  # AD107:AD112
    ],
    ids=["two-shapes", "two-sizes", "paired-error-order", "null-passed-over"],
)
def test_t_test_by_tails_and_type(a, b, expected):
    result = call("T.TEST", ref(a), ref(b), TAILS, TYPES)
    assert same([row[0] for row in result], expected, rel=1e-12), result


def test_booleans_in_ranges_are_left_out():
    """F.TEST's documentation: logical values in an array argument are ignored (LibreOffice
    counts them as 1); the result equals the test on the numbers alone, found from the closed
    form of the F distribution with 2 and 2 degrees of freedom: P(F <= f) = f / (1 + f).
    """
    with_bool = call("F.TEST", ref([2, True, 4, 9]), ref([1, 2, 6]))
    f = 13 / 7  # sample variances of (2, 4, 9) and (1, 2, 6)
    assert math.isclose(with_bool, 2 * (1 - f / (1 + f)), rel_tol=1e-12)


def test_compatibility_names_share_the_new_functions():
    """TDIST's tails, CHIDIST, FDIST and the other Excel 2007 names give the new functions'
    values (TDIST(x, df, 2) = T.DIST.2T(x, df), LOGNORMDIST = LOGNORM.DIST(..., TRUE)).
    """
    x, df = val(1.959999998), val(60)
    assert same(call("TDIST", x, df, val(2)), call("T.DIST.2T", x, df))
    assert same(call("TDIST", x, df, val(1)), call("T.DIST.RT", x, df))
    assert same(call("CHIDIST", val(18.307), val(10)), call("CHISQ.DIST.RT", val(18.307), val(10)))
    assert same(
        call("LOGNORMDIST", val(4), val(3.5), val(1.2)),
        call("LOGNORM.DIST", val(4), val(3.5), val(1.2), val(True)),
    )
    assert same(
        call("HYPGEOMDIST", val(1), val(4), val(8), val(20)),
        call("HYPGEOM.DIST", val(1), val(4), val(8), val(20), val(False)),
    )
    assert same(call("CRITBINOM", val(6), val(0.5), val(0.75)), 4.0)
