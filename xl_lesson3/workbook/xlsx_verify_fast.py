"""The write-back check's fast path: the target cells of a written sheet, read back in bulk.

`xlsx_verify` re-reads the cells a write-back set from the new file. Its element reader makes
three Python calls per XML element (~50 s for a 100k-row sheet). Here the written part is read
back as follows, and only cells that differ take a Python step:
- every byte goes through expat (namespace-aware, DTD and entities refused, no Python callback):
  the part is well-formed XML. expat holds the GIL, so it runs in a process of its own
  (`xml_wellformed`), on the other core, while this one compares; here when none can start;
- `xlsx_canonical` proves the part canonical and, per block of target rows, finds each target
  cell exactly once under its row (else `NotCanonical`: the element reader decides);
- numbers: every target cell has no ``t`` (or ``t="n"``) and its ``<v>`` texts, parsed at once,
  equal the values as float64, exactly; other values compare their stored form per cell.
The numbers are compared as numbers, not as the patcher's text: a ``<v>`` that reads back as
another double, or not as a number, fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import numpy as np
import orjson
from openpyxl.utils.cell import get_column_letter

from xl_lesson3.errors import WorkbookIOError, located
from xl_lesson3.workbook.background import read_ahead
from xl_lesson3.workbook.safexml import StreamParser
from xl_lesson3.workbook.spare_core import core_free
from xl_lesson3.workbook.xlsx_bulk_values import Targets
from xl_lesson3.workbook.xlsx_canonical import (
    BlockCells,
    NotCanonical,
    TargetRowWalk,
    blocks,
    column_letters,
    head_namespace,
    sheet_pieces,
)
from xl_lesson3.workbook.xlsx_cells import stored_form
from xl_lesson3.workbook.xlsx_fastscan import text_of
from xl_lesson3.workbook.xml_wellformed import NOT_WELL_FORMED

T = TypeVar("T")
_SCRIPT = Path(__file__).with_name("xml_wellformed.py")
PROCESS_MIN_BYTES = 4 << 20  # parts this big are checked by expat in a process of their own

CHUNK = 16 << 20  # bytes inflated at a time
_PARSE = 1 << 16  # bytes given to expat at a time (its fastest size here)
ATTRS, F, V, IS = 3, 4, 5, 6  # groups of `_pattern` after LETTERS and DIGITS
STRIDE = 7
_T = re.compile(rb"""\st\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_IS_TEXT = re.compile(rb"<t(?:\s[^>]*)?>([^<]*)</t>|<t\s*/>")
_NUMBER_BYTES = b"0123456789-+.e,"


@lru_cache(maxsize=256)
def _pattern(cols: tuple[int, ...]) -> re.Pattern[bytes]:
    """`xlsx_canonical.cell_pattern`, keeping what the check reads: the ``<f>`` (or None),
    the whole ``<v>`` element and the ``<is>`` body."""
    return re.compile(
        rb'<row |<c r="('
        + column_letters(cols)
        + rb')([0-9]{1,7})("[^>/]*)(?:/>|>(<f[^>/]*(?:/>|>[^<]*</f>))?'
        + rb"(<v ?/>|<v>[^<]*</v>)?(?:<is>(.*?)</is>)?</c>)",
        re.DOTALL,
    )


def verify_sheet_bulk(
    package: zipfile.ZipFile,
    part: str,
    sheet: str,
    updates: Mapping[tuple[int, int], object],
    targets: Targets | None = None,
) -> None:
    """Raise WorkbookIOError unless `part` stores every cell of `updates` as set; NotCanonical
    when the part is not in the form read here (the caller uses the element reader).
    `targets`: `Targets(updates)` when the caller has it already."""
    targets = targets if targets is not None else Targets(updates)
    checked_read(package, part, f"{sheet} (written)", _Check(targets, sheet).run)


