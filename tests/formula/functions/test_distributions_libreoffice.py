"""Probability distributions and hypothesis tests against LibreOffice Calc: one workbook, one
soffice run.

Each case is a formula on sheet Cases, reading sheet Data where it needs ranges; the workbook is
written with openpyxl, recalculated by LibreOffice and evaluated by our engine, and each cell
must agree within 1e-9 relative (LibreOffice's inverse functions stop their search earlier than
scipy's). Where Excel and LibreOffice differ the case records both, Excel's value from its
saved results in the formulas test workbook: ours must equal Excel's, and LibreOffice must
still give its own (else the note is stale).
"""

from __future__ import annotations

import math
import re

import pytest

from tests.formula.functions.cells import Case
from tests.libreoffice import recalculate, workbook_with_data, write_formula
from xl_lesson3.formula.evaluate.recalc import evaluate_workbook
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.load import load_workbook

REL = 1e-9
# Excel's values where LibreOffice differs: Excel answers an out-of-domain argument with #NUM!,
# LibreOffice with #VALUE! (Excel's saved values in the formulas test workbook, e.g.
# STATISTICAL!S8 for BETA.DIST(5,1,2,FALSE), show #NUM! for each function).
NUM, VALUE, NA, DIV0 = "#NUM!", "#VALUE!", "#N/A", "#DIV/0!"

# Sheet Data, column by column (row 1 first); None leaves a cell blank.
DATA = {
    "A": [3.2, 0.7, 2, 4, 10, 5.5, 1.25, 8],
    "B": [2.9, 1.1, 2.5, 3.1, 9, 6, 1.5, 7],
    "C": [10, 0.1, 10, 3.2, None, "text", 5, 6],
    "D": [0.7, 0.7, 0.7, 0.7, 1, 2, 3, 4],
    "E": [58, 35, 11, 25, 10, 23, None, None],  # CHISQ.TEST's actual counts (docs example)
    "F": [45.35, 47.65, 17.56, 18.44, 16.09, 16.91, None, None],  # and expected counts
    "G": [1, 2, 3, 4, None, None, None, None],  # PROB's values
    "H": [0.1, 0.3, 0.2, 0.4, None, None, None, None],  # and probabilities
}

XLFN_NAME = re.compile(r"(?<![\w.])([A-Z]+\.[A-Z0-9.]+|PERMUTATIONA)\(")


