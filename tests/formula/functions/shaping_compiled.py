"""Compiled-program gradcheck formulas for the array-shaping functions and PERCENTOF.

Merged into tests/formula/test_compiled_gradients.py's CASES: data A1:A3 = 0.5, 1.5, 2.0,
variables C1:C3 near 0.3, 0.7, 1.2. Counts and sort keys are constants; the changing cells are
the values moved, so each gather passes their gradient through.
"""

from __future__ import annotations

SHAPING_COMPILED_CASES = {
    "VSTACK": "=SUMSQ(_xlfn.VSTACK(C1:C2,C3*A1))",
    "HSTACK": "=SUMSQ(_xlfn.HSTACK(C1:C3,A1:A3))",
    "CHOOSECOLS": "=SUMSQ(_xlfn.CHOOSECOLS(_xlfn.HSTACK(A1:A3,C1:C3),2))",
    "CHOOSEROWS": "=SUMSQ(_xlfn.CHOOSEROWS(C1:C3,-1,1))",
    "TAKE": "=SUMSQ(_xlfn.TAKE(C1:C3,2))",
    "DROP": "=SUMSQ(_xlfn.DROP(C1:C3,1))",
    "EXPAND": "=SUMSQ(_xlfn.EXPAND(C1:C2,3,1,C3))",
    "TOCOL": "=SUMSQ(_xlfn.TOCOL(TRANSPOSE(C1:C3)))",
    "TOROW": "=SUMSQ(_xlfn.TOROW(C1:C3))",
    "WRAPROWS": "=SUMSQ(_xlfn.WRAPROWS(C1:C3,2,A1))",
    "WRAPCOLS": "=SUMSQ(_xlfn.WRAPCOLS(C1:C3,2,A1))",
    "TRIMRANGE": "=SUMSQ(_xlfn.TRIMRANGE(C1:C3))",
    "SORTBY": "=SUMPRODUCT(_xlfn.SORTBY(C1:C3,A1:A3,-1),A1:A3)",
    "PERCENTOF": "=_xlfn.PERCENTOF(C1:C2,C1:C3)",
}
