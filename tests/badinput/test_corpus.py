"""Run the bad-input corpus: each case one stderr line, its exit status, and files untouched."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.badinput.corpus import BOOK, Case, all_cases, base_workbook, write_case
from xl_lesson3.cli import main

CASES = all_cases()


@pytest.fixture(scope="module")
def base() -> bytes:
    return base_workbook()


def _snapshot(folder: Path) -> dict[str, str]:
    """File name → sha256 of everything in `folder` (recursively), to see changes and strays."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _check(case: Case, folder: Path, before: dict[str, str], status: int, err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    assert case.gist.replace("{dir}", str(folder)) in lines[0], lines[0]
    assert status == case.exit, lines[0]
    assert _snapshot(folder) == before


def test_corpus_is_large_and_ids_are_unique():
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_in_process(case: Case, base: bytes, tmp_path: Path, capsys):
    argv = write_case(case, tmp_path, base)
    before = _snapshot(tmp_path)
    status = main(argv)
    _check(case, tmp_path, before, status, capsys.readouterr().err)


SUBSET = [case for case in CASES if case.subprocess]


@pytest.mark.parametrize("case", SUBSET, ids=[case.id for case in SUBSET])
def test_bad_input_as_a_process(case: Case, base: bytes, tmp_path: Path):
    argv = write_case(case, tmp_path, base)
    before = _snapshot(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "xl_lesson3", *argv],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    _check(case, tmp_path, before, done.returncode, done.stderr)


def test_locked_book_is_refused_and_untouched(base: bytes, tmp_path: Path, capsys):
    """Another process holding the book's lock: exit 1, one line, nothing written."""
    from xl_lesson3.workbook.lock import locked

    book = tmp_path / BOOK
    book.write_bytes(base)
    before = _snapshot(tmp_path)
    with locked(book):
        status = main(["solve", str(book), "--in-place"])
    err = capsys.readouterr().err
    assert status == 1 and "locked" in err and len(err.strip().splitlines()) == 1
    assert _snapshot(tmp_path) == before


@pytest.mark.libreoffice
def test_an_ods_saved_by_libreoffice_is_one_line(base: bytes, tmp_path: Path, capsys):
    from tests.libreoffice import SOFFICE

    source = tmp_path / "src" / "book.xlsx"
    source.parent.mkdir()
    source.write_bytes(base)
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "ods",
            "--outdir",
            str(tmp_path / "ods"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    ods = tmp_path / "ods" / "book.ods"
    before = hashlib.sha256(ods.read_bytes()).hexdigest()
    for command in (["solve", str(ods)], ["eval", str(ods), "fit!E1"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "OpenDocument spreadsheet (.ods)" in err
    assert hashlib.sha256(ods.read_bytes()).hexdigest() == before
    assert [p.name for p in (tmp_path / "ods").iterdir()] == ["book.ods"]
