"""Read Kaggle's Titanic ``train.csv`` and clean it the way the lesson does.

The lesson keeps eight columns and drops the passengers whose Age or Embarked is missing, which
leaves 712 of the 891 rows. A user's own CSV is checked before anything is written, so a wrong
file gives one clear line naming the missing or non-numeric columns instead of a broken workbook.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from xl_lesson3.errors import BadInputError, WorkbookIOError, located

# The model sheets' raw columns, in the lesson's order.
MODEL_COLUMNS = ("Survived", "Embarked", "Pclass", "Sex", "Age", "Fare", "SibSp", "Parch")
NUMERIC_COLUMNS = ("Survived", "Pclass", "Age", "Fare", "SibSp", "Parch")
TEXT_COLUMNS = ("Embarked", "Sex")
SHIPPED_CSV = "titanic_train.csv"


def shipped_csv() -> Path:
    """The copy of Kaggle's ``train.csv`` that ships inside the package."""
    return Path(str(resources.files("xl_lesson3") / "data" / SHIPPED_CSV))


def read_raw(path: Path | None = None) -> pd.DataFrame:
    """The CSV as pandas reads it (all columns, missing values as NaN).

    `path`: the user's CSV, or None for the shipped copy. Raises `WorkbookIOError` when the file
    cannot be read or parsed, `BadInputError` when a model column is missing.
    """
    path = Path(path) if path is not None else shipped_csv()
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError as exc:
        raise WorkbookIOError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise WorkbookIOError(f"{path}: is a folder, not a CSV file") from exc
    except PermissionError as exc:
        raise WorkbookIOError(f"{path}: permission denied") from exc
    except pd.errors.EmptyDataError as exc:
        raise WorkbookIOError(f"{path}: the file is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkbookIOError(f"{path}: not a readable CSV file ({first_line})") from exc
    except OSError as exc:
        raise WorkbookIOError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    check_columns(raw, path)
    return raw


def check_columns(raw: pd.DataFrame, path: Path) -> None:
    """Raise `BadInputError` naming every missing model column or non-numeric value."""
    missing = [name for name in MODEL_COLUMNS if name not in raw.columns]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise BadInputError(
            f"{path}: missing required column{plural} {', '.join(missing)} "
            f"(needs {', '.join(MODEL_COLUMNS)}, as in Kaggle's Titanic train.csv)"
        )
    for name in NUMERIC_COLUMNS:
        numbers = pd.to_numeric(raw[name], errors="coerce")
        bad = raw[name].notna() & numbers.isna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            value = raw[name].iloc[row]
            # +2: one for the header line, one because CSV lines count from 1
            raise BadInputError(
                f"{path}: column {name} must hold numbers; line {row + 2} has {value!r}"
            )


def clean(raw: pd.DataFrame, source: Path | None = None) -> pd.DataFrame:
    """The lesson's cleaned table: `MODEL_COLUMNS`, rows with a missing value removed.

    In Kaggle's file only Age and Embarked have gaps among these columns, so this is the
    lesson's "remove rows missing Age or Embarked" (891 → 712 rows). The index is reset.
    `source` names the CSV in error messages.
    """
    table = raw.loc[:, list(MODEL_COLUMNS)].copy()
    for name in NUMERIC_COLUMNS:
        table[name] = pd.to_numeric(table[name])
    for name in TEXT_COLUMNS:
        table[name] = table[name].where(table[name].isna(), table[name].astype(str))
    table = table.dropna().reset_index(drop=True)
    if table.empty:
        raise BadInputError(
            located(
                str(source or ""),
                f"no passenger has all of {', '.join(MODEL_COLUMNS)}: nothing left to model",
            )
        )
    for name in ("Survived", "Pclass", "SibSp", "Parch"):
        if (table[name] == table[name].round()).all():
            table[name] = table[name].astype("int64")
    return table