def checked_read(
    package: zipfile.ZipFile, part: str, where: str, read: Callable[[Iterator[bytes]], T]
) -> T:
    """`read(chunks)` over the written `part` while expat checks it is well-formed: in a process
    of its own on the other core when one can start, else on the same chunks here. Raises what
    either finds; a NotCanonical from `read` only after the XML check (damaged XML is the better
    answer when it is the reason)."""
    process = start_wellformed_check(package, part)
    try:
        found = read(written_chunks(package, part, where, parse=process is None))
    except NotCanonical:
        if process is not None:
            end_wellformed_check(process, package, part, where, fallback=False)
        raise
    except BaseException:
        if process is not None:
            process.kill()
            process.communicate()
        raise
    if process is not None:
        end_wellformed_check(process, package, part, where)
    return found


def start_wellformed_check(package: zipfile.ZipFile, part: str) -> subprocess.Popen | None:
    """`xml_wellformed` on `part` in a process of its own, or None where none can start."""
    if not isinstance(package.filename, str) or not sys.executable:
        return None
    if package.getinfo(part).file_size < PROCESS_MIN_BYTES:
        return None  # starting a process costs more than parsing here
    if not core_free():
        return None  # no idle core: parsing here costs less than sharing one
    try:
        return subprocess.Popen(
            [sys.executable, "-I", str(_SCRIPT), package.filename, part],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows: no console
        )
    except OSError:
        return None


def end_wellformed_check(
    process: subprocess.Popen,
    package: zipfile.ZipFile,
    part: str,
    where: str,
    *,
    fallback: bool = True,
) -> None:
    """Wait for the checker process; raise what it found. When it failed to run, check here
    (with `fallback`; otherwise the caller's element reader will)."""
    _, err = process.communicate()
    if process.returncode == NOT_WELL_FORMED:
        raise WorkbookIOError(located(where, err.decode("utf-8", "replace").strip()))
    if process.returncode != 0 and fallback:
        for _ in written_chunks(package, part, where, parse=True):
            pass


def written_chunks(
    package: zipfile.ZipFile, part: str, where: str, *, parse: bool
) -> Iterator[bytes]:
    """The part's bytes; with `parse`, each chunk parsed by expat first (handlers only for the
    refusals: no Python call per element)."""
    checker = StreamParser(_ignore, _ignore, where=where)
    checker.parser.StartElementHandler = None
    checker.parser.EndElementHandler = None
    with package.open(part) as stream:
        chunks = read_ahead(iter(lambda: stream.read(CHUNK), b""))  # inflated on a thread
        try:
            for chunk in chunks:
                if parse:
                    view = memoryview(chunk)
                    for at in range(0, len(chunk), _PARSE):
                        checker.feed(view[at : at + _PARSE])
                yield chunk
        finally:
            chunks.close()  # its thread reads `stream`: stop it before `stream` closes
    if parse:
        checker.close()


def _ignore(*_: object) -> None:
    return None


class TagKinds(dict):
    """Start-tag attributes → their ``t`` (None for none or "n"), filled on first sight."""

    def __missing__(self, attrs: bytes) -> str | None:
        match = _T.search(attrs)
        kind = text_of(match.group(1) or match.group(2) or b"") if match else None
        found = self[attrs] = None if kind == "n" else kind
        return found


