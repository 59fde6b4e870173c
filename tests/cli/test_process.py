"""CLI process hygiene: the collector paused while building, output flushed before the fast exit,
and no torch import for ``--help``."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest

from tests.solver.test_solve import quadratic_cells
from xl_lesson3.cli._process import collector_paused, resume_collector

ARGS = ["--objective", "fit!E1", "--changing", "fit!A1:C1"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "xl_lesson3", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


@pytest.fixture
def unfreeze():
    yield
    gc.unfreeze()
    gc.enable()


@pytest.mark.parametrize("resume_early", [False, True], ids=["resumed-at-exit", "resumed-inside"])
def test_collector_paused_then_frozen_and_enabled(unfreeze, resume_early):
    gc.unfreeze()
    with collector_paused():
        assert not gc.isenabled()
        if resume_early:
            resume_collector()
            assert gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # everything alive when building ended was frozen
    resume_collector()  # a second call changes nothing
    assert gc.isenabled()


def test_collector_left_alone_when_not_asked(unfreeze):
    with collector_paused(pause=False):
        assert gc.isenabled()


def test_fast_exit_still_flushes_json_and_status(make_workbook):
    book = make_workbook(quadratic_cells(), name="quad.xlsx")
    done = _cli("solve", str(book), *ARGS, "--json", "--dry-run", "--steps", "20")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # complete: the buffer was flushed before os._exit
    assert payload["objective"] == "fit!E1" and payload["output"] is None


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        ([*ARGS, "--steps", "0"], 2, "--steps: must be at least 1"),
        (["--objective", "nope!A1", "--changing", "fit!A1:C1"], 2, "nope"),
    ],
    ids=["bad-option", "unknown-sheet"],
)
def test_fast_exit_keeps_error_status_and_message(make_workbook, args, status, message):
    book = make_workbook(quadratic_cells())
    done = _cli("solve", str(book), *args, "--dry-run")
    assert done.returncode == status
    assert message in done.stderr and "Traceback" not in done.stderr


def test_help_does_not_import_torch():
    code = (
        "import sys, contextlib, io\n"
        "from xl_lesson3.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_solve_reads_the_same_workbook_either_way(tmp_path):
    """The command reads the book in a forked child while torch imports (`load_aside`) or, with
    the switch off, itself: the same model, so the same seeded solve and the same written cells."""
    from pathlib import Path

    from xl_lesson3.workbook.address import CellAddress
    from xl_lesson3.workbook.load import load_workbook
    from xl_lesson3.workbook.load_aside import ENV_SWITCH

    book = Path(__file__).resolve().parents[2] / "workbooks" / "titanic.xlsx"
    found = {}
    for aside in ("1", "0"):
        out = tmp_path / f"solved-{aside}.xlsx"
        args = ["solve", str(book), "--sheet", "nnet", "--restarts", "2", "--steps", "15"]
        args += ["--seed", "3", "--method", "lbfgs", "--json", "--out", str(out)]
        done = subprocess.run(
            [sys.executable, "-m", "xl_lesson3", *args],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "OMP_NUM_THREADS": "1", ENV_SWITCH: aside},
            check=False,
        )
        assert done.returncode == 0, done.stderr
        payload = json.loads(done.stdout)
        assert payload["final"] < payload["initial"]
        written = load_workbook(out).cells  # the file holds the parameters the payload reports
        for cell, value in payload["cells"].items():
            assert written[CellAddress.parse(cell)].value == pytest.approx(value, rel=1e-12)
        found[aside] = payload
    assert found["1"]["initial"] == pytest.approx(found["0"]["initial"], rel=1e-12)
    assert found["1"]["final"] == pytest.approx(found["0"]["final"], rel=1e-9)
    assert found["1"]["cells"].keys() == found["0"]["cells"].keys()
