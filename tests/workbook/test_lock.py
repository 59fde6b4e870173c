"""The in-place lock: exclusive, refuses or waits, and follows a book that was replaced."""

from __future__ import annotations

import os
import threading
import time

import pytest

from xl_lesson3.workbook.lock import WorkbookLockedError, locked


def test_second_lock_is_refused_at_once(tmp_path):
    book = tmp_path / "b.xlsx"
    book.write_bytes(b"x")
    refused = pytest.raises(WorkbookLockedError, match="b.xlsx: another xl-lesson3 run")
    with locked(book), refused, locked(book):
        pass
    with locked(book):  # released
        pass
    assert [p.name for p in tmp_path.iterdir()] == ["b.xlsx"]  # no lock file left


@pytest.mark.skipif(os.name == "nt", reason="POSIX flock on the book itself")
def test_waiter_gets_the_replaced_book(tmp_path):
    """The holder replaces the file (as a write-back does); the waiter must lock the new one."""
    book = tmp_path / "b.xlsx"
    book.write_bytes(b"old")
    waited = []
    order: list[str] = []

    def second():
        with locked(book, wait=30, on_wait=waited.append):
            order.append(book.read_bytes().decode())

    with locked(book):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        (tmp_path / "new").write_bytes(b"new")
        os.replace(tmp_path / "new", book)
        order.append("replaced")
    thread.join(30)
    assert waited == [book] and order == ["replaced", "new"]


def test_wait_gives_up_after_the_timeout(tmp_path):
    book = tmp_path / "b.xlsx"
    book.write_bytes(b"x")
    refused = pytest.raises(WorkbookLockedError, match="after waiting 0.3 s")
    with locked(book), refused, locked(book, wait=0.3, on_wait=lambda path: None):
        pass
