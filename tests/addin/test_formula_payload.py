"""The ribbon's formula payload → the model's formulas and array blocks.

Legacy (CSE) arrays arrive as one formula text repeated over their block; everything else that
repeats (a formula copied down, an identical scalar formula) must stay separate cells.
"""

from __future__ import annotations

import pytest

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load_xlwings import legacy_arrays, parse_formula_payload

MMULT = "=MMULT($A$1:$B$3,$D$1:$E$2)"


def _cells(grid: dict[str, str]) -> dict[CellAddress, str]:
    return {CellAddress.parse(f"S!{a}"): text for a, text in grid.items()}


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        ({f"{c}{r}": MMULT for c in "GH" for r in (1, 2, 3)}, {"G1": "G1:H3"}),
        ({"G1": "=SUM($A$1:$A$3)", "G2": "=SUM($A$1:$A$3)"}, {"G1": "G1:G2"}),
        ({"G1": "=A1*2", "G2": "=A2*2", "G3": "=A3*2"}, {}),  # copied down: texts differ
        ({"G1": "=$B$1*2", "G2": "=$B$1*2"}, {}),  # identical, but no range: scalar cells
        ({"G1": MMULT}, {}),  # one cell
        ({"G1": MMULT, "H1": MMULT, "G2": MMULT}, {"G1": "G1:H1"}),  # not a rectangle
    ],
    ids=["cse-block", "cse-column", "copied-down", "scalar-repeat", "single", "l-shape"],
)
def test_legacy_arrays(grid, expected):
    found = legacy_arrays(_cells(grid))
    assert {a.coordinate: b.coordinate for a, b in found.items()} == expected


def test_spills_are_kept_and_not_regrouped():
    entry = {
        "sheet": "S",
        "cells": {"G1": MMULT, "B2": "=AVERAGE(G1:G3)"},
        "spills": {"G1": "S!$G$1:$H$3"},
    }
    (found,) = parse_formula_payload([entry]).values()
    assert found.arrays == {CellAddress("S", 1, 7): RangeAddress("S", 1, 7, 3, 8)}
    assert set(found.cells) == {CellAddress("S", 1, 7), CellAddress("S", 2, 2)}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"sheet": "S", "cells": {"G1": MMULT}, "spills": {"G1": "H1:I3"}}, "does not start"),
        ({"sheet": "S", "cells": {}, "spills": {"G1": "G1:H3"}}, "no formula there"),
        ({"sheet": "S", "cells": {"??": MMULT}}, "bad address"),
        ({"sheet": "S", "cells": [["G1", MMULT]]}, "cells and spills map addresses"),
        ({"sheet": "S"}, "needs cells"),
    ],
    ids=["spill-elsewhere", "spill-without-formula", "bad-address", "cells-not-a-map", "empty"],
)
def test_malformed_entries_name_the_sheet(entry, message):
    with pytest.raises(WorkbookIOError, match=message):
        parse_formula_payload([entry])
