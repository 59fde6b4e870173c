"""Where everything sits in the Titanic workbook, and the formulas each column holds.

Every model sheet (``linear``, ``nnet``, ``mmult``) has the same frame, so the addresses below are
stable and other code (tests, docs, the solver's examples) can rely on them:

- ``A1`` title; ``A2`` "Total loss", ``B2`` the total loss (the Solver objective); ``A4`` a
  one-line "how to train" note;
- row 5 the table header, rows 6..717 the 712 passengers (an Excel table per sheet);
- columns ``A:H`` Survived, Embarked, Pclass, Sex, Age, Fare, SibSp, Parch (values);
  ``I:O`` Age_N, log_Fare, Pclass_1, Pclass_2, Embark_S, Embark_C, Male (live formulas with
  structured references); ``P`` Ones (the constant 1 that gives the model its intercept);
- the inputs block is ``G:P`` (SibSp .. Ones, 10 columns, in the lesson's order);
- parameters (the Solver's changing cells): ``linear!G2:P2`` and ``nnet!G2:P3``, each parameter
  right above the input column it multiplies; ``mmult!Z6:AA15``, the same two rows of ``nnet``
  transposed into the 10×2 block MMULT needs, labelled in ``Y6:Y15``;
- model columns: ``linear`` Q Pred, R Loss; ``nnet`` Q Hidden1, R Hidden2, S ReLU1, T ReLU2,
  U Pred, V Loss (all inside the table); ``mmult`` R:S Hidden1/Hidden2 (one MMULT array formula
  over ``R6:S717``), T ReLU1, U ReLU2, V Pred, W Loss (beside the table: Excel forbids multi-cell
  array formulas inside tables). Panes are frozen below row 5.

Derived columns use structured references in the form stored in files
(``linear_data[[#This Row],[Age]]``, which Excel displays as ``[@Age]``); model columns use A1
references, as the lesson's workbook does, so each column is one formula shape repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.utils.cell import get_column_letter

from xl_lesson3.workbook.address import CellAddress, RangeAddress

SHEETS = ("data", "linear", "nnet", "mmult", "About")
MODEL_SHEETS = ("linear", "nnet", "mmult")
DATA_TABLE = "titanic"
N_INPUTS = 10

TITLE_ROW = 1
LOSS_ROW = 2
HINT_ROW = 4  # a one-line "how to train" note
HEADER_ROW = 5
FIRST_DATA_ROW = 6
LOSS_LABEL_COL = 1  # A
LOSS_COL = 2  # B
PARAM_ROW = 2  # linear/nnet: first parameter row

RAW_COLUMNS = ("Survived", "Embarked", "Pclass", "Sex", "Age", "Fare", "SibSp", "Parch")
# name -> formula body with {t} for the table name; Excel shows them as =[@Age]/MAX([Age]) etc.
DERIVED_FORMULAS = {
    "Age_N": "={t}[[#This Row],[Age]]/MAX({t}[Age])",
    "log_Fare": "=LOG10({t}[[#This Row],[Fare]]+1)",
    "Pclass_1": "=IF({t}[[#This Row],[Pclass]]=1,1,0)",
    "Pclass_2": "=IF({t}[[#This Row],[Pclass]]=2,1,0)",
    "Embark_S": '=IF({t}[[#This Row],[Embarked]]="S",1,0)',
    "Embark_C": '=IF({t}[[#This Row],[Embarked]]="C",1,0)',
    "Male": '=IF({t}[[#This Row],[Sex]]="male",1,0)',
}
TABLE_COLUMNS = (*RAW_COLUMNS, *DERIVED_FORMULAS, "Ones")
INPUT_COLUMNS = ("SibSp", "Parch", *DERIVED_FORMULAS, "Ones")
FIRST_INPUT_COL = TABLE_COLUMNS.index("SibSp") + 1  # G
LAST_INPUT_COL = FIRST_INPUT_COL + N_INPUTS - 1  # P

# mmult: the MMULT result and the parameter block sit beside the table (Excel forbids
# multi-cell array formulas inside tables).
MMULT_FIRST_COL = 18  # R
MMULT_PARAM_LABEL_COL = 25  # Y
MMULT_PARAM_COL = 26  # Z (and AA)


def col(index: int) -> str:
    """Column letters of a 1-based index."""
    return get_column_letter(index)


@dataclass(frozen=True)
class ModelColumn:
    """One per-row model column: header, formula template (``{r}`` = row) and number format."""

    header: str
    template: str
    number_format: str = "0.0000"

    def formula(self, row: int) -> str:
        return self.template.format(r=row)


@dataclass(frozen=True)
class ModelSheet:
    """The layout of one model sheet."""

    name: str
    title: str
    first_model_col: int  # column of the first model column
    model_columns: tuple[ModelColumn, ...]
    params: RangeAddress
    in_table: bool  # whether the model columns belong to the Excel table

    @property
    def table(self) -> str:
        return f"{self.name}_data"

    def last_row(self, n_rows: int) -> int:
        return FIRST_DATA_ROW + n_rows - 1

    @property
    def loss_cell(self) -> CellAddress:
        return CellAddress(self.name, LOSS_ROW, LOSS_COL)

    def column_of(self, header: str) -> int:
        """The 1-based column of a model column."""
        headers = [c.header for c in self.model_columns]
        return self.first_model_col + headers.index(header)

    def loss_formula(self, n_rows: int) -> str:
        letter = col(self.column_of("Loss"))
        return f"=AVERAGE(${letter}${FIRST_DATA_ROW}:${letter}${self.last_row(n_rows)})"


def _inputs(r: str = "{r}") -> str:
    return f"{col(FIRST_INPUT_COL)}{r}:{col(LAST_INPUT_COL)}{r}"


def _param_row(row: int) -> str:
    return f"${col(FIRST_INPUT_COL)}${row}:${col(LAST_INPUT_COL)}${row}"


def _relu(source_col: int) -> str:
    c = col(source_col)
    return f"=IF({c}{{r}}<0,0,{c}{{r}})"


def _loss(pred_col: int) -> str:
    return f"=({col(pred_col)}{{r}}-A{{r}})^2"


def _sheet_params(sheet: str, n_rows: int) -> RangeAddress:
    return RangeAddress(sheet, PARAM_ROW, FIRST_INPUT_COL, PARAM_ROW + n_rows - 1, LAST_INPUT_COL)


_Q = len(TABLE_COLUMNS) + 1  # Q: first column after the table's data columns

LINEAR = ModelSheet(
    name="linear",
    title="Linear model: prediction = SUMPRODUCT(inputs, params); loss = (prediction − Survived)²",
    first_model_col=_Q,
    model_columns=(
        ModelColumn("Pred", f"=SUMPRODUCT({_inputs()},{_param_row(PARAM_ROW)})"),
        ModelColumn("Loss", _loss(_Q)),
    ),
    params=_sheet_params("linear", 1),
    in_table=True,
)

NNET = ModelSheet(
    name="nnet",
    title="Neural net: two linear units, ReLU = IF(x<0,0,x), prediction = ReLU1 + ReLU2",
    first_model_col=_Q,
    model_columns=(
        ModelColumn("Hidden1", f"=SUMPRODUCT({_inputs()},{_param_row(PARAM_ROW)})"),
        ModelColumn("Hidden2", f"=SUMPRODUCT({_inputs()},{_param_row(PARAM_ROW + 1)})"),
        ModelColumn("ReLU1", _relu(_Q)),
        ModelColumn("ReLU2", _relu(_Q + 1)),
        ModelColumn("Pred", f"={col(_Q + 2)}{{r}}+{col(_Q + 3)}{{r}}"),
        ModelColumn("Loss", _loss(_Q + 4)),
    ),
    params=_sheet_params("nnet", 2),
    in_table=True,
)

_R = MMULT_FIRST_COL
MMULT = ModelSheet(
    name="mmult",
    title="The same neural net with one MMULT: (712×10 inputs) × (10×2 params) → two hidden units",
    first_model_col=_R,
    model_columns=(
        ModelColumn("Hidden1", ""),  # both filled by one MMULT array formula
        ModelColumn("Hidden2", ""),
        ModelColumn("ReLU1", _relu(_R)),
        ModelColumn("ReLU2", _relu(_R + 1)),
        ModelColumn("Pred", f"={col(_R + 2)}{{r}}+{col(_R + 3)}{{r}}"),
        ModelColumn("Loss", _loss(_R + 4)),
    ),
    params=RangeAddress(
        "mmult", FIRST_DATA_ROW, MMULT_PARAM_COL, FIRST_DATA_ROW + N_INPUTS - 1, MMULT_PARAM_COL + 1
    ),
    in_table=False,
)

MODEL_LAYOUTS = {layout.name: layout for layout in (LINEAR, NNET, MMULT)}


def mmult_ref(n_rows: int) -> RangeAddress:
    """The cells the MMULT array formula fills: Hidden1 and Hidden2 of every row."""
    return RangeAddress("mmult", FIRST_DATA_ROW, _R, FIRST_DATA_ROW + n_rows - 1, _R + 1)


def mmult_formula(n_rows: int) -> str:
    """``=MMULT($G$6:$P$717,$Z$6:$AA$15)`` for `n_rows` passengers."""
    last = FIRST_DATA_ROW + n_rows - 1
    inputs = f"${col(FIRST_INPUT_COL)}${FIRST_DATA_ROW}:${col(LAST_INPUT_COL)}${last}"
    p = MMULT.params
    params = f"${col(p.min_col)}${p.min_row}:${col(p.max_col)}${p.max_row}"
    return f"=MMULT({inputs},{params})"
