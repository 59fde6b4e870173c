"""The first worksheet reader tried: `xlsx_tokens`' checked cell arrays turned into columns.

The part is streamed once. Everything outside ``<sheetData>`` (the prolog, where a document type
declaration would be refused, and the sheet's other elements) goes through expat; the body of
``<sheetData>`` is cut at row ends into chunks that `xlsx_tokens` checks and tokenises with numpy.
Per chunk, numbers are converted in one numpy call, shared strings looked up by array index, and
the texts of plain formulas and inline strings cut out of the chunk by their known byte spans
and decoded in one pass over all of them; only shared, array and data-table formulas, cells of
rarer types and array members' cached values take a Python step each (`FormulaReader`,
`typed_value`, as in the other readers). Raises `NotCanonical` (nothing kept) for a part this
does not handle: `xlsx_sheet` then tries the regex reader, then the element reader.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.columns import ColumnCells
from xl_lesson3.workbook.sheet_layout import LayoutBuilder
from xl_lesson3.workbook.xlsx_fastscan import (
    OTHER_ENCODING,
    NotCanonical,
    attributes,
    joined_texts,
    text_of,
)
from xl_lesson3.workbook.xlsx_formulas import KEY_COLS, FormulaReader, SheetCells, typed_value
from xl_lesson3.workbook.xlsx_package import Package, unescape_xstring
from xl_lesson3.workbook.xlsx_tokens import Cells, Chunk, attributes_ok, tokenize_with_tags
from xl_lesson3.workbook.xml_safe import ExpatCheck

CHUNK = 4 << 20  # bytes of <sheetData> tokenised at a time, cut at a row's end (cache-sized:
# 16 MB chunks ran ~15% slower)
MAX_HEAD = 16 << 20  # bytes before <sheetData> (Excel writes a few kB)
MAX_NUMBER_TEXT = 64  # bytes; Excel writes at most 17 significant digits and an exponent
_OPEN, _CLOSE, _ROW_END = b"<sheetData>", b"</sheetData>", b"</row>"
NUMBER, SHARED, INLINE, OTHER = range(4)  # how a cell's value is stored, by its t attribute


def read_sheet_columnar(
    package: Package,
    part: str,
    sheet: str,
    strings: list[str],
    cached: bool,
    layout: bool = False,
) -> SheetCells:
    """Read worksheet `part` as `sheet` (see `xlsx_sheet.read_sheet`), or raise NotCanonical.
    `layout`: also note where each cell's bytes are (`SheetCells.layout`)."""
    reader = _Reader(package, sheet, strings, cached)
    builder = None
    if layout:
        info = package.zip.getinfo(part)
        builder = LayoutBuilder(part, info.CRC, info.file_size, info.compress_size)
    for base, data in sheet_chunks(package, part):
        cells, tokens = tokenize_with_tags(data)
        reader.add(cells, data)
        if builder is not None:
            builder.add(cells, tokens, base)
    found = reader.finish()
    if builder is not None:
        found.layout = builder.finish()
    return found


def sheet_chunks(package: Package, part: str) -> Iterator[tuple[int, bytes]]:
    """The body of ``<sheetData>`` in pieces ending at a row's end, each with its offset in the
    part; the rest of the part is parsed by expat (refusing any document type declaration) as
    if ``<sheetData>`` were empty."""
    xml_check = ExpatCheck(f"{package.path}: {part}")
    head = b""
    pieces = iter(package.raw_chunks(part))
    for piece in pieces:  # the part up to <sheetData>, to expat
        head += piece
        start = head.find(_OPEN)
        if start >= 0:
            if OTHER_ENCODING.match(head):
                raise NotCanonical  # the bytes here are read as UTF-8
            xml_check.feed(head[: start + len(_OPEN)])
            if xml_check.last_start != "sheetData":
                raise NotCanonical  # the text found was not the element
            rest = head[start + len(_OPEN) :]
            break
        if len(head) > MAX_HEAD:  # <sheetData/>, or a prefixed one: the other readers
            raise NotCanonical
    else:
        raise NotCanonical
    yield from _body(pieces, rest, start + len(_OPEN), xml_check)
    xml_check.close()


