"""Where a solved workbook goes: the output path, a backup's path, and whether it can be written.

Kept apart from the write-back itself (which needs the engine, and so torch) because the command
line settles these before it imports torch: a lock on the destination is taken before the
workbook is read, and the read may start in a second process (`load_aside`).
"""

from __future__ import annotations

import os
from pathlib import Path

from xl_lesson3.errors import BadInputError, WorkbookIOError


def default_output(src: Path) -> Path:
    """``BOOK-solved.xlsx`` next to ``BOOK.xlsx`` (the suffix, .xlsm too, is kept)."""
    return src.with_name(f"{src.stem}-solved{src.suffix}")


def backup_path(src: Path) -> Path:
    """``BOOK.bak.xlsx`` next to ``BOOK.xlsx`` (the first backup; see `next_backup_path`)."""
    return src.with_name(f"{src.stem}.bak{src.suffix}")


def same_file(a: Path, b: Path) -> bool:
    """Whether paths `a` and `b` name one file (``--out BOOK`` is ``--in-place``)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def destination(src: Path, out: str | Path | None, in_place: bool) -> tuple[Path, bool]:
    """(path written, whether that is the workbook itself)."""
    if in_place and out is not None:
        raise BadInputError("--out and --in-place: give one of them")
    if in_place:
        return src, True
    dst = Path(out) if out is not None else default_output(src)
    return dst, same_file(dst, src)


def check_writable(dst: Path, *, what: str = "the file") -> None:
    """Raise WorkbookIOError unless `dst` (a file, existing or not) can be written now.

    Run before solving and before a backup is made, so a run never solves for nothing and never
    leaves a backup of a book it then fails to change.
    """
    folder = dst.parent
    if not folder.is_dir():
        raise WorkbookIOError(f"{dst}: cannot write {what} (folder {folder} does not exist)")
    if dst.is_dir():
        raise WorkbookIOError(f"{dst}: cannot write {what} (it is a folder)")
    if dst.exists() and not os.access(dst, os.W_OK):
        raise WorkbookIOError(f"{dst}: cannot write {what} (the file is read-only)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WorkbookIOError(f"{dst}: cannot write {what} (folder {folder} is not writable)")


def next_backup_path(src: Path) -> Path:
    """The first of ``BOOK.bak.xlsx``, ``BOOK.bak1.xlsx``, ``BOOK.bak2.xlsx``... not taken."""
    candidate = backup_path(src)
    number = 0
    while candidate.exists():
        number += 1
        candidate = src.with_name(f"{src.stem}.bak{number}{src.suffix}")
    return candidate
