"""Reading a workbook in a forked child while the command imports torch (`load_aside`).

The fork only happens in a process that has not imported torch, so these tests run a fresh
interpreter (`_run`): it loads each workbook both ways and reports whether a child did the
reading and how the two models differ. pytest's own process has torch imported, so there the
load stays in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xl_lesson3.workbook import load_aside

ROOT = Path(__file__).resolve().parents[2]
TITANIC = ROOT / "workbooks" / "titanic.xlsx"
CONFORMANCE = ROOT / ".." / "shared" / "conformance"
BOOKS = sorted(CONFORMANCE.glob("*/*.xlsx")) if CONFORMANCE.is_dir() else []
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux only")

_COMPARE = """
import json, sys
from pathlib import Path
from tests.workbook.model_compare import model_differences
from xl_lesson3.workbook.load import load_sheets
from xl_lesson3.workbook.load_aside import start_load
out = {}
for book, sheets in json.loads(sys.argv[1]):
    layout = sheets is not None  # as the solve command asks: the sheets it writes back into
    with start_load(Path(book), sheets, layout=layout) as pending:
        try:
            aside = pending.model()
        except Exception as exc:
            aside = f"{type(exc).__name__}: {exc}"
    try:
        here = load_sheets(Path(book), sheets, layout=layout)
    except Exception as exc:
        here = f"{type(exc).__name__}: {exc}"
    if isinstance(aside, str) or isinstance(here, str):
        same = [] if aside == here else [f"{aside!r} != {here!r}"]
    else:
        same = model_differences(aside, here)
    out[book] = {"forked": pending.forked, "differences": same, "error": isinstance(here, str),
                 "torch": "torch" in sys.modules}
print(json.dumps(out))
"""


def _run(books: list[tuple[str, list[str] | None]], **env: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _COMPARE, json.dumps(books)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


needs_two_cores = pytest.mark.skipif(
    load_aside.usable_cores() < 2, reason="a load aside needs two usable cores"
)


@needs_two_cores
def test_a_child_reads_the_workbook_and_the_model_is_the_same():
    books = [(str(TITANIC), None), (str(TITANIC), ["nnet"])] + [(str(b), None) for b in BOOKS]
    found = _run(books)
    assert len(found) == len({b for b, _ in books})
    for book, result in found.items():
        assert result["forked"], book
        assert not result["torch"], book  # neither process imported torch to read
        assert result["differences"] == [], book


@needs_two_cores
def test_a_bad_workbook_fails_as_a_plain_load_does(tmp_path):
    not_a_zip = tmp_path / "notes.xlsx"
    not_a_zip.write_text("just text")
    damaged = tmp_path / "damaged.xlsx"
    data = bytearray(TITANIC.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # inside a sheet's deflated data
    damaged.write_bytes(bytes(data))
    found = _run([(str(not_a_zip), None), (str(damaged), None), (str(TITANIC), ["nowhere"])])
    assert found[str(not_a_zip)]["error"] and found[str(damaged)]["error"]
    for book, result in found.items():
        assert result["forked"], book
        assert result["differences"] == [], book  # the same error, word for word


def test_the_switch_keeps_the_load_in_process():
    found = _run([(str(TITANIC), None)], **{load_aside.ENV_SWITCH: "0"})
    assert found[str(TITANIC)] == {
        "forked": False,
        "differences": [],
        "error": False,
        "torch": False,
    }


def test_no_fork_once_torch_is_imported():
    import torch  # noqa: F401  (what the command's process holds after the load)

    assert not load_aside.can_load_aside()
    with load_aside.start_load(TITANIC, ["nnet"]) as pending:
        model = pending.model()
    assert not pending.forked
    assert model.sheet_names == ("nnet",)


@needs_two_cores
def test_closing_stops_a_child_still_reading():
    script = textwrap.dedent(
        """
        import os, sys
        from pathlib import Path
        from xl_lesson3.workbook.load_aside import start_load
        pending = start_load(Path(sys.argv[1]), None)
        pid = pending.pid
        pending.close()  # at once: the child has not even imported the reader yet
        try:
            os.kill(pid, 0)
            print("alive", pending.exit_code)
        except ProcessLookupError:
            print("gone", pending.exit_code)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(TITANIC)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["gone", "-9"]  # killed, and reaped: not even a zombie
