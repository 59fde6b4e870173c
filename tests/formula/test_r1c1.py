"""R1C1 shapes from formula text: copied formulas share a key, and runs of copies are found."""

from __future__ import annotations

import pytest

from xl_lesson3.formula.parse.r1c1 import copied_runs, r1c1_key, row_template


@pytest.mark.parametrize(
    ("template", "first_row", "expected"),
    [
        pytest.param("=IF(S{r}<0,0,S{r})", 6, [0], id="relative-rows"),
        pytest.param("=SUMPRODUCT(G{r}:P{r},$G$2:$P$2)", 6, [0], id="anchored-range"),
        pytest.param("=A{p}+B{r}*2", 2, [0], id="two-offsets"),
        pytest.param("=C{r}%+{{1,2}}", 1, [0], id="percent-and-braces"),
        pytest.param('=IF(T[[#This Row],[Sex]]="male",1,0)', 6, [0], id="no-cell-reference"),
        pytest.param('=A{r}&"B{r}"', 1, [0, 1, 2, 3, 4], id="digits-in-a-string-are-text"),
        pytest.param("=$A$1+A{r}", 3, [0], id="absolute-cell"),
        pytest.param("=SUM({r}:{r})", 1, [0, 1, 2, 3, 4], id="whole-rows-stay-single"),
    ],
)
def test_copied_runs_of_one_formula_copied_down(template, first_row, expected):
    texts = [template.format(r=r, p=r - 1) for r in range(first_row, first_row + 5)]
    assert copied_runs(texts, first_row) == expected


def test_a_run_ends_where_a_formula_is_not_the_one_above_copied():
    texts = [f"=A{r}*2" for r in range(1, 41)]
    texts[9] = "=A10*3"  # a different formula
    texts[20] = "=A20*2"  # the right text, but it reads the row above: another R1C1 shape
    assert copied_runs(texts, 1) == [0, 9, 10, 20, 21]
    assert copied_runs(["=1", "=1", "=A1", "=A1", "=B5"], 1) == [0, 2, 3, 4]
    assert copied_runs([], 1) == []


def test_row_template_fills_in_other_rows():
    fmt, offsets = row_template("=SUMPRODUCT(G6:P6,$G$2:$P$2)+C5%", 6)
    assert offsets == (0, 0, -1)
    assert fmt % tuple(9 + o for o in offsets) == "=SUMPRODUCT(G9:P9,$G$2:$P$2)+C8%"
    assert row_template("=SUM(2:3)", 4) is None


@pytest.mark.parametrize(
    ("text", "copy"),
    [
        ("=IF(S6<0,0,S6)", "=IF(S7<0,0,S7)"),
        ('=A6&"A1"', '=A7&"A1"'),
        ("=T[[#This Row],[Age2]]*B3+$C$9", "=T[[#This Row],[Age2]]*B4+$C$9"),
    ],
)
def test_a_run_of_copies_shares_one_r1c1_key(text, copy):
    assert copied_runs([text, copy], 6) == [0]
    assert r1c1_key(text, 6, 2) == r1c1_key(copy, 7, 2)
