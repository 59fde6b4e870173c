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
