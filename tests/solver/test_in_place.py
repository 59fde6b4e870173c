"""What `solve --in-place` promises about the file: killed at any moment the book is the
original or the fully solved one; two runs at once lose nothing; backups are never
overwritten; every part but the solved sheet keeps its bytes; LibreOffice agrees with the
objective we report."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import random
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import LineChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image
from openpyxl.worksheet.table import Table
from PIL import Image as PILImage

from tests import libreoffice
from tests.badinput.corpus import base_workbook
from xl_lesson3.cli import main
from xl_lesson3.workbook.tempfiles import orphans

SOLVE = ["solve", "--method", "lbfgs", "--steps", "20"]
PARAMS = ("A1", "B1", "C1")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _values(path: Path, cells=PARAMS) -> list[float]:
    """The cells' stored values (cached results for formulas), through openpyxl."""
    sheet = openpyxl.load_workbook(path, data_only=True)["fit"]
    return [sheet[c].value for c in cells]


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {info.filename: package.read(info) for info in package.infolist()}


def _run_cli(argv: list[str]) -> None:
    """Child process body: the CLI in a process forked from a server that imported torch once."""
    sys.exit(main(argv))


@pytest.fixture(scope="module")
def spawn():
    """Start `xl-lesson3 ARGV` as a child process in a few milliseconds (forkserver, torch
    preloaded), so each kill trial costs the solve, not Python's and torch's start-up."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the forkserver start method (POSIX)")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "xl_lesson3.cli", "xl_lesson3.solver.api"])

    def start(argv: list[str]) -> multiprocessing.Process:
        process = context.Process(target=_run_cli, args=(argv,))
        process.start()
        return process

    return start


def _initial_objective(book: Path) -> float:
    from xl_lesson3.formula.evaluate.recalc import evaluate_cells
    from xl_lesson3.workbook.address import CellAddress
    from xl_lesson3.workbook.load import load_workbook

    return evaluate_cells(load_workbook(book), [CellAddress("fit", 1, 5)])[0]


def test_sigkill_at_random_moments_never_corrupts_the_book(tmp_path, spawn):
    original = base_workbook()
    reference = tmp_path / "reference" / "book.xlsx"
    reference.parent.mkdir()
    for _ in range(2):  # the first run also starts the fork server; time the second
        reference.write_bytes(original)
        started = time.monotonic()
        process = spawn([SOLVE[0], str(reference), *SOLVE[1:], "--in-place", "--no-backup"])
        process.join(120)
        duration = time.monotonic() - started
        assert process.exitcode == 0
    solved = _values(reference)
    rng = random.Random(11)
    outcomes = []
    for trial in range(20):
        book = tmp_path / f"t{trial}" / "book.xlsx"
        book.parent.mkdir()
        book.write_bytes(original)
        process = spawn([SOLVE[0], str(book), *SOLVE[1:], "--in-place"])
        time.sleep(rng.uniform(0.1, 1.1) * duration)
        process.kill()  # SIGKILL
        process.join(60)
        if _sha(book) == hashlib.sha256(original).hexdigest():
            outcomes.append("original")
        else:
            assert _values(book) == pytest.approx(solved, rel=1e-9), f"trial {trial}"
            outcomes.append("solved")
        backup = book.with_name("book.bak.xlsx")
        assert not backup.exists() or backup.read_bytes() == original, f"trial {trial}"
    # The next run removes what a killed run left (temporary files of a dead process).
    leftovers = [p for t in range(20) for p in orphans(tmp_path / f"t{t}" / "book.xlsx")]
    if leftovers:
        book = leftovers[0].parent / "book.xlsx"
        assert main([SOLVE[0], str(book), *SOLVE[1:], "--in-place"]) == 0
        assert not leftovers[0].exists()
    print("outcomes:", outcomes.count("original"), "original,", outcomes.count("solved"), "solved")


def test_two_runs_at_once_lose_nothing(tmp_path, spawn):
    book = tmp_path / "book.xlsx"
    book.write_bytes(base_workbook())
    original = book.read_bytes()
    initial = _initial_objective(book)
    argv = [SOLVE[0], str(book), *SOLVE[1:], "--in-place", "--wait", "120"]
    runs = [spawn(argv) for _ in range(2)]
    for run in runs:
        run.join(300)
    assert [run.exitcode for run in runs] == [0, 0]
    first, second = tmp_path / "book.bak.xlsx", tmp_path / "book.bak1.xlsx"
    assert first.read_bytes() == original  # the original is kept, never overwritten
    between = _values(second, ["E1"])[0]  # the book as the first run left it: its answer
    assert between < initial
    assert _values(book, ["E1"])[0] <= between * (1 + 1e-9)  # the second went on from there
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "book.bak.xlsx",
        "book.bak1.xlsx",
        "book.xlsx",
    ]


def test_out_equal_to_the_input_is_in_place(tmp_path):
    book = tmp_path / "book.xlsx"
    book.write_bytes(base_workbook())
    original = book.read_bytes()
    assert (
        main(
            [
                *SOLVE[:1],
                str(book),
                *SOLVE[1:],
                "--out",
                str(tmp_path / ".." / tmp_path.name / "book.xlsx"),
            ]
        )
        == 0
    )
    assert (tmp_path / "book.bak.xlsx").read_bytes() == original
    assert book.read_bytes() != original


def _rich_book(path: Path) -> Path:
    """The quadratic fit plus a chart, an image, a comment, a table and a second sheet."""
    wb = openpyxl.load_workbook(io.BytesIO(base_workbook()))
    ws = wb["fit"]
    chart = LineChart()
    chart.add_data(Reference(ws, min_col=2, min_row=3, max_row=10))
    ws.add_chart(chart, "I2")
    picture = io.BytesIO()
    PILImage.new("RGB", (4, 4), (20, 130, 30)).save(picture, format="PNG")
    ws.add_image(Image(picture), "I20")
    ws["G1"].comment = Comment("keep me", "tester")
    other = wb.create_sheet("table")
    for row in (["name", "x"], ["a", 1], ["b", 2]):
        other.append(row)
    other.add_table(Table(displayName="things", ref="A1:B3"))
    wb.save(path)
    return path


@pytest.mark.libreoffice
def test_fidelity_other_parts_identical_and_libreoffice_agrees(tmp_path, capsys):
    book = _rich_book(tmp_path / "rich.xlsx")
    out = tmp_path / "solved.xlsx"
    assert main([*SOLVE[:1], str(book), *SOLVE[1:], "--out", str(out), "--json"]) == 0
    reported = json.loads(capsys.readouterr().out)["final"]
    before, after = _parts(book), _parts(out)
    assert list(before) == list(after)
    changed = [name for name in before if before[name] != after[name]]
    assert changed == ["xl/worksheets/sheet1.xml"]
    recalculated = libreoffice.recalculate(out)["fit"]
    assert recalculated["E1"].value == pytest.approx(reported, rel=1e-9)
    assert _values(out, ["E1"])[0] == pytest.approx(reported, rel=1e-12)
