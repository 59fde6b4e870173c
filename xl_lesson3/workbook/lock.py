"""An exclusive lock on a workbook for the whole read–solve–write of ``solve --in-place``.

Two runs that both read a book, solve and write it back would each overwrite the other's answer
(and a second backup could hold the first run's output instead of the original). So an in-place
run holds an exclusive lock from before it reads the file until the new file has replaced it; a
second run is refused with one line, or waits when asked to (``--wait SECONDS``).

POSIX: ``flock`` on the book itself, so no lock file is left behind. Because the write-back
replaces the file (a new inode), a run that obtained the lock re-checks that the path still
names the file it locked and retries otherwise. Windows: the `filelock` package's lock file
``BOOK.xlsx.lock`` beside the book (Windows removes it when released).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xl_lesson3.errors import WorkbookIOError, XlLesson3Error

_POLL_SECONDS = 0.1


class WorkbookLockedError(XlLesson3Error):
    """Another run holds the workbook's lock (exit status 1: nothing wrong with the input)."""


def _locked_message(path: Path, wait: float) -> str:
    waited = f" after waiting {wait:g} s" if wait > 0 else ""
    return (
        f"{path}: another xl-lesson3 run is writing this workbook (locked){waited}; "
        "nothing was changed (--wait SECONDS waits for it)"
    )


def _say_waiting(path: Path) -> None:
    print(f"{path}: waiting for another xl-lesson3 run to finish with it", file=sys.stderr)


@contextmanager
def locked(
    path: Path, *, wait: float = 0.0, on_wait: Callable[[Path], None] = _say_waiting
) -> Iterator[None]:
    """Hold an exclusive lock on workbook `path` for the block.

    `wait`: seconds to wait for another run's lock (0: refuse at once); `on_wait(path)` is
    called once when waiting starts. Raises `WorkbookLockedError` when the lock is not obtained,
    `WorkbookIOError` when `path` cannot be opened.
    """
    path = Path(path)
    if os.name == "nt":
        with _windows_lock(path, wait):
            yield
        return
    fd = _posix_acquire(path, wait, on_wait)
    try:
        yield
    finally:
        os.close(fd)  # releases the flock


def _posix_acquire(path: Path, wait: float, on_wait: Callable[[Path], None]) -> int:
    import fcntl

    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise WorkbookIOError(f"{path}: cannot open the workbook ({exc.strerror})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise WorkbookLockedError(_locked_message(path, wait)) from None
            if not told:
                on_wait(path)
                told = True
            time.sleep(_POLL_SECONDS)
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder replaced the file while we waited: lock the new one


@contextmanager
def _windows_lock(path: Path, wait: float) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(f"{path}.lock", timeout=max(0, wait))
    try:
        lock.acquire()
    except Timeout as exc:
        raise WorkbookLockedError(_locked_message(path, wait)) from exc
    try:
        yield
    finally:
        lock.release()
