"""One build of the Titanic workbook per test session, and the lesson's cleaning done with pandas.

The expected values here are computed directly from the CSV with pandas/numpy, independently of
`xl_lesson3.titanic`, so the tests compare the builder against a second implementation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from xl_lesson3.titanic.builder import TitanicWorkbook, build_titanic_workbook

CSV = Path(__file__).resolve().parents[2] / "xl_lesson3" / "data" / "titanic_train.csv"
MODEL_SHEETS = ("linear", "nnet", "mmult")


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> TitanicWorkbook:
    """The workbook built with the default seed."""
    return build_titanic_workbook(tmp_path_factory.mktemp("titanic") / "titanic.xlsx")


@pytest.fixture(scope="session")
def formulas(built) -> openpyxl.Workbook:
    return openpyxl.load_workbook(built.path)


@pytest.fixture(scope="session")
def cached(built) -> openpyxl.Workbook:
    return openpyxl.load_workbook(built.path, data_only=True)


@pytest.fixture(scope="session")
def raw() -> pd.DataFrame:
    return pd.read_csv(CSV)


@pytest.fixture(scope="session")
def expected(raw) -> pd.DataFrame:
    """The lesson's cleaned table with its derived columns, straight from pandas."""
    table = raw.dropna(subset=["Age", "Embarked"]).reset_index(drop=True)
    table = table[["Survived", "Embarked", "Pclass", "Sex", "Age", "Fare", "SibSp", "Parch"]].copy()
    table["Age_N"] = table["Age"] / table["Age"].max()
    table["log_Fare"] = np.log10(table["Fare"] + 1)
    table["Pclass_1"] = (table["Pclass"] == 1).astype(int)
    table["Pclass_2"] = (table["Pclass"] == 2).astype(int)
    table["Embark_S"] = (table["Embarked"] == "S").astype(int)
    table["Embark_C"] = (table["Embarked"] == "C").astype(int)
    table["Male"] = (table["Sex"] == "male").astype(int)
    table["Ones"] = 1
    return table
