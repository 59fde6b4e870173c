"""Worksheet parts in the canonical form Excel and openpyxl write, taken apart in bulk.

The write-back changes a few cells in each of ~100k rows, and a Python step per XML element
(expat's callbacks, `xlsx_cells.SheetPatcher`) costs ~35 s for such a sheet. Here C-level passes
(``bytes.find``/``count``, compiled regular expressions, list slicing) find the rows and the
target cells, and Python steps once per block of rows. Used by the bulk patcher
(`xlsx_bulk_patch`) and the bulk read-back (`xlsx_verify_fast`).

Regular expressions cannot tell a ``<row>`` in a comment from a real one, so a part is used here
only after a cheap proof that it is in the form they read; anything else raises `NotCanonical`
and the caller takes the general path, which handles any XML:
- The bytes up to ``<sheetData>`` go through `safexml.StreamParser` (namespace-aware, no DTD): ``<sheetData>`` is
  a child of the root, unprefixed, in the root's namespace, and no prefix is bound to that
  namespace, so every element of it inside the sheet data is spelt without a prefix.
- The sheet data holds no ``<!`` (comments, CDATA), no ``<?`` (processing instructions) and no
  ``xmlns`` (no namespace redeclared): each ``<row`` and ``<c`` there is a real element.
- Every ``<row`` start tag has an explicit ``r`` and double-quoted attributes; rows ascend.
- In the rows a caller touches, the target cells are found exactly once each, in order, as whole
  canonical elements (`BlockCells.exactly`); rows where they are not go the general way.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

import numpy as np
from openpyxl.utils.cell import get_column_letter

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.safexml import StreamParser
from xl_lesson3.workbook.xlsx_cells import cell_position
from xl_lesson3.workbook.xlsx_fastscan import NotCanonical

SHEET_DATA = b"<sheetData>"
SHEET_DATA_END = b"</sheetData>"
_ROW_END = b"</row>"
MAX_HEAD = 16 << 20  # bytes before <sheetData> (a few kB in practice)

_ATTRS = rb'(?: [^\s=/>"<]+="[^"<]*")*'  # attributes as Excel writes them: ' name="value"'
# A <row start tag: (number, attributes, "/" when empty) or, when not canonical, a marker.
# Group numbers of `cell_pattern` matches.
LETTERS, DIGITS, ATTRS, F = 1, 2, 3, 4
STRIDE = 5  # re.split's items per match: the text before it, then its four groups


def sheet_pieces(chunks: Iterable[bytes]) -> Iterator[tuple[str, bytes]]:
    """A worksheet part's bytes as ("head", up to and including ``<sheetData>``), then ("rows",
    whole rows) pieces, the last one ("last", ending before ``</sheetData>``), then ("tail", the
    rest) pieces. Raises NotCanonical when the head or the sheet data is not canonical."""
    buf = b""
    chunks = iter(chunks)
    for chunk in chunks:
        buf += chunk
        start = buf.find(SHEET_DATA)
        if start >= 0:
            yield "head", buf[: start + len(SHEET_DATA)]
            buf = buf[start + len(SHEET_DATA) :]
            break
        if len(buf) > MAX_HEAD:
            raise NotCanonical
    else:
        raise NotCanonical  # no literal <sheetData> (prefixed, empty or absent)
    while SHEET_DATA_END not in buf:  # one copy of each chunk: leftover + its whole rows
        chunk = next(chunks, None)
        if chunk is None:
            break
        seam = buf[-len(SHEET_DATA_END) :] + chunk[: len(SHEET_DATA_END)]
        if SHEET_DATA_END in chunk or SHEET_DATA_END in seam:
            buf += chunk
            break
        cut = chunk.rfind(_ROW_END)
        if cut < 0:
            buf += chunk
            continue
        cut += len(_ROW_END)
        yield "rows", _checked(b"".join((buf, memoryview(chunk)[:cut])))
        buf = chunk[cut:]
    end = buf.find(SHEET_DATA_END)
    if end < 0:
        raise NotCanonical
    yield "last", _checked(buf[:end])
    yield "tail", buf[end:]
    for chunk in chunks:
        yield "tail", chunk


def _checked(piece: bytes) -> bytes:
    # "!" and "?" are rare in sheet data and "<" is everywhere: test them alone first.
    if (b"!" in piece and b"<!" in piece) or (b"?" in piece and b"<?" in piece):
        raise NotCanonical
    if b"xmlns" in piece:
        raise NotCanonical
    return piece


class _Head:
    """What the head's parse saw: the root's namespace declarations, the last start tag."""

    def __init__(self) -> None:
        self.decls: dict[str | None, str] = {}
        self.last: tuple[str, int, int] | None = None  # name, depth, byte offset
        self.depth = 0

    def start(self, name: str, _attrs: dict[str, str], index: int) -> None:
        self.depth += 1
        self.last = (name, self.depth, index)

    def end(self, _name: str, _index: int) -> None:
        self.depth -= 1

    def declare(self, prefix: str | None, uri: str) -> None:
        if self.last is None:  # before the root's start: the root's own declarations
            self.decls[prefix] = uri


def head_namespace(head: bytes) -> str:
    """The namespace of the sheet data, proven from the part's head (see module docstring)."""
    seen = _Head()
    checker = StreamParser(seen.start, seen.end, where="head")  # DTDs and entities refused
    checker.parser.StartNamespaceDeclHandler = seen.declare
    if hasattr(checker.parser, "SetReparseDeferralEnabled"):  # expat 2.6: report the last tag
        checker.parser.SetReparseDeferralEnabled(False)
    try:
        checker.feed(head)
    except WorkbookIOError as exc:
        raise NotCanonical from exc  # the general path reports it
    if seen.last is None:
        raise NotCanonical
    name, depth, index = seen.last
    ns, _, local = name.rpartition(" ")
    if (
        local != "sheetData"
        or depth != 2
        or index != len(head) - len(SHEET_DATA)
        or seen.decls.get(None) != ns
        or any(prefix and uri == ns for prefix, uri in seen.decls.items())
    ):
        raise NotCanonical
    return ns


