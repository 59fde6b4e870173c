"""Engine values against LibreOffice's forced recalculation, for every formula cell.

Three workbooks, one soffice run each: the corpus (`corpus.py`: every operator, reference form,
structured-reference form and library function), the Titanic-like sheets (`titanic_like.py`),
and, when it exists, the lesson's own ``workbooks/titanic.xlsx``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.formula.corpus import CALC, build_corpus
from tests.formula.functions.library_cases import CASES as LIBRARY_CASES
from tests.formula.titanic_like import build_titanic_like
from tests.libreoffice import recalculate
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.formula.evaluate.recalc import evaluate_cells, evaluate_workbook
from xl_lesson3.formula.functions.core.registry import is_supported, lookup, supported_names
from xl_lesson3.formula.parse.ast import Call, walk
from xl_lesson3.formula.parse.parser import parse_formula
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook

REL = 1e-9
TITANIC = Path(__file__).resolve().parents[2] / "workbooks" / "titanic.xlsx"


def agrees(ours: object, theirs: object) -> bool:
    """Numbers within REL; text, booleans and error values exactly (errors by their text)."""
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return type(ours) is type(theirs) and ours == theirs
    if isinstance(ours, float) and isinstance(theirs, (int, float)):
        return math.isclose(ours, theirs, rel_tol=REL, abs_tol=1e-12)
    if ours is None:
        return theirs in (None, 0)  # a formula showing a blank reads back as 0 or empty
    return str(ours) == str(theirs)


def disagreements(path: Path, model=None, theirs=None) -> list[str]:
    """Every formula cell where the engine and LibreOffice differ, described."""
    model = model or load_workbook(path)
    ours = evaluate_workbook(model)
    theirs = theirs or recalculate(path)
    found = []
    for cell, value in sorted(ours.items()):
        expected = theirs[cell.sheet].cell(cell.row, cell.col).value
        if not agrees(value, expected):
            found.append(
                f"{cell} {model.cells.get(cell)}: ours {value!r}, LibreOffice {expected!r}"
            )
    return found


@pytest.mark.libreoffice
def test_corpus_agrees_with_libreoffice(tmp_path):
    path = build_corpus(tmp_path / "corpus.xlsx")
    assert disagreements(path) == []


def test_corpus_covers_every_spreadsheet_function():
    """Every registered function that LibreOffice also has appears in the corpus."""
    used = set()
    texts = (
        [formula for _, formula in CALC]
        + [case.formula for case in LIBRARY_CASES]
        + [
            "=MMULT(People[[SibSp]:[Ones]],$K$5:$L$7)",
            "=TRANSPOSE(People[Age])",
        ]
    )
    from tests.formula import test_lookup_libreoffice as lookups

    texts += [case.formula for case in lookups.CASES]  # look-ups: their own LibreOffice test
    from tests.formula.functions import (
        test_complex_libreoffice,
        test_distributions_libreoffice,
        test_statistics_libreoffice,
        test_text_libreoffice,
    )

    for module in (
        test_complex_libreoffice,
        test_distributions_libreoffice,
        test_statistics_libreoffice,
        test_text_libreoffice,
    ):  # each category's own batched LibreOffice test
        texts += [case.formula for case in module.CASES]
    from tests.formula import test_reference_info as information

    texts += [formula for _, formula, _ in information.CASES]  # ISREF, CELL, SUBTOTAL, ...
    for text in texts:
        used |= {node.name for node in walk(parse_formula(text)) if isinstance(node, Call)}
    ours_only = {name for name in supported_names() if lookup(name).category == "xl-lesson3"}
    # Dynamic-array functions LibreOffice 7.4 lacks (checked against Excel's results instead).
    for _, text, _ in lookups.EXCEL_ONLY:
        ours_only |= {node.name for node in walk(parse_formula(text)) if isinstance(node, Call)}
    from tests.formula.functions.test_lambdas import EXCEL_ONLY_FUNCTIONS

    ours_only |= EXCEL_ONLY_FUNCTIONS  # LAMBDA and friends: against Excel's results instead
    from tests.formula.functions.test_array_shaping import EXCEL_ONLY_FUNCTIONS as SHAPING

    ours_only |= SHAPING  # VSTACK ... PIVOTBY: against Excel's results instead
    # Excel 365 functions LibreOffice 7.4 lacks: test_text_excel.py and test_distributions.py
    # check them against Excel's saved values and Microsoft's documented examples instead.
    ours_only |= {"ARRAYTOTEXT", "VALUETOTEXT", "TEXTSPLIT", "TEXTBEFORE", "TEXTAFTER"}
    ours_only |= {"REGEXEXTRACT", "REGEXREPLACE", "REGEXTEST", "BINOM.DIST.RANGE"}
    volatile = {"RAND", "RANDBETWEEN", "TODAY", "NOW"}  # tested apart: they differ per run
    used = {lookup(name).name for name in used if is_supported(name)}  # JIS is DBCS
    assert set(supported_names()) - ours_only - volatile - used == set()


@pytest.mark.libreoffice
def test_titanic_like_agrees_with_libreoffice(tmp_path):
    book = build_titanic_like(tmp_path / "titanic_like.xlsx", 60)
    theirs = recalculate(book.path)
    model = load_workbook(book.path)
    assert disagreements(book.path, model, theirs) == []
    for objective, variables in [
        (book.loss, book.nnet_variables),
        (book.mmult_loss, book.mmult_params),
    ]:
        program = compile_program(model, objective, variables)
        expected = theirs[objective.sheet].cell(objective.row, objective.col).value
        assert program(program.initial).item() == pytest.approx(expected, rel=REL)


def _solver_cells(model, sheet: str) -> tuple[CellAddress, list[CellAddress]]:
    """The objective and changing cells stored in the sheet's hidden solver names."""
    names = {(n.name, n.scope): n.text for n in model.defined_names}
    objective = CellAddress.parse(names[("solver_opt", sheet)])
    changing = RangeAddress.parse(names[("solver_adj", sheet)]).cells()
    return objective, changing


@pytest.mark.libreoffice
@pytest.mark.skipif(not TITANIC.exists(), reason="workbooks/titanic.xlsx not built yet")
def test_lesson_workbook_agrees_with_libreoffice():
    model = load_workbook(TITANIC)
    theirs = recalculate(TITANIC)
    assert disagreements(TITANIC, model, theirs) == []
    for sheet in ("linear", "nnet", "mmult"):
        objective, changing = _solver_cells(model, sheet)
        expected = theirs[sheet].cell(objective.row, objective.col).value
        (evaluated,) = evaluate_cells(model, [objective])
        assert evaluated == pytest.approx(expected, rel=REL)
        program = compile_program(model, objective, changing)
        assert program(program.initial).item() == pytest.approx(expected, rel=REL)