C = Case
CASES: list[Case] = [
    # -- continuous
    C("beta-dist-cdf", "=BETA.DIST(2,8,10,TRUE,1,3)"),
    C("beta-dist-pdf", "=BETA.DIST(2,8,10,FALSE,1,3)"),
    C("beta-dist-unit", "=BETA.DIST(0.3,2,5,TRUE)"),
    C("beta-dist-outside", "=BETA.DIST(5,1,2,FALSE)", excel=NUM, lo=VALUE),
    C("beta-dist-alpha-zero", "=BETA.DIST(0.5,0,2,TRUE)", excel=NUM, lo=VALUE),
    C("betadist", "=BETADIST(2,8,10,1,3)"),
    C("beta-inv", "=BETA.INV(0.685470581,8,10,1,3)"),
    C("beta-inv-unit", "=BETA.INV(0.2,2,2)"),
    C("beta-inv-zero", "=BETA.INV(0,2,2)", excel=NUM, lo=0.0),
    C("betainv", "=BETAINV(0.4,2,0.7)"),
    C("gamma-dist-cdf", "=GAMMA.DIST(10.00001131,9,2,TRUE)"),
    C("gamma-dist-pdf", "=GAMMA.DIST(10.00001131,9,2,FALSE)"),
    C("gamma-dist-negative", "=GAMMA.DIST(-1,9,2,TRUE)", excel=NUM, lo=VALUE),
    C("gammadist", "=GAMMADIST(0.7,1,5,TRUE)"),
    C("gamma-inv", "=GAMMA.INV(0.068094,9,2)"),
    C("gamma-inv-zero", "=GAMMA.INV(0,3,2.22)"),
    C("gammainv", "=GAMMAINV(0.9,13,781)"),
    C("lognorm-dist-cdf", "=LOGNORM.DIST(4,3.5,1.2,TRUE)"),
    C("lognorm-dist-pdf", "=LOGNORM.DIST(4,3.5,1.2,FALSE)"),
    C("lognorm-dist-zero", "=LOGNORM.DIST(0,3.5,1.2,TRUE)", excel=NUM, lo=0.0),
    C("lognormdist", "=LOGNORMDIST(4,3.5,1.2)"),
    C("lognorm-inv", "=LOGNORM.INV(0.039084,3.5,1.2)"),
    C("loginv", "=LOGINV(0.9,13,1)"),
    C("expon-dist-cdf", "=EXPON.DIST(0.2,10,TRUE)"),
    C("expon-dist-pdf", "=EXPON.DIST(0.2,10,FALSE)"),
    C("expon-dist-rate-zero", "=EXPON.DIST(0.2,0,TRUE)", excel=NUM, lo=VALUE),
    C("expondist", "=EXPONDIST(5,10,FALSE)"),
    C("weibull-dist-cdf", "=WEIBULL.DIST(105,20,100,TRUE)"),
    C("weibull-dist-pdf", "=WEIBULL.DIST(105,20,100,FALSE)"),
    C("weibull-negative", "=WEIBULL.DIST(-0.1,1,2,FALSE)", excel=NUM, lo=VALUE),
    C("weibull", "=WEIBULL(0.7,1,3,TRUE)"),
    C("confidence-norm", "=CONFIDENCE.NORM(0.05,2.5,50)"),
    C("confidence-norm-size-truncated", "=CONFIDENCE.NORM(0.05,2.5,50.9)"),
    C("confidence-norm-alpha-one", "=CONFIDENCE.NORM(1,2.5,50)", excel=NUM, lo=VALUE),
    C("confidence", "=CONFIDENCE(0.9,7,1)"),
    C("confidence-t", "=CONFIDENCE.T(0.05,1,50)"),
    C("confidence-t-small", "=CONFIDENCE.T(0.32,10,3)"),
    # -- t, F, chi-squared
    C("t-dist-cdf", "=T.DIST(60,1,TRUE)"),
    C("t-dist-pdf", "=T.DIST(8,3,FALSE)"),
    C("t-dist-df-truncated", "=T.DIST(0.7,1.9,TRUE)"),
    C("t-dist-df-negative", "=T.DIST(3,-1,TRUE)", excel=NUM, lo=VALUE),
    C("t-dist-rt", "=T.DIST.RT(1.959999998,60)"),
    C("t-dist-2t", "=T.DIST.2T(1.959999998,60)"),
    C("t-dist-2t-negative", "=T.DIST.2T(-1,60)", excel=NUM, lo=VALUE),
    C("tdist-one-tail", "=TDIST(1.959999998,60,1)"),
    C("tdist-two-tails", "=TDIST(1.959999998,60,2)"),
    C("tdist-three-tails", "=TDIST(1.959999998,60,3)", excel=NUM, lo=VALUE),
    C("t-inv", "=T.INV(0.75,2)"),
    C("t-inv-one", "=T.INV(1,2)", excel=NUM, lo=VALUE),
    C("t-inv-2t", "=T.INV.2T(0.546449,60)"),
    C("t-inv-2t-one", "=T.INV.2T(1,60)"),
    C("tinv", "=TINV(0.01,100)"),
    C("f-dist-cdf", "=F.DIST(15.2069,6,4,TRUE)"),
    C("f-dist-pdf", "=F.DIST(15.2069,6,4,FALSE)"),
    C("f-dist-df-zero", "=F.DIST(1,0,4,TRUE)", excel=NUM, lo=VALUE),
    C("f-dist-rt", "=F.DIST.RT(15.2069,6,4)"),
    C("fdist", "=FDIST(5,10,65)"),
    C("f-inv", "=F.INV(0.01,6,4)"),
    C("f-inv-zero", "=F.INV(0,3,2)", excel=0.0, lo=VALUE),
    C("f-inv-rt", "=F.INV.RT(0.01,6,4)"),
    C("finv", "=FINV(0.1,9,34)"),
    C("chisq-dist-cdf", "=CHISQ.DIST(0.5,1,TRUE)"),
    C("chisq-dist-pdf", "=CHISQ.DIST(2,3,FALSE)"),
    C("chisq-dist-negative", "=CHISQ.DIST(-2,3,FALSE)", excel=NUM, lo=VALUE),
    C("chisq-dist-rt", "=CHISQ.DIST.RT(18.307,10)"),
    C("chisq-dist-rt-far", "=CHISQ.DIST.RT(60,3)"),
    C("chidist", "=CHIDIST(18.307,10)"),
    C("chisq-inv", "=CHISQ.INV(0.93,1)"),
    C("chisq-inv-zero", "=CHISQ.INV(0,3)"),
    C("chisq-inv-rt", "=CHISQ.INV.RT(0.050001,10)"),
    C("chisq-inv-rt-zero", "=CHISQ.INV.RT(0,10)", excel=NUM, lo=VALUE),
    C("chiinv", "=CHIINV(0.01,100)"),
    # -- discrete
    C("binom-dist-pmf", "=BINOM.DIST(6,10,0.5,FALSE)"),
    C("binom-dist-cdf", "=BINOM.DIST(6.9,10,0.5,TRUE)"),
    C("binom-dist-too-many", "=BINOM.DIST(11,10,0.5,TRUE)", excel=NUM, lo=VALUE),
    C("binomdist", "=BINOMDIST(1,60,0.7,TRUE)"),
    C("binom-inv", "=BINOM.INV(6,0.5,0.75)"),
    C("binom-inv-alpha-zero", "=BINOM.INV(6,0.5,0)"),
    C("critbinom", "=CRITBINOM(100,0.4,0.3)"),
    C("negbinom-dist-pmf", "=NEGBINOM.DIST(10,5,0.25,FALSE)"),
    C("negbinom-dist-cdf", "=NEGBINOM.DIST(10,5,0.25,TRUE)"),
    C("negbinom-dist-no-successes", "=NEGBINOM.DIST(10,0,0.25,TRUE)", excel=NUM, lo=VALUE),
    C("negbinomdist", "=NEGBINOMDIST(4,7,0.4)"),
    C("hypgeom-dist-pmf", "=HYPGEOM.DIST(1,4,8,20,FALSE)"),
    C("hypgeom-dist-cdf", "=HYPGEOM.DIST(1,4,8,20,TRUE)"),
    C("hypgeom-dist-sample-too-big", "=HYPGEOM.DIST(1,30,8,20,TRUE)", excel=NUM, lo=VALUE),
    C("hypgeomdist", "=HYPGEOMDIST(1,4,8,20)"),
    C("poisson-dist-pmf", "=POISSON.DIST(2,5,FALSE)"),
    C("poisson-dist-cdf", "=POISSON.DIST(2.9,5,TRUE)"),
    C("poisson-dist-negative-mean", "=POISSON.DIST(2,-1,TRUE)", excel=NUM, lo=VALUE),
    C("poisson", "=POISSON(60,60,TRUE)"),
    C("permutationa", "=PERMUTATIONA(3,2)"),
    C("permutationa-truncated", "=PERMUTATIONA(10.9,2.3)"),
    C("permutationa-negative", "=PERMUTATIONA(-1,2)", excel=NUM, lo=VALUE),
    C("prob-range", "=PROB(G1:G4,H1:H4,2)"),
    C("prob-between", "=PROB(G1:G4,H1:H4,1,3)"),
    C("prob-bad-sum", "=PROB(G1:G4,{0.1,0.3,0.2,0.3},2)", excel=NUM, lo=NA),
    C("prob-sizes", "=PROB(G1:G4,H1:H3,2)"),
    # -- elementwise over ranges
    C("chisq-inv-over-range", "=CHISQ.INV(0.5,D5:D8)", shape=(4, 1)),
    C("binom-dist-over-range", "=BINOM.DIST(A1:A4,10,0.3,TRUE)", shape=(4, 1)),
    C("t-dist-rt-over-array", "=T.DIST.RT({-1,0,1,2},5)", shape=(1, 4)),
    # -- hypothesis tests
    C("t-test-paired", "=T.TEST(A1:A8,B1:B8,2,1)"),
    C("t-test-equal", "=T.TEST(A1:A8,B1:B8,2,2)"),
    C("t-test-welch-one-tail", "=T.TEST(A1:A8,B1:B8,1,3)"),
    C("t-test-skips-text", "=T.TEST(C1:C8,D1:D8,2,3)"),
    C("t-test-paired-skips-pairs", "=T.TEST(C1:C8,D1:D8,2,1)"),
    C("t-test-bad-tails", "=T.TEST(A1:A8,B1:B8,3,1)", excel=NUM, lo=VALUE),
    C("t-test-paired-sizes", "=T.TEST(A1:A8,B1:B7,2,1)", excel=NA, lo=VALUE),
    C("t-test-types", "=T.TEST(A1:A8,B1:B8,{1;2;1},{1;2;3})", shape=(3, 1)),
    C("ttest", "=TTEST(A1:A8,D1:D8,2,2)"),
    C("f-test", "=F.TEST(A1:A8,B1:B8)"),
    C("f-test-constant", "=F.TEST(A1:A8,D1:D4)", excel=DIV0, lo=VALUE),
    C("ftest", "=FTEST(C1:C8,B1:B6)"),
    C("chisq-test", "=CHISQ.TEST(E1:E6,F1:F6)"),
    C("chisq-test-table", "=CHISQ.TEST(E1:E3,F1:F3)"),
    C("chisq-test-sizes", "=CHISQ.TEST(E1:E6,F1:F5)", excel=NA, lo=VALUE),
    C("chitest", "=CHITEST(A1:B4,D1:D4)", excel=NA, lo=VALUE),  # 8 cells against 4
    C("z-test", "=Z.TEST(A1:A8,4)"),
    C("z-test-sigma", "=Z.TEST(A1:A8,4,2)"),
    C("z-test-sigma-zero", "=Z.TEST(A1:A8,4,0)", excel=NUM, lo=VALUE),
    C("ztest", "=ZTEST(C1:C8,6)"),
    C("z-test-over-x", "=Z.TEST(A1:A8,D5:D8)", shape=(4, 1)),
]


