"""A small workbook shaped like the lesson's Titanic sheets, built with openpyxl for engine tests.

Sheet ``nnet``: parameters in rows 2-3, an Excel table ``Titanic`` from row 5 with raw columns
and derived ``[@...]`` columns (written as files store them) (Age/MAX, LOG10(Fare+1), IF dummies, Ones), then per row two
SUMPRODUCT+ReLU units (one through a structured reference, one through A1 references), a
prediction and a squared error, and the AVERAGE loss in B1. Sheet ``mmult``: the same net with a
10×2 parameter block and one MMULT array formula over every row of the table, on another sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table

from xl_lesson3.workbook.address import CellAddress

RAW = ["Survived", "Age", "Fare", "Pclass", "Sex", "Embarked", "SibSp", "Parch"]
# Excel shows [@Age]; files store Titanic[[#This Row],[Age]], which is what we write.
_ROW = "Titanic[[#This Row],[{}]]"
DERIVED = {
    "AgeN": f"={_ROW.format('Age')}/MAX(Titanic[Age])",
    "LogFare": f"=LOG10({_ROW.format('Fare')}+1)",
    "Pclass_1": f"=IF({_ROW.format('Pclass')}=1,1,0)",
    "Pclass_2": f"=IF({_ROW.format('Pclass')}=2,1,0)",
    "Male": f'=IF({_ROW.format("Sex")}="male",1,0)',
    "Embark_C": f'=IF({_ROW.format("Embarked")}="C",1,0)',
    "Embark_S": f'=IF({_ROW.format("Embarked")}="S",1,0)',
    "Ones": "=1",
}
FIRST_ROW = 6  # first data row of the table (header in row 5)


@dataclass(frozen=True)
class TitanicLike:
    path: Path
    n_rows: int
    loss: CellAddress  # nnet!B1
    params1: tuple[CellAddress, ...]  # nnet!C2:L2
    params2: tuple[CellAddress, ...]  # nnet!C3:L3
    mmult_loss: CellAddress  # mmult!B1
    mmult_params: tuple[CellAddress, ...]  # mmult!B3:C12, row by row

    @property
    def nnet_variables(self) -> tuple[CellAddress, ...]:
        return self.params1 + self.params2


def build_titanic_like(path: Path, n_rows: int, seed: int = 0) -> TitanicLike:
    """Write the workbook with `n_rows` passengers (deterministic random data)."""
    rng = np.random.default_rng(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "nnet"
    last = FIRST_ROW + n_rows - 1
    columns = RAW + list(DERIVED)
    for j, name in enumerate(columns, start=1):
        ws.cell(FIRST_ROW - 1, j, name)
    for i in range(n_rows):
        row = FIRST_ROW + i
        values = [
            int(rng.integers(0, 2)),
            float(rng.integers(1, 80)),
            float(np.round(rng.exponential(30.0), 4)),
            int(rng.integers(1, 4)),
            "male" if rng.random() < 0.6 else "female",
            str(rng.choice(["C", "Q", "S"])),
            int(rng.integers(0, 4)),
            int(rng.integers(0, 3)),
        ]
        for j, value in enumerate(values, start=1):
            ws.cell(row, j, value)
        for j, formula in enumerate(DERIVED.values(), start=len(RAW) + 1):
            ws.cell(row, j, formula)
    end_col = get_column_letter(len(columns))
    ws.add_table(Table(displayName="Titanic", ref=f"A{FIRST_ROW - 1}:{end_col}{last}"))
    # Parameters: C2:L2 and C3:L3 (10 inputs: SibSp..Ones).
    ws["A2"], ws["A3"] = "params1", "params2"
    for j in range(10):
        ws.cell(2, 3 + j, round(float(rng.normal(0, 0.3)), 6))
        ws.cell(3, 3 + j, round(float(rng.normal(0, 0.3)), 6))
    # Per-row model outside the table: columns R..W.
    inputs_first, inputs_last = get_column_letter(len(RAW) - 1), end_col  # G .. P
    for name, col in zip(["Lin1", "Relu1", "Lin2", "Relu2", "Pred", "Loss"], "RSTUVW", strict=True):
        ws[f"{col}{FIRST_ROW - 1}"] = name
    for row in range(FIRST_ROW, last + 1):
        ws[f"R{row}"] = "=SUMPRODUCT(Titanic[[#This Row],[SibSp]:[Ones]],$C$2:$L$2)"
        ws[f"S{row}"] = f"=IF(R{row}<0,0,R{row})"
        ws[f"T{row}"] = f"=SUMPRODUCT({inputs_first}{row}:{inputs_last}{row},$C$3:$L$3)"
        ws[f"U{row}"] = f"=IF(T{row}<0,0,T{row})"
        ws[f"V{row}"] = f"=S{row}+U{row}"
        ws[f"W{row}"] = f"=(V{row}-A{row})^2"
    ws["A1"] = "loss"
    ws["B1"] = f"=AVERAGE(W{FIRST_ROW}:W{last})"

    mm = wb.create_sheet("mmult")
    mm["A1"] = "loss"
    for i in range(10):
        mm.cell(3 + i, 2, round(float(rng.normal(0, 0.3)), 6))
        mm.cell(3 + i, 3, round(float(rng.normal(0, 0.3)), 6))
    top, bottom = 3, 3 + n_rows - 1
    mm[f"E{top}"] = ArrayFormula(f"E{top}:F{bottom}", "=MMULT(Titanic[[SibSp]:[Ones]],$B$3:$C$12)")
    for k in range(n_rows):
        row = top + k
        mm[f"G{row}"] = f"=IF(E{row}<0,0,E{row})+IF(F{row}<0,0,F{row})"
        mm[f"H{row}"] = f"=(G{row}-nnet!A{FIRST_ROW + k})^2"
    mm["B1"] = f"=AVERAGE(H{top}:H{bottom})"
    wb.save(path)
    return TitanicLike(
        path=path,
        n_rows=n_rows,
        loss=CellAddress("nnet", 1, 2),
        params1=tuple(CellAddress("nnet", 2, c) for c in range(3, 13)),
        params2=tuple(CellAddress("nnet", 3, c) for c in range(3, 13)),
        mmult_loss=CellAddress("mmult", 1, 2),
        mmult_params=tuple(CellAddress("mmult", r, c) for r in range(3, 13) for c in (2, 3)),
    )