def _body(
    pieces: Iterator[bytes], first: bytes, base: int, xml_check: ExpatCheck
) -> Iterator[tuple[int, bytes]]:
    """The body's pieces (`first` starts at offset `base`); ``</sheetData>`` and what follows
    it go to the XML check."""
    held: list[bytes] = []
    size = 0
    for piece in itertools.chain([first], pieces):
        tail = held[-1][-len(_CLOSE) :] if held else b""
        held.append(piece)
        size += len(piece)
        if _CLOSE in piece or _CLOSE in tail + piece[: len(_CLOSE)]:
            data = b"".join(held)
            end = data.find(_CLOSE, max(0, size - len(piece) - len(_CLOSE)))
            yield base, data[:end]
            xml_check.feed(data[end:])
            for after in pieces:
                xml_check.feed(after)
            return
        if size >= CHUNK:
            data = b"".join(held)
            cut = data.rfind(_ROW_END) + len(_ROW_END)
            if cut >= len(_ROW_END):
                yield base, data[:cut]
                data = data[cut:]
                base += cut
            held, size = [data], len(data)
    raise NotCanonical  # a truncated part


class _Reader:
    def __init__(self, package: Package, sheet: str, strings: list[str], cached: bool) -> None:
        self.sheet, self.strings, self.cached = sheet, strings, cached
        self.formulas = FormulaReader(package.path, sheet)
        self.kinds: dict[bytes, tuple[str | None, bool]] = {}  # attributes → (t, has cm)
        self.f_attrs: dict[bytes, dict[str, str]] = {}
        self.values = _Columns(sheet)
        self.formula_cells = _Columns(sheet)
        self.array_cached: dict[CellAddress, Any] = {}
        self._string_array: np.ndarray | None = None

    def _cell_kinds(self, cells: Cells) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
        """(storage code per cell, has cm= per cell, t attribute per distinct attribute text)."""
        codes, cms, kinds = [], [], []
        for text in cells.attrs.texts:
            found = self.kinds.get(text)
            if found is None:
                parsed = attributes(text)
                if not attributes_ok(text) or "r" in parsed:
                    raise NotCanonical
                kind = parsed.get("t")
                found = self.kinds[text] = (None if kind == "n" else kind, "cm" in parsed)
            kinds.append(found[0])
            codes.append({None: NUMBER, "s": SHARED, "inlineStr": INLINE}.get(found[0], OTHER))
            cms.append(found[1])
        index = cells.attrs.index
        return np.array(codes, np.int8)[index], np.array(cms, bool)[index], kinds

    def add(self, cells: Cells, data: bytes) -> None:
        if not cells.n:
            return
        code, cm, kinds = self._cell_kinds(cells)
        rows, cols = cells.rows, cells.cols
        is_formula, texts = self._formulas(cells, data, cm)
        member = self._members(rows, cols)
        if member is not None:
            if bool((member & is_formula).any()):
                i = int(np.flatnonzero(member & is_formula)[0])
                where = self.formulas.where(int(rows[i]), int(cols[i]))
                raise WorkbookIOError(f"{where}: a formula inside another array formula")
            if self.cached:
                for i in np.flatnonzero(member).tolist():
                    value = self._value(cells, data, kinds, i)
                    if value is not None:
                        self.array_cached[CellAddress(self.sheet, int(rows[i]), int(cols[i]))] = (
                            value
                        )
        f_idx = np.flatnonzero(is_formula)
        f_values = None
        if self.cached:
            f_values = np.empty(len(f_idx), object)
            f_values[:] = [self._value(cells, data, kinds, i) for i in f_idx.tolist()]
        f_texts = np.empty(len(texts), object)
        f_texts[:] = texts
        self.formula_cells.add(rows[f_idx], cols[f_idx], f_values, None, None, f_texts)
        plain = ~is_formula if member is None else ~(is_formula | member)
        self._plain(cells, data, code, kinds, plain)

    def _formulas(self, cells: Cells, data: bytes, cm: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """(which cells hold a formula, their texts in file order)."""
        has_text = cells.f_end > cells.f_start
        plain = (cells.f_kind == 1) & has_text
        which = np.flatnonzero(plain)
        texts = _texts(cells.chunk, cells.f_start[which], cells.f_end[which], "=")
        other = cells.f_attr_cells
        if not len(other):
            return plain, texts
        found = dict(zip(np.flatnonzero(plain).tolist(), texts, strict=True))
        f_attrs = cells.f_attrs
        infos = [self._f_attributes(raw) for raw in f_attrs.texts]  # per distinct attributes
        shared = np.array([info.get("t") == "shared" for info in infos], bool)
        # Members (an empty <f t="shared" si=".."/>) are expanded a group at a time; each
        # group's members before a new master of the group are expanded before that master.
        is_member = shared[f_attrs.index] & ~has_text[other]  # (FA tags,)
        members = _Members(self, cells, found, f_attrs.index, is_member, infos)
        for j in np.flatnonzero(~is_member).tolist():
            i, info = int(other[j]), infos[f_attrs.index[j]]
            if info.get("t") == "shared":
                members.expand(info.get("si", ""), before=j)
            body = data[cells.f_start[i] : cells.f_end[i]] if has_text[i] else b""
            text = self.formulas.text(
                int(cells.rows[i]), int(cells.cols[i]), info, text_of(body) if body else None,
                bool(cm[i]),
            )  # fmt: skip
            if text is not None:
                found[i] = text
        members.expand_all()
        is_formula = np.zeros(cells.n, bool)
        is_formula[list(found)] = True
        return is_formula, [found[i] for i in np.flatnonzero(is_formula).tolist()]

    def _f_attributes(self, raw: bytes) -> dict[str, str]:
        attrs = self.f_attrs.get(raw)
        if attrs is None:
            if not attributes_ok(raw):
                raise NotCanonical
            attrs = self.f_attrs[raw] = attributes(raw)
        return attrs

    def _members(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
        formulas = self.formulas
        if not formulas.blocks:
            return None
        if formulas.member_keys is not None:
            listed = np.fromiter(formulas.member_keys, np.int64, len(formulas.member_keys))
            return np.isin(rows * KEY_COLS + cols, listed)
        member = np.zeros(len(rows), bool)
        for r1, r2, c1, c2 in formulas.blocks:
            inside = (rows >= r1) & (rows <= r2) & (cols >= c1) & (cols <= c2)
            member |= inside & ((rows != r1) | (cols != c1))
        return member

    def _plain(self, cells: Cells, data: bytes, code, kinds, plain: np.ndarray) -> None:
        """The values of cells that are neither formulas nor array members: in bulk by type."""
        has_v = cells.v_end > cells.v_start
        numeric = plain & has_v & ~cells.has_is & (code == NUMBER)
        shared = plain & has_v & ~cells.has_is & (code == SHARED)
        inline = plain & cells.has_is
        other = plain & has_v & ~cells.has_is & ~numeric & ~shared
        values = np.empty(cells.n, object)
        numbers = np.zeros(cells.n)
        if numeric.any():
            numbers[numeric] = _numbers(cells, numeric)
        if shared.any():
            values[shared] = self._shared(cells, shared)
        if inline.any():
            values[inline] = ""  # <t/>
            with_text = cells.t_cells[inline[cells.t_cells]]
            values[with_text] = _texts(
                cells.chunk, cells.t_start[with_text], cells.t_end[with_text], "", xstrings=True
            )
        for i in np.flatnonzero(other).tolist():
            values[i] = self._value(cells, data, kinds, i)
        keep = np.flatnonzero(numeric | shared | inline | other)
        self.values.add(
            cells.rows[keep], cells.cols[keep], values[keep], numeric[keep], numbers[keep]
        )

    def _shared(self, cells: Cells, which: np.ndarray) -> np.ndarray:
        index = _numbers(cells, which)
        whole = index.astype(np.int64)
        if self._string_array is None:
            self._string_array = np.empty(len(self.strings), object)
            self._string_array[:] = self.strings
        if not bool(((whole == index) & (whole >= 0) & (whole < len(self.strings))).all()):
            raise NotCanonical  # the regex reader names the cell
        return self._string_array[whole]

    def _value(self, cells: Cells, data: bytes, kinds: list, i: int) -> Any:
        """The stored value of cell `i` (None where it has none), one cell at a time."""
        if cells.has_is[i]:
            return unescape_xstring(text_of(data[cells.t_start[i] : cells.t_end[i]]))
        if cells.v_end[i] <= cells.v_start[i]:
            return None
        kind = kinds[cells.attrs.index[i]]
        text = text_of(data[cells.v_start[i] : cells.v_end[i]])
        try:
            return typed_value(kind, text, self.strings)
        except (ValueError, WorkbookIOError) as exc:
            where = self.formulas.where(int(cells.rows[i]), int(cells.cols[i]))
            raise WorkbookIOError(f"{where}: bad value ({exc})") from exc

    def finish(self) -> SheetCells:
        return SheetCells(
            formulas=self.formula_cells.finish(),
            values=self.values.finish(),
            arrays=self.formulas.arrays,
            array_cached=self.array_cached,
        )


class _Members:
    """The shared-formula members of one chunk, by group, expanded in bulk into `found`."""

    def __init__(self, reader: _Reader, cells: Cells, found: dict, index, is_member, infos):
        self.reader, self.cells, self.found = reader, cells, found
        tags = np.flatnonzero(is_member)  # (members,) positions among the chunk's FA tags
        # group numbers per member, sorted (stable: file order within a group); never one
        # pass per group (a sheet can hold thousands of small shared blocks)
        names = [info.get("si", "") for info in infos]
        number = {name: k for k, name in enumerate(dict.fromkeys(names))}
        group = np.array([number[name] for name in names], np.int64)[index[tags]]  # (members,)
        order = np.argsort(group, kind="stable")
        bounds = [0, *(np.flatnonzero(np.diff(group[order])) + 1).tolist(), len(order)]
        name_of = list(number)
        self.tags = {
            name_of[int(group[order[a]])]: tags[order[a:b]]
            for a, b in itertools.pairwise(bounds)
            if b > a
        }
        self.done = dict.fromkeys(self.tags, 0)

    def expand(self, group: str, before: int) -> None:
        """Expand `group`'s members that come before FA tag `before` (with today's master)."""
        if group in self.tags:
            stop = int(np.searchsorted(self.tags[group], before))
            self._expand(group, stop)

    def expand_all(self) -> None:
        for group, tags in self.tags.items():
            self._expand(group, len(tags))

    def _expand(self, group: str, stop: int) -> None:
        start = self.done[group]
        if stop <= start:
            return
        which = self.cells.f_attr_cells[self.tags[group][start:stop]]
        texts = self.reader.formulas.shared_members(
            group, self.cells.rows[which].tolist(), self.cells.cols[which].tolist()
        )
        self.found.update(zip(which.tolist(), texts, strict=True))
        self.done[group] = stop


def _numbers(cells: Cells, which: np.ndarray) -> np.ndarray:
    """The `<v>` texts of cells `which` as float64, in one numpy conversion."""
    start, end = cells.v_start[which], cells.v_end[which]
    length = end - start
    width = int(length.max())
    if width > MAX_NUMBER_TEXT:
        raise NotCanonical
    n_words = (width + 7) // 8
    window = cells.chunk.window(start, n_words)  # (n, 8 * n_words)
    window[np.arange(8 * n_words) >= length[:, None]] = 0
    try:
        return window.view(f"S{8 * n_words}").reshape(-1).astype(np.float64)
    except ValueError as exc:
        raise NotCanonical from exc  # let another reader name the bad cell


def _texts(
    chunk: Chunk, start: np.ndarray, end: np.ndarray, prefix: str = "", xstrings: bool = False
) -> list[str]:
    """The element texts ``data[start:end]`` (file order), each after `prefix` (see
    `joined_texts`), cut out of the chunk together by `_joined_spans`; no Python step per text."""
    if not len(start):
        return []
    joined = _joined_spans(chunk, start, end, prefix.encode())
    return joined_texts(joined[:-1], "", xstrings, chunk.entities)


def _joined_spans(chunk: Chunk, start: np.ndarray, end: np.ndarray, prefix: bytes) -> bytes:
    """``prefix + data[start:end] + NUL`` for every span (ascending, each an element's text), as
    one bytes string.

    `xlsx_tokens` proved each text lies between its element's start tag, ending in '>', and its
    end tag, starting with '<': each run ``data[start - len(prefix) : end + 1]`` is cut out, its
    first byte made the prefix (one byte at most) and its last the NUL. Runs that are a small
    part of the chunk (inline strings, mostly) are gathered by index, others by one boolean mask
    over the chunk (a `findall` making a bytes object per text, then a join, took ~3 times as
    long)."""
    if len(prefix) > 1:
        raise ValueError("a prefix of one byte at most")
    first = start - len(prefix)
    runs = end + 1 - first
    if int(runs.sum()) * _GATHER_BELOW < chunk.size:
        out = _gathered_runs(chunk, first, runs)
    else:
        out = _masked_runs(chunk, first, runs)
    ends = np.cumsum(runs) - 1
    out[ends] = 0
    if prefix:
        out[ends - runs + 1] = prefix[0]
    return out.tobytes()


_GATHER_BELOW = 8  # gather runs by index while they hold under 1/8 of the chunk's bytes


def _gathered_runs(chunk: Chunk, first: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """The bytes of the runs ``[first, first + runs)``, one after another, gathered by index."""
    offsets = np.cumsum(runs) - runs  # where each run starts in the result
    index = np.repeat(first - offsets, runs) + np.arange(int(runs.sum()))
    return chunk.bytes[index]


def _masked_runs(chunk: Chunk, first: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """As `_gathered_runs`, by one boolean mask over the chunk (runs ascending, apart)."""
    bounds = np.empty(2 * len(first) + 2, np.int64)  # kept runs and the gaps between them
    bounds[0], bounds[-1] = 0, chunk.size
    bounds[1:-1:2], bounds[2:-1:2] = first, first + runs
    keep = np.zeros(len(bounds) - 1, bool)
    keep[1::2] = True
    return chunk.bytes[: chunk.size][np.repeat(keep, np.diff(bounds))]


class _Columns:
    """Cells gathered column by column as chunks come (rows ascending in a well-formed file):
    a column's pieces are joined once, at the end, into one `ColumnCells`."""

    def __init__(self, sheet: str) -> None:
        self.sheet = sheet
        self.rows: dict[int, list[np.ndarray]] = {}
        self.values: dict[int, list[np.ndarray | int]] = {}  # an int: that many None
        self.texts: dict[int, list[np.ndarray]] = {}

    def add(self, rows, cols, values, is_number, numbers, texts=None) -> None:
        """One chunk's cells in file order: `values` (objects; None: all None) except where
        `is_number`, whose values are `numbers` (float64); `texts`: formula texts."""
        if not len(rows):
            return
        order = np.argsort(cols.astype(np.int16), kind="stable")  # a radix sort: ≤ 16384
        bounds = [0, *(np.flatnonzero(np.diff(cols[order])) + 1).tolist(), len(order)]
        for a, b in itertools.pairwise(bounds):
            at = order[a:b]
            col = int(cols[at[0]])
            self.rows.setdefault(col, []).append(rows[at])
            self.values.setdefault(col, []).append(_piece(values, is_number, numbers, at))
            if texts is not None:
                self.texts.setdefault(col, []).append(texts[at])

    def finish(self) -> dict[int, ColumnCells]:
        found = {}
        for col, pieces in self.rows.items():
            rows = np.concatenate(pieces)
            if len(rows) > 1 and not bool((np.diff(rows) > 0).all()):
                raise NotCanonical  # rows out of order or repeated: the element reader sorts
            values = self.values[col]
            if all(isinstance(piece, int) for piece in values):
                column_values = [None] * len(rows)
            else:
                column_values = np.concatenate(
                    [np.full(p, None, object) if isinstance(p, int) else p for p in values]
                ).tolist()
            texts = np.concatenate(self.texts[col]).tolist() if col in self.texts else None
            found[col] = ColumnCells(self.sheet, col, rows.tolist(), column_values, texts)
        return found


def _piece(values, is_number, numbers, at: np.ndarray) -> np.ndarray | int:
    """The values of cells `at`: a float64 array when all are numbers (no objects made before
    the column's one `tolist`), an int when all are None."""
    if values is None:
        return len(at)
    if is_number is None or not bool(is_number[at].any()):
        return values[at]
    if bool(is_number[at].all()):
        return numbers[at]
    piece = values[at]
    mask = is_number[at]
    piece[mask] = numbers[at][mask]
    return piece