class RowIndex:
    """The ``<row>`` elements of one piece: where each starts and its number.

    Row i spans ``starts[i]`` to ``starts[i + 1]`` (the last one to the end of the piece), so
    what lies between rows travels with the row before it. Raises NotCanonical unless every
    ``<row`` starts ``<row r="N"`` and the numbers ascend above `after`.
    """

    def __init__(self, piece: bytes, after: int) -> None:
        starts: list[int] = []
        digits: list[bytes] = []
        find, startswith = piece.find, piece.startswith
        at = find(b"<row")
        while at >= 0:  # bytes.find runs at memchr speed; a row costs a few steps
            if not startswith(b' r="', at + 4):
                raise NotCanonical
            end = find(b'"', at + 8)
            if end < 0:
                raise NotCanonical
            starts.append(at)
            digits.append(piece[at + 8 : end])
            at = find(b"<row", end)
        if digits and not b"".join(digits).isdigit() or b"" in digits:
            raise NotCanonical
        self.starts = [*starts, len(piece)]
        self.digits = digits
        self.numbers = np.array(digits).astype(np.int64) if digits else np.zeros(0, np.int64)
        if digits and (self.numbers[0] <= after or (np.diff(self.numbers) <= 0).any()):
            raise NotCanonical  # rows out of order (or numbered 0)

    def __len__(self) -> int:
        return len(self.digits)


def blocks(
    rows: RowIndex, wanted: np.ndarray, colset_of: np.ndarray
) -> Iterator[tuple[int, int, int, bool]]:
    """Target rows `wanted` (ascending, with their column-set ids) grouped into runs:
    (first, end) indices into `wanted`, the piece's row index `at` of the first, and whether
    they exist. Existing rows run while they are consecutive in the piece and want the same
    columns; missing rows run while they go at the same place (before row `at`)."""
    pos = np.searchsorted(rows.numbers, wanted)  # the existing row's index, or where it goes
    exists = pos < len(rows)
    exists[exists] = rows.numbers[pos[exists]] == wanted[exists]
    same = np.zeros(len(wanted), bool)  # wanted row k runs on from row k - 1
    same[1:] = (exists[1:] == exists[:-1]) & np.where(
        exists[1:],
        (pos[1:] == pos[:-1] + 1) & (colset_of[1:] == colset_of[:-1]),
        pos[1:] == pos[:-1],
    )
    edges = [*np.flatnonzero(~same).tolist(), len(wanted)]
    for a, b in itertools.pairwise(edges):
        yield a, b, int(pos[a]), bool(exists[a])


def column_letters(cols: Iterable[int]) -> bytes:
    """A regular expression alternative of the letters of columns `cols` (``Q|R|AA``)."""
    return b"|".join(sorted({get_column_letter(c).encode() for c in cols}))


@lru_cache(maxsize=256)
def cell_pattern(cols: tuple[int, ...]) -> re.Pattern[bytes]:
    """Each row's start, and the canonical cells of columns `cols` in it: ``<c r="Q6" ...>``
    with at most an ``<f>``, then a ``<v>`` or an ``<is>``, no whitespace between.

    Groups of a cell: LETTERS and DIGITS of its reference, ATTRS (the rest of its start tag
    from the reference's closing quote, without ``>``) and F (its whole ``<f>`` element: b"",
    or None for ``<c .../>``); a row's start matches with every group None. Other cells do not
    match: their rows then go the general way (see `BlockCells`).
    """
    return re.compile(
        rb'<row |<c r="('
        + column_letters(cols)
        + rb')([0-9]{1,7})("[^>/]*)(?:/>|>((?:<f[^>/]*(?:/>|>[^<]*</f>))?)'
        + rb"(?:<v ?/>|<v>[^<]*</v>)?(?:<is>.*?</is>)?</c>)",
        re.DOTALL,
    )


