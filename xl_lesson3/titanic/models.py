"""The workbook's derived columns and models computed with pandas/numpy, for the cached values.

openpyxl writes formulas without results, and a workbook without cached results shows nothing
to ``pandas.read_excel`` or ``openpyxl(data_only=True)`` until a spreadsheet recalculates it. So
the builder computes every formula's result here, the way Excel does, and stores it beside the
formula. A LibreOffice recalculation test checks each one.

Excel semantics matched here: text comparisons (``[@Sex]="male"``) ignore case; MAX, SUMPRODUCT and
AVERAGE are plain float64 sums over the table's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xl_lesson3.titanic.layout import INPUT_COLUMNS, N_INPUTS


def derived_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Age_N, log_Fare, the dummies and Ones, from the cleaned table (same row order)."""
    age = table["Age"].astype(float)
    embarked = table["Embarked"].str.upper()
    derived = {
        "Age_N": age / age.max(),
        "log_Fare": np.log10(table["Fare"].astype(float) + 1),
        "Pclass_1": (table["Pclass"] == 1).astype("int64"),
        "Pclass_2": (table["Pclass"] == 2).astype("int64"),
        "Embark_S": (embarked == "S").astype("int64"),
        "Embark_C": (embarked == "C").astype("int64"),
        "Male": (table["Sex"].str.lower() == "male").astype("int64"),
        "Ones": pd.Series(1, index=table.index, dtype="int64"),
    }
    return pd.DataFrame(derived, index=table.index)


def input_matrix(table: pd.DataFrame, derived: pd.DataFrame) -> np.ndarray:
    """The inputs block SibSp..Ones as floats, shape (n_rows, 10)."""
    both = pd.concat([table, derived], axis=1)
    return both.loc[:, list(INPUT_COLUMNS)].to_numpy(dtype=np.float64)


@dataclass(frozen=True)
class ModelValues:
    """Per-row model columns (header → (n_rows,) array) and the total loss."""

    columns: dict[str, np.ndarray]
    total_loss: float


def _squared_error(pred: np.ndarray, survived: np.ndarray) -> np.ndarray:
    return (pred - survived) ** 2


def linear_model(inputs: np.ndarray, params: np.ndarray, survived: np.ndarray) -> ModelValues:
    """`params` (10,): prediction = inputs @ params, loss = squared error, total = its mean."""
    pred = inputs @ params
    loss = _squared_error(pred, survived)
    return ModelValues({"Pred": pred, "Loss": loss}, float(loss.mean()))


def neural_net(inputs: np.ndarray, params: np.ndarray, survived: np.ndarray) -> ModelValues:
    """`params` (2, 10), one row per hidden unit: prediction = ReLU(h1) + ReLU(h2)."""
    if params.shape != (2, N_INPUTS):
        raise ValueError(f"expected (2, {N_INPUTS}) parameters, got {params.shape}")
    hidden = inputs @ params.T  # (n_rows, 2)
    relu = np.where(hidden < 0, 0.0, hidden)  # IF(x<0,0,x)
    pred = relu[:, 0] + relu[:, 1]
    loss = _squared_error(pred, survived)
    columns = {
        "Hidden1": hidden[:, 0],
        "Hidden2": hidden[:, 1],
        "ReLU1": relu[:, 0],
        "ReLU2": relu[:, 1],
        "Pred": pred,
        "Loss": loss,
    }
    return ModelValues(columns, float(loss.mean()))


@dataclass(frozen=True)
class Parameters:
    """The frozen ``RAND()-0.5`` starting values of each model sheet."""

    linear: np.ndarray  # (10,)
    nnet: np.ndarray  # (2, 10)

    @property
    def mmult(self) -> np.ndarray:
        """(10, 2): nnet's rows as columns, so the mmult sheet computes the same network."""
        return self.nnet.T

    @classmethod
    def from_seed(cls, seed: int) -> Parameters:
        """Uniform values in [-0.5, 0.5), like Excel's ``=RAND()-0.5``, reproducible by `seed`."""
        rng = np.random.default_rng(seed)
        return cls(rng.random(N_INPUTS) - 0.5, rng.random((2, N_INPUTS)) - 0.5)