class _Check:
    def __init__(self, targets: Targets, sheet: str) -> None:
        self.targets, self.sheet = targets, sheet
        self.walk = TargetRowWalk(targets.target_rows)
        self.arrays = self.walk.arrays
        self.kinds = TagKinds()

    def run(self, chunks: Iterator[bytes]) -> None:
        for kind, piece in sheet_pieces(chunks):
            if kind == "head":
                head_namespace(piece)
            elif kind != "tail":
                self._piece(piece, last=kind == "last")
        if self.walk.next != len(self.targets.target_rows):
            raise NotCanonical  # cannot happen: the last piece takes the rest

    def _piece(self, piece: bytes, *, last: bool) -> None:
        t = self.targets
        rows, lo, hi = self.walk.enter(piece, last=last)
        view = memoryview(piece)
        for a, b, at, exists in blocks(rows, t.target_rows[lo:hi], t.colset_of[lo:hi]):
            first, end = int(t.first[lo + a]), int(t.first[lo + b])
            if not exists:
                if any(t.value(i) is not None for i in range(first, end)):
                    raise NotCanonical  # a row is missing: the element reader says which cell
                continue
            colset = int(t.colset_of[lo + a])
            segment = view[rows.starts[at] : rows.starts[at + b - a]]
            digits = rows.digits[at : at + b - a]
            cells = BlockCells(
                segment, _pattern(t.colsets[colset]), STRIDE, t.letters[colset], digits
            )
            if not cells.exact:
                raise NotCanonical  # a cell is missing or not canonical: the element reader
            self._compare(cells, first, end)

    def _compare(self, cells: BlockCells, first: int, end: int) -> None:
        """Targets `first` to `end` against the block's cells (in the same order)."""
        t, w = self.targets, cells.width
        attrs, velems = cells.group(ATTRS), cells.group(V)
        del attrs[0::w], velems[0::w]  # rows' starts
        kinds = list(map(self.kinds.__getitem__, attrs))
        numeric = t.numeric[first:end]
        if numeric.all():
            if kinds.count(None) == len(kinds) and same_numbers(velems, t.numbers[first:end]):
                return
            suspects = range(end - first)
        else:
            at = np.flatnonzero(numeric).tolist()
            same = [kinds[k] for k in at].count(None) == len(at) and same_numbers(
                [velems[k] for k in at], t.numbers[first:end][at]
            )
            suspects = np.flatnonzero(~numeric).tolist() if same else range(end - first)
        for k in suspects:
            self._compare_one(cells, k, first + k, kinds[k])

    def _compare_one(self, cells: BlockCells, k: int, index: int, kind: str | None) -> None:
        """Cell `k` of the block against target `index`, as the element reader compares it."""
        t = self.targets
        match = (k // (cells.width - 1)) * cells.width + k % (cells.width - 1) + 1
        row, col = int(t.rows[index]), int(t.cols[index])
        formula = cells.group(F)[match] is not None or self.arrays.covers(row, col)
        expected = stored_form(t.value(index), formula=formula)
        if kind == "inlineStr":
            body = cells.group(IS)[match]
            texts = [text_of(m) for m in _IS_TEXT.findall(body)] if body is not None else []
            text = "".join(texts) if texts else None
        else:
            velem = cells.group(V)[match]
            text = None if velem is None else text_of(velem[3:-4]) if velem[2:3] == b">" else ""
        if (kind, text) != expected:
            where = f"{self.sheet}!{get_column_letter(col)}{row}"
            raise WorkbookIOError(
                located(
                    where,
                    f"write-back check failed: wrote {text!r} (t={kind}), "
                    f"expected {expected[1]!r} (t={expected[0]}); nothing was changed",
                )
            )


def same_numbers(velems: list, numbers: np.ndarray) -> bool:
    """Whether the ``<v>`` elements `velems` hold exactly `numbers` (float64), read at once."""
    if not velems:
        return True
    if None in velems:
        return False
    return same_joined_numbers(b"".join(velems), numbers)


def same_joined_numbers(joined: bytes, numbers: np.ndarray) -> bool:
    """Whether `joined`, ``<v>`` elements one after the other, holds exactly `numbers`."""
    if not len(numbers):
        return not joined
    if joined.count(b"<v>") != len(numbers):  # a <v/> among them
        return False
    body = joined[3:-4].replace(b"</v><v>", b",")
    if body.translate(None, _NUMBER_BYTES):  # anything but number syntax (spaces, entities)
        return False
    try:
        found = orjson.loads(b"[" + body + b"]")
    except orjson.JSONDecodeError:
        return False
    if len(found) != len(numbers) or not set(map(type, found)) <= {int, float}:
        return False
    return bool(np.array_equal(np.array(found, dtype=np.float64), numbers))