def _write(path) -> dict[str, int]:
    book = workbook_with_data(DATA)
    sheet = book.create_sheet("Cases")
    rows, row = {}, 1
    for case in CASES:
        formula = XLFN_NAME.sub(r"_xlfn.\1(", _qualify(case.formula))
        write_formula(sheet, row, 2, formula, case.shape)
        rows[case.id] = row
        row += case.shape[0]
    book.save(path)
    return rows


def _qualify(formula: str) -> str:
    """References written with sheet Data's name."""
    return re.sub(r"(?<![A-Za-z_.!$\d])([A-H]\d+(?::[A-H]\d+)?)(?![\w(])", r"Data!\1", formula)


def _plain(value: object) -> object:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value if value is None or isinstance(value, (bool, str)) else str(value)


def agree(ours: object, theirs: object) -> bool:
    ours, theirs = _plain(ours), _plain(theirs)
    if isinstance(ours, float) and isinstance(theirs, float):
        return math.isclose(ours, theirs, rel_tol=REL, abs_tol=1e-300)
    return type(ours) is type(theirs) and ours == theirs


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = tmp_path_factory.mktemp("distributions") / "distributions.xlsx"
    rows = _write(path)
    ours = evaluate_workbook(load_workbook(path))
    theirs = recalculate(path)["Cases"]
    return rows, ours, theirs


def _cells(case: Case, row: int):
    for i in range(case.shape[0]):
        for j in range(case.shape[1]):
            yield row + i, 2 + j


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_agrees_with_libreoffice(case: Case, results):
    rows, ours, theirs = results
    for row, col in _cells(case, rows[case.id]):
        mine = ours[CellAddress("Cases", row, col)]
        reference = theirs.cell(row, col).value
        if case.excel is not None:
            assert agree(mine, case.excel), (mine, case.excel)
            assert agree(reference, case.lo), f"LibreOffice now gives {reference!r}: drop `lo`"
            continue
        assert agree(mine, reference), f"{case.formula}: ours {mine!r}, LibreOffice {reference!r}"
