"""`xl-lesson3 solve`: output files, JSON, exit statuses."""

from __future__ import annotations

import json

import numpy as np
import openpyxl
import pytest

from tests.solver.test_solve import XS, YS, quadratic_cells
from xl_lesson3.cli import main

ARGS = ["--objective", "fit!E1", "--changing", "fit!A1:C1"]


def test_json_and_default_output(make_workbook, capsys):
    book = make_workbook(quadratic_cells(), name="quad.xlsx")
    assert main(["solve", str(book), *ARGS, "--method", "lbfgs", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) >= {
        "objective",
        "initial",
        "final",
        "cells",
        "seconds",
        "device",
        "iterations",
        "restarts",
    }
    assert payload["objective"] == "fit!E1" and payload["restarts"] == 1
    expected = np.polyfit(XS, YS, 2)
    cells = [payload["cells"][c] for c in ("fit!A1", "fit!B1", "fit!C1")]
    assert cells == pytest.approx(expected, abs=1e-6)
    out = book.with_name("quad-solved.xlsx")
    assert payload["output"] == str(out)
    solved = openpyxl.load_workbook(out, data_only=True)["fit"]
    assert [solved[c].value for c in ("A1", "B1", "C1")] == cells
    assert solved["E1"].value == pytest.approx(payload["final"], rel=1e-12)


def test_human_output_and_out_path(make_workbook, tmp_path, capsys):
    book = make_workbook(quadratic_cells())
    out = tmp_path / "elsewhere.xlsx"
    args = ["--out", str(out), "--restarts", "3", "--method", "lbfgs"]
    assert main(["solve", str(book), *ARGS, *args]) == 0
    printed = capsys.readouterr().out
    assert "fit!E1: " in printed and "→" in printed and "3 restarts" in printed
    assert out.exists()


def test_in_place_backup_and_no_backup(make_workbook, tmp_path):
    book = make_workbook(quadratic_cells(), name="q.xlsx")
    original = book.read_bytes()
    assert main(["solve", str(book), *ARGS, "--method", "lbfgs", "--in-place"]) == 0
    assert (tmp_path / "q.bak.xlsx").read_bytes() == original
    assert book.read_bytes() != original
    (tmp_path / "q.bak.xlsx").unlink()
    assert main(["solve", str(book), *ARGS, "--in-place", "--no-backup", "--steps", "5"]) == 0
    assert not (tmp_path / "q.bak.xlsx").exists()


def test_dry_run_writes_nothing(make_workbook, tmp_path):
    book = make_workbook(quadratic_cells())
    assert main(["solve", str(book), *ARGS, "--dry-run", "--steps", "5"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == [book.name]


def test_diverged_exits_1_and_writes_nothing(make_workbook, tmp_path, capsys):
    book = make_workbook(quadratic_cells())
    status = main(["solve", str(book), *ARGS, "--method", "sgd", "--lr", "10", "--json"])
    assert status == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["status"].startswith("diverged at step") and payload["output"] is None
    assert [p.name for p in tmp_path.iterdir()] == [book.name]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--objective", "nope!A1", "--changing", "nope!B1"], "nope: no such sheet"),
        (["--objective", "fit!E1", "--changing", "fit!C3"], "fit!C3: changing cells must hold"),
        ([*ARGS, "--no-backup"], "--no-backup: only meaningful with --in-place"),
        ([*ARGS, "--restarts", "0"], "--restarts: must be at least 1"),
        ([*ARGS, "--lr", "-1"], "--lr: must be a positive number"),
    ],
    ids=["unknown-sheet", "formula-changing", "no-backup", "restarts", "lr"],
)
def test_bad_input_exits_2(make_workbook, tmp_path, capsys, extra, message):
    book = make_workbook(quadratic_cells())
    assert main(["solve", str(book), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xl-lesson3: error: ") and message in err
    assert [p.name for p in tmp_path.iterdir()] == [book.name]


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["solve", str(tmp_path / "nope.xlsx")]) == 2
    assert "nope.xlsx: no such file" in capsys.readouterr().err