class BlockCells:
    """The target-column cells of a run of rows that want the same columns, found by one
    `re.split` of their bytes with `pattern` (groups LETTERS and DIGITS first, `stride` items
    per match; each row's start matches too).

    `exact` is what makes the block safe to use in bulk: under each row's start come exactly
    its target cells, in column order, each once, each a whole canonical element whose
    reference names that row. A target cell in another form (``r="$Q$6"``, no ``r``, an
    ``<extLst>`` child) is missing here, and the caller sends its rows the general way.
    Cells ascend within a row and appear once, as the format requires; only a file breaking
    that could tell the two paths apart (and the read-back check refuses what comes of it).
    """

    def __init__(
        self,
        segment: bytes,
        pattern: re.Pattern[bytes],
        stride: int,
        letters: list[bytes],
        digits: list[bytes],
    ) -> None:
        self.parts = pattern.split(segment)
        self.stride = stride
        self.width = len(letters) + 1  # matches per row: its start, then its cells
        self.rows = len(digits)
        self.n = (len(self.parts) - 1) // stride
        self.exact = (
            self.n == self.rows * self.width
            and self.parts[LETTERS::stride] == ([None, *letters]) * self.rows
            and self.parts[DIGITS::stride] == self.spread(digits, None)
        )

    def group(self, index: int) -> list:
        """Group `index` of every match (rows' starts included), in file order."""
        return self.parts[index :: self.stride]

    def spread(self, per_row: list, at_row: object) -> list:
        """A list over the matches: `at_row` at each row's start, then `per_row`'s item of
        that row at each of its cells."""
        out = [at_row] * (self.rows * self.width)
        for k in range(1, self.width):
            out[k :: self.width] = per_row
        return out

    def place(self, per_cell: list, at_row: object) -> list:
        """A list over the matches: `at_row` at each row's start, `per_cell` (one item per
        cell, in order) at the cells."""
        out = [at_row] * (self.rows * self.width)
        cells = self.width - 1
        for k in range(1, self.width):
            out[k :: self.width] = per_cell[k - 1 :: cells]
        return out

    def cell_index(self, match: int) -> int:
        """The cell number (0 = first target cell of the block) of match number `match`."""
        return (match // self.width) * (self.width - 1) + match % self.width - 1


class ArrayRanges:
    """Array formulas' ranges, each with the cell holding the formula (its anchor).

    `SheetPatcher` treats a cell as a formula's when an array formula seen before it in the
    file covers it; rows and cells ascend, so "seen before" is "anchored at or before".
    """

    _ANCHOR = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"' + _ATTRS + rb" ?><f(" + _ATTRS + rb")")
    _REF = re.compile(rb' ref="([^"]*)"')

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int, int, int, int, int]] = []  # anchor row, col, r1..c2

    def add_from(self, piece: bytes) -> None:
        """Note the array formulas of `piece` (a quick test first: most sheets have none)."""
        if b'"array"' not in piece:
            return
        found = 0
        for host, attrs in self._ANCHOR.findall(piece):
            ref = self._REF.search(attrs)
            if b' t="array"' not in attrs or ref is None:
                continue
            found += 1
            first, _, last = ref.group(1).decode().partition(":")
            (r1, c1), (r2, c2) = cell_position(first), cell_position(last or first)
            self.ranges.append((*cell_position(host.decode()), r1, c1, r2, c2))
        if found != piece.count(b' t="array"'):
            raise NotCanonical  # an array formula in a form the expression does not read

    def before_row(self, row: int) -> list[tuple[int, int, int, int]]:
        """The ranges of arrays anchored in rows above `row` (as `SheetPatcher` has seen them)."""
        return [(r1, c1, r2, c2) for hr, _, r1, c1, r2, c2 in self.ranges if hr < row]

    def covers(self, row: int, col: int) -> bool:
        """Whether (row, col) lies in an array formula anchored at or before it."""
        return any(
            (hr, hc) <= (row, col) and r1 <= row <= r2 and c1 <= col <= c2
            for hr, hc, r1, c1, r2, c2 in self.ranges
        )


class TargetRowWalk:
    """Where a pass over a sheet's pieces stands among its sorted target rows.

    The bulk patcher and the bulk read-back walk a part the same way: each piece's rows are
    indexed, the array formulas met so far remembered, and the target rows the piece holds taken
    in order. Keeping that in one place keeps the two passes in step.
    """

    def __init__(self, target_rows: np.ndarray) -> None:
        self.target_rows = target_rows
        self.arrays = ArrayRanges()
        self.next = 0  # the first target row not handled yet
        self.last_row = 0

    def enter(self, piece: bytes, *, last: bool) -> tuple[RowIndex, int, int]:
        """The piece's row index and the target rows [lo, hi) it holds (the rest when `last`)."""
        rows = RowIndex(piece, self.last_row)
        if len(rows):
            self.last_row = int(rows.numbers[-1])
        self.arrays.add_from(piece)
        lo = self.next
        if last:
            hi = len(self.target_rows)
        else:
            hi = int(np.searchsorted(self.target_rows, self.last_row, side="right"))
        self.next = hi
        return rows, lo, hi
