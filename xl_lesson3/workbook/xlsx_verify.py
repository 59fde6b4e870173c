"""Read back the cells a write-back changed, from the new file, before it replaces anything.

A write-back that reports success must have written what it says. This module re-reads the
target cells of each patched worksheet part (none of the patcher's state) and compares type and
stored text with what the values encode to; any difference is an error, raised while the new
file is still a temporary file, so the destination is never replaced by a wrong workbook.
Canonical parts are read back in bulk (`xlsx_verify_fast`); any other, and any part the bulk
reader cannot prove, through an element reader on the same hardened parser.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO

from openpyxl.utils.cell import get_column_letter

from xl_lesson3.errors import WorkbookIOError, located
from xl_lesson3.workbook.safexml import StreamParser
from xl_lesson3.workbook.xlsx_bulk_values import Targets
from xl_lesson3.workbook.xlsx_cells import cell_position, stored_form
from xl_lesson3.workbook.xlsx_fastscan import NotCanonical
from xl_lesson3.workbook.xlsx_splice import SplicePlan
from xl_lesson3.workbook.xlsx_verify_fast import verify_sheet_bulk
from xl_lesson3.workbook.xlsx_verify_splice import verify_spliced

CHUNK = 1 << 20


@dataclass
class _ReadCell:
    t: str | None = None
    has_formula: bool = False
    v: str | None = None
    inline: str | None = None
    count: int = 0


@dataclass
class _CellReader:
    """Collects the stored form of the `targets` cells of one worksheet part."""

    targets: set[tuple[int, int]]
    cells: dict[tuple[int, int], _ReadCell] = field(default_factory=dict)
    arrays: list[tuple[int, int, int, int]] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    row: int = 0
    col: int = 0
    current: _ReadCell | None = None
    text: list[str] | None = None

    def start(self, name: str, attrs: dict[str, str], _index: int) -> None:
        local = name.rpartition(" ")[2]
        parent = self.path[-1] if self.path else ""
        self.path.append(local)
        if local == "row" and parent == "sheetData":
            self.row = int(attrs["r"]) if attrs.get("r") else self.row + 1
            self.col = 0
        elif local == "c" and parent == "row":
            ref = attrs.get("r")
            self.col = cell_position(ref)[1] if ref else self.col + 1
            self.current = None
            if (self.row, self.col) in self.targets:
                self.current = self.cells.setdefault((self.row, self.col), _ReadCell())
                self.current.count += 1
                self.current.t = attrs.get("t") if attrs.get("t") != "n" else None
        elif local == "f" and parent == "c":
            if self.current is not None:
                self.current.has_formula = True
            if attrs.get("t") == "array" and attrs.get("ref"):
                first, _, last = attrs["ref"].partition(":")
                (r1, c1), (r2, c2) = cell_position(first), cell_position(last or first)
                self.arrays.append((r1, c1, r2, c2))
        elif self.current is not None and (local == "v" and parent == "c" or local == "t"):
            self.text = []

    def end(self, name: str, _index: int) -> None:
        local = self.path.pop()
        if self.text is not None and local in ("v", "t") and self.current is not None:
            text = "".join(self.text)
            if local == "v":
                self.current.v = text
            else:
                self.current.inline = (self.current.inline or "") + text
            self.text = None
        if local == "c":
            self.current = None

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.append(text)

    def in_array(self, row: int, col: int) -> bool:
        return any(r1 <= row <= r2 and c1 <= col <= c2 for r1, c1, r2, c2 in self.arrays)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def verify_sheet(
    package: zipfile.ZipFile,
    part: str,
    sheet: str,
    updates: Mapping[tuple[int, int], object],
    targets: Targets | None = None,
    *,
    spliced: SplicePlan | None = None,
) -> None:
    """Raise WorkbookIOError unless `part` of `package` stores every cell of `updates` as set.
    `targets`: `xlsx_bulk_values.Targets(updates)` when the caller has it already. `spliced`:
    how the part was spliced (`xlsx_splice`): its cells are looked for where it put them first
    (`xlsx_verify_splice`), and only if that fails found the general way."""
    if (
        spliced is not None
        and targets is not None
        and verify_spliced(package, part, sheet, spliced, targets)
    ):
        return
    try:
        verify_sheet_bulk(package, part, sheet, updates, targets)
        return
    except NotCanonical:
        pass  # not in the form the bulk reader reads: every element through expat
    reader = _CellReader(set(updates))
    parser = StreamParser(reader.start, reader.end, where=f"{sheet} (written)")
    parser.parser.CharacterDataHandler = reader.data
    with package.open(part) as stream:
        for chunk in _chunks(stream):
            parser.feed(chunk)
    parser.close()
    for (row, col), value in updates.items():
        where = f"{sheet}!{get_column_letter(col)}{row}"
        found = reader.cells.get((row, col))
        if found is None:
            if value is None:
                continue
            raise WorkbookIOError(located(where, "write-back check failed: the cell is missing"))
        formula = found.has_formula or reader.in_array(row, col)
        expected = stored_form(value, formula=formula)
        text = found.inline if found.t == "inlineStr" else found.v
        if found.count != 1 or (found.t, text) != expected:
            raise WorkbookIOError(
                located(
                    where,
                    f"write-back check failed: wrote {text!r} (t={found.t}), "
                    f"expected {expected[1]!r} (t={expected[0]}); nothing was changed",
                )
            )
