"""Check worksheet parts as a reader inflates them, instead of inflating them once more first.

`check_archive(defer_worksheets=True)` checks the worksheets from the zip directory only (declared
sizes against ``--max-bytes``, ratios against ``--max-ratio``; zipfile never inflates a part past
its declared size). A `CellBudget` then wraps every stream a `Package` opens on such a part: it
refuses a document type declaration in the part's prolog and counts cell tags as the bytes pass
(the same count `check_archive` makes), refusing once the worksheets together hold more than
``--max-cells``, so no reader gets far past the limit. `finish` inflates, the same way, the
worksheets the load never read to their end, so every part is still checked once.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO, Self

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.archive import (
    _PROLOG_BYTES,
    ArchiveLimits,
    ArchiveSummary,
    TagCounter,
    _cell_pattern,
    _inflate,
    _refuse_dtd,
    current_limits,
)


class CellBudget:
    """The cells counted so far in the deferred worksheet parts of one package."""

    def __init__(self, path: Path, summary: ArchiveSummary, limits: ArchiveLimits | None = None):
        self.path, self.deferred = path, summary.deferred
        self.limits = limits or current_limits()
        self.counts: dict[str, int] = {}  # per deferred part: cells of its latest stream
        self.done: set[str] = set()  # deferred parts some stream read to the end

    def wrap(self, part: str, stream: IO[bytes]) -> IO[bytes]:
        """`stream` (a part opened from the zip), counted when `part` was deferred."""
        if part not in self.deferred:
            return stream
        self.counts[part] = 0  # a reader falling back reads the part again from its start
        return _CountedStream(self, part, stream)  # type: ignore[return-value]

    def add(self, part: str, cells: int) -> None:
        """Record `part`'s running count; refuse once all worksheets pass ``--max-cells``."""
        self.counts[part] = cells
        if sum(self.counts.values()) > self.limits.max_cells:
            raise WorkbookIOError(
                f"{self.path}: {part}: the worksheets hold more than "
                f"{self.limits.max_cells:,} cells (--max-cells raises the limit)"
            )

    def finish(self, package: zipfile.ZipFile) -> None:
        """Inflate and count the deferred worksheets no stream read to their end."""
        for part in sorted(self.deferred - self.done):
            cells, _ = _inflate(self.path, package, package.getinfo(part), True, self.limits)
            self.add(part, cells)
            self.done.add(part)


class _CountedStream:
    """A part's stream whose bytes are checked and counted as `read` returns them."""

    def __init__(self, budget: CellBudget, part: str, stream: IO[bytes]) -> None:
        self.budget, self.part, self.stream = budget, part, stream
        self.head = b""  # the part's first bytes, up to _PROLOG_BYTES
        self.counter: TagCounter | None = None

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        if not chunk:
            if size != 0:
                self.budget.done.add(self.part)
            return chunk
        if len(self.head) < _PROLOG_BYTES:
            self.head += chunk[: _PROLOG_BYTES - len(self.head)]
            _refuse_dtd(self.budget.path, self.part, self.head)
        if self.counter is None:
            self.counter = TagCounter(_cell_pattern(self.head[:4]))
        self.budget.add(self.part, self.counter.feed(chunk))
        return chunk

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
