"""`xl-lesson3 build titanic`: success, and one clear line with exit status 2 for bad input."""

from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests.titanic.conftest import CSV
from xl_lesson3.cli import main


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(["build", "titanic", *args])
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0]


def test_build_with_a_users_csv_and_seed(capsys, tmp_path):
    csv = tmp_path / "train.csv"
    pd.read_csv(CSV).head(100).to_csv(csv, index=False)
    out = tmp_path / "out.xlsx"
    code, err = run(capsys, "--csv", str(csv), "--out", str(out), "--seed", "3")
    assert (code, err) == (0, "")
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["data", "linear", "nnet", "mmult", "About"]
    assert {p.name for p in tmp_path.iterdir()} == {"train.csv", "out.xlsx"}


def test_missing_columns_are_named(capsys, tmp_path):
    csv = tmp_path / "test.csv"
    pd.read_csv(CSV).drop(columns=["Survived", "Embarked"]).to_csv(csv, index=False)
    out = tmp_path / "out.xlsx"
    code, err = run(capsys, "--csv", str(csv), "--out", str(out))
    assert_one_line_error(code, err, str(csv), "Survived", "Embarked")
    assert "Age," not in err.split("(")[0]  # present columns are not reported missing
    assert not out.exists()


def test_non_numeric_column(capsys, tmp_path):
    csv = tmp_path / "train.csv"
    table = pd.read_csv(CSV)
    table["Fare"] = table["Fare"].astype(object)
    table.loc[4, "Fare"] = "cheap"
    table.to_csv(csv, index=False)
    code, err = run(capsys, "--csv", str(csv), "--out", str(tmp_path / "out.xlsx"))
    assert_one_line_error(code, err, "Fare", "line 6", "cheap")


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "binary"])
def test_unreadable_csv(capsys, tmp_path, kind):
    csv = tmp_path / "train.csv"
    if kind == "folder":
        csv.mkdir()
    elif kind == "empty":
        csv.write_bytes(b"")
    elif kind == "binary":
        csv.write_bytes(bytes(range(256)) * 8)
    out = tmp_path / "out.xlsx"
    code, err = run(capsys, "--csv", str(csv), "--out", str(out))
    assert_one_line_error(code, err, str(csv))
    assert not out.exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_csv_without_read_permission(capsys, tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text(CSV.read_text())
    csv.chmod(0)
    code, err = run(capsys, "--csv", str(csv), "--out", str(tmp_path / "out.xlsx"))
    assert_one_line_error(code, err, str(csv))


@pytest.mark.parametrize("where", ["a folder", "under a file"])
def test_unwritable_output(capsys, tmp_path, where):
    (tmp_path / "folder.xlsx").mkdir()
    (tmp_path / "file").write_text("x")
    out = {
        "a folder": tmp_path / "folder.xlsx",
        "under a file": tmp_path / "file" / "out.xlsx",
    }[where]
    code, err = run(capsys, "--out", str(out))
    assert_one_line_error(code, err, str(out))
    assert {p.name for p in tmp_path.iterdir()} == {"folder.xlsx", "file"}


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder(capsys, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, err = run(capsys, "--out", str(folder / "out.xlsx"))
        assert_one_line_error(code, err, "out.xlsx")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_failed_build_keeps_the_previous_file(capsys, tmp_path):
    out = tmp_path / "titanic.xlsx"
    out.write_bytes(b"previous")
    code, err = run(capsys, "--csv", str(tmp_path / "absent.csv"), "--out", str(out))
    assert_one_line_error(code, err, "absent.csv")
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["titanic.xlsx"]


def test_default_output_is_relative_to_the_working_folder(capsys, tmp_path, monkeypatch):
    """workbooks/ does not exist here: like `build lesson`, the builder creates it."""
    csv = tmp_path / "train.csv"
    pd.read_csv(CSV).head(60).to_csv(csv, index=False)
    monkeypatch.chdir(tmp_path)
    code, err = run(capsys, "--csv", str(csv))
    assert (code, err) == (0, "")
    assert openpyxl.load_workbook(Path("workbooks") / "titanic.xlsx").sheetnames[0] == "data"


def test_negative_seed(capsys, tmp_path):
    out = tmp_path / "out.xlsx"
    code, err = run(capsys, "--out", str(out), "--seed", "-1")
    assert_one_line_error(code, err, "--seed")
    assert not out.exists()


def test_text_that_looks_like_a_formula_stays_text(capsys, tmp_path):
    csv = tmp_path / "train.csv"
    table = pd.read_csv(CSV).head(20)
    table.loc[0, "Name"] = '=HYPERLINK("http://example.com","x")'
    table.to_csv(csv, index=False)
    out = tmp_path / "out.xlsx"
    assert run(capsys, "--csv", str(csv), "--out", str(out)) == (0, "")
    cell = openpyxl.load_workbook(out)["data"]["D2"]
    assert (cell.value, cell.data_type) == (table.loc[0, "Name"], "s")
