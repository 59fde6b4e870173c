"""Names of our temporary files, and the clean-up of those a killed run left behind.

Every file we write goes first to ``.NAME.PID-XXXXXXXX.tmp`` beside its destination and is then
moved over it, so a run killed mid-write leaves only such a file, never a half-written workbook.
The process id in the name tells the next run whether the writer is gone: its temporary files
are removed then; those of a live run (another process writing the same file) are left alone.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

_TEMP_RE = r"\.{name}\.(\d+)-[0-9a-f]{{8}}\.tmp"


def temp_path(dst: Path) -> Path:
    """A fresh temporary file name beside `dst`, carrying this process's id."""
    return dst.parent / f".{dst.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # Windows refuses to delete a file a live process holds open
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def orphans(dst: Path) -> list[Path]:
    """Our temporary files for `dst` whose writing process no longer runs."""
    pattern = re.compile(_TEMP_RE.format(name=re.escape(dst.name)))
    try:
        names = os.listdir(dst.parent)
    except OSError:
        return []
    found = []
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _process_alive(int(match.group(1))):
            found.append(dst.parent / name)
    return found


def remove_orphans(dst: Path) -> None:
    """Remove the temporary files a killed run left beside `dst` (best effort)."""
    for path in orphans(dst):
        try:
            path.unlink()
        except OSError:  # in use (Windows) or already gone: not ours to fight over
            continue
