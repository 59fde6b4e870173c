"""`python -m benchmarks conformance`: the agreement rule and our score on shared workbooks."""

from __future__ import annotations

import pytest

from benchmarks.conformance import CONFORMANCE_DIR, score_ours, workbooks
from xl_lesson3.formula.evaluate.check import values_agree
from xl_lesson3.formula.scalars import ErrorCode, ExcelError

NA = ExcelError(ErrorCode.NA)


@pytest.mark.parametrize(
    ("excel", "ours", "agree"),
    [
        (1.0, 1.0 + 1e-10, True),
        (1.0, 1.0 + 1e-8, False),
        (0.0, 1e-13, True),
        (0.0, 1e-11, False),
        (None, "", True),
        ("", None, True),
        (None, 0.0, False),
        (True, 1.0, False),
        (True, True, True),
        ("abc", "ABC", False),
        (NA, NA, True),
        (NA, ExcelError(ErrorCode.VALUE), False),
        (3, 3.0, True),
    ],
    ids=[
        "rel-1e-10", "rel-1e-8", "abs-1e-13", "abs-1e-11", "blank-empty", "empty-blank",
        "blank-zero", "bool-number", "bool", "text-case", "error", "other-error", "int-float",
    ],
)  # fmt: skip
def test_agreement_rule(excel, ours, agree):
    assert values_agree(excel, ours) is agree


needs_shared = pytest.mark.skipif(
    not CONFORMANCE_DIR.is_dir(), reason="../shared/conformance is not here"
)


@needs_shared
def test_every_conformance_workbook_is_listed():
    books = workbooks()
    assert len(books) == 18 and all(book.is_file() for book in books)


@needs_shared
@pytest.mark.parametrize(
    ("name", "at_least"),
    [("pycel/tests__fixtures__basic.xlsx", 6), ("pycel/tests__fixtures__lookup.xlsx", 720)],
    ids=["basic", "lookup"],
)
def test_our_score_on_shared_workbooks(name, at_least):
    found = score_ours(CONFORMANCE_DIR / name)
    assert found["opened"]
    assert found["agree"] >= at_least
    assert found["agree"] + found["differ"] + found["uncomputable"] == found["counted"]
