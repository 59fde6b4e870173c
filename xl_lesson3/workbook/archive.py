"""Check a workbook file's zip archive against size limits before any XML parser sees it.

An .xlsx is a zip of XML parts, and zip makes it cheap to send a small file that inflates to
gigabytes (a "zip bomb"), in any part, used or not; or a sheet of tens of millions of cells that
would take minutes and gigabytes to load. `check_archive` is what every reader calls first: it
reads the zip's directory (declared sizes and compression ratios), then inflates every part as a
stream, never holding one whole, to check the actual sizes and count the worksheets' cells. It
refuses with one line naming the part and the limit, and the option that raises it. The load
defers the worksheets (`defer_worksheets`): their sizes are checked from the directory here, and
`archive_budget.CellBudget` checks and counts them as the reader inflates them.

Limits come from `ArchiveLimits`; the CLI's ``--max-bytes``, ``--max-ratio`` and ``--max-cells``
set them for a run with `use_limits`, so readers need not pass them along.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.safexml import parse_xml

_GIB = 1 << 30
_MIB = 1 << 20
_CHUNK = 1 << 20
_MAX_PARTS = 100_000
# A cell's start tag: <c ...>, <c>, <c/>, or with a namespace prefix (<x:c ...>).
_CELL_TAG_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,31}:)?c[\s/>]")
_TAIL = 96  # longer than any match of the patterns, so a tag split across chunks is counted
# `<c` starting anything but a cell's tag (<col>, <cfRule>...): with bytes.count(b"<c") it counts
# the unprefixed cells `_CELL_TAG_RE` matches at C speed (that expression took ~1 s of a
# 100k-row sheet's check: it stops at every tag).
_NOT_CELL_TAG_RE = re.compile(rb"<c(?![\s/>])")
# Big chunks are counted with numpy instead (bytes.count and the two scans around it took ~17 ms
# a 4 MB chunk, numpy ~4 ms): "<c" and ":c" as 16-bit words at even and odd offsets.
_NUMPY_COUNT_BYTES = 1 << 16
_LT_C, _COLON_C = (np.uint16(int.from_bytes(pair, "little")) for pair in (b"<c", b":c"))
_ENDS_CELL_NAME = np.zeros(256, bool)  # bytes `_CELL_TAG_RE` allows after "<c": \s, '/', '>'
_ENDS_CELL_NAME[list(b" \t\n\r\x0b\x0c/>")] = True
# The same in UTF-16 parts (conservative: ":c " in text counts too), little and big endian.
_UTF16_CELL_RE = {
    bom: re.compile(
        b"|".join(re.escape(t.encode(codec)) for t in ("<c", ":c"))
        + b"(?="
        + b"|".join(re.escape(t.encode(codec)) for t in (" ", "/", ">", "\t", "\n"))
        + b")"
    )
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
}
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


@dataclass(frozen=True)
class ArchiveLimits:
    """What a workbook file may hold. Ratios are checked only for parts above `ratio_floor`."""

    max_bytes: int = 4 * _GIB  # all parts together, inflated
    max_ratio: float = 200.0  # inflated / compressed size of one part
    max_cells: int = 30_000_000  # cells of all worksheets together
    ratio_floor: int = 4 * _MIB


@dataclass(frozen=True)
class ArchiveSummary:
    """What `check_archive` found: the parts' inflated size and each worksheet part's cells."""

    total_bytes: int
    cells: dict[str, int]
    # Worksheet parts checked from the zip directory only (`check_archive(defer_worksheets=True)`):
    # whoever reads the package inflates them through a `CellBudget`, which counts as they pass.
    deferred: frozenset[str] = frozenset()

    @property
    def total_cells(self) -> int:
        """Cells (``<c>`` elements) of every worksheet together."""
        return sum(self.cells.values())


_limits: ContextVar[ArchiveLimits | None] = ContextVar("archive_limits", default=None)
_checked: dict[tuple, ArchiveSummary] = {}


def current_limits() -> ArchiveLimits:
    """The limits `check_archive` applies when given none (set by `use_limits`)."""
    return _limits.get() or ArchiveLimits()


@contextmanager
def use_limits(limits: ArchiveLimits) -> Iterator[None]:
    """Apply `limits` to every `check_archive` call inside the block."""
    token = _limits.set(limits)
    try:
        yield
    finally:
        _limits.reset(token)


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


def check_archive(
    path: str | Path, limits: ArchiveLimits | None = None, *, defer_worksheets: bool = False
) -> ArchiveSummary:
    """Refuse `path` unless it is a zip whose parts stay within `limits`; call before parsing.

    Raises WorkbookIOError with one line: not a file, not a zip (an .xls or .ods says so), a
    damaged zip, a part or the whole over `max_bytes`, a part inflating more than `max_ratio`
    times, worksheets with more than `max_cells` cells. The result for an unchanged file is
    remembered, so a second reader pays nothing.

    `defer_worksheets`: worksheet parts are checked against their declared sizes and ratios only,
    not inflated here (a 100k-row sheet took ~20% of its load being inflated twice); the caller
    reads the package through a `CellBudget` on the result, which refuses them as they inflate.
    """
    path = Path(path)
    limits = limits or current_limits()
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, limits)
        if key in _checked:  # a full check also serves a deferred one
            return _checked[key]
        if defer_worksheets and (key, "deferred") in _checked:
            return _checked[(key, "deferred")]
        with open(path, "rb") as file:
            _check_magic(path, file.read(8))
            file.seek(0)
            with zipfile.ZipFile(file) as package:
                summary = _check_package(path, package, limits, defer_worksheets)
    except (zipfile.BadZipFile, zlib.error) as exc:  # bad CRC, truncated or corrupt deflate data
        raise WorkbookIOError(f"{path}: damaged .xlsx archive ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise WorkbookIOError(f"{path}: cannot read the workbook ({_reason(exc)})") from exc
    _checked[(key, "deferred") if summary.deferred else key] = summary
    return summary


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _check_magic(path: Path, head: bytes) -> None:
    if not head:
        raise WorkbookIOError(f"{path}: the file is empty, not an .xlsx workbook")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise WorkbookIOError(
            f"{path}: a legacy .xls (Excel 97-2003) or encrypted workbook; save it as .xlsx"
        )
    if not head.startswith(b"PK"):
        raise WorkbookIOError(f"{path}: not an .xlsx workbook (not a zip archive)")


def _check_package(
    path: Path, package: zipfile.ZipFile, limits: ArchiveLimits, defer: bool
) -> ArchiveSummary:
    infos = package.infolist()
    names = {info.filename for info in infos}
    if "mimetype" in names and b"opendocument" in package.read("mimetype")[:200]:
        raise WorkbookIOError(f"{path}: an OpenDocument spreadsheet (.ods); save it as .xlsx")
    if "[Content_Types].xml" not in names:
        raise WorkbookIOError(f"{path}: not an .xlsx workbook (no [Content_Types].xml in the zip)")
    if len(infos) > _MAX_PARTS:
        raise WorkbookIOError(f"{path}: {len(infos)} parts in the zip (at most {_MAX_PARTS})")
    declared = 0
    for info in infos:
        declared += info.file_size
        _check_part_declared(path, info, declared, limits)
    sheets = _worksheet_parts(path, package, names)
    deferred = frozenset(sheets) if defer else frozenset()
    total = 0
    cells: dict[str, int] = {}
    for info in infos:
        if info.filename in deferred:
            continue
        count, size = _inflate(path, package, info, info.filename in sheets, limits)
        total += size
        if info.filename in sheets:
            cells[info.filename] = count
            if sum(cells.values()) > limits.max_cells:
                raise WorkbookIOError(
                    f"{path}: {info.filename}: the worksheets hold more than "
                    f"{limits.max_cells:,} cells (--max-cells raises the limit)"
                )
    return ArchiveSummary(total, cells, deferred)


def _check_part_declared(path: Path, info: zipfile.ZipInfo, total: int, limits: ArchiveLimits):
    where = f"{path}: {info.filename}"
    if info.file_size > limits.max_bytes or total > limits.max_bytes:
        raise WorkbookIOError(
            f"{where}: inflates to {_size(total)}, over the {_size(limits.max_bytes)} limit "
            "(--max-bytes raises it)"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
        raise WorkbookIOError(
            f"{where}: compressed {ratio:.0f}:1 ({_size(info.compress_size)} inflating to "
            f"{_size(info.file_size)}), over the {limits.max_ratio:g}:1 limit for a zip bomb "
            "(--max-ratio raises it)"
        )


def _worksheet_parts(path: Path, package: zipfile.ZipFile, names: set[str]) -> set[str]:
    """Worksheet part names, from [Content_Types].xml (overrides) and the usual folder."""
    root = parse_xml(package.read("[Content_Types].xml"), f"{path}: [Content_Types].xml")
    parts = {
        override.get("PartName", "").lstrip("/")
        for override in root.iter(f"{_CT_NS}Override")
        if "worksheet" in override.get("ContentType", "")
    }
    parts |= {n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")}
    return parts & names


_PROLOG_BYTES = 4096
_DTD_MARKS = tuple(
    mark.encode(encoding)
    for mark in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)


def _refuse_dtd(path: Path, part: str, head: bytes) -> None:
    """Refuse a part whose prolog declares a DTD, in every part, read or not.

    Excel never writes one; a DTD is how XXE and billion-laughs payloads arrive, and a part we skip
    today may be parsed by openpyxl (the builders) or by a later version of our reader.
    """
    if any(mark in head for mark in _DTD_MARKS):
        raise WorkbookIOError(f"{path}: {part}: refused unsafe XML (a document type declaration)")


def _cell_pattern(head: bytes) -> re.Pattern[bytes]:
    """The cell-tag pattern for a part starting with `head` (UTF-8, or UTF-16 by BOM or NULs)."""
    if head.startswith(b"\xff\xfe") or head[1:2] == b"\x00":
        return _UTF16_CELL_RE[b"\xff\xfe"]
    if head.startswith(b"\xfe\xff") or head[:1] == b"\x00":
        return _UTF16_CELL_RE[b"\xfe\xff"]
    return _CELL_TAG_RE


def _inflate(
    path: Path, package: zipfile.ZipFile, info: zipfile.ZipInfo, count: bool, limits: ArchiveLimits
) -> tuple[int, int]:
    """(cells counted, bytes) of one part, inflated as a stream; zipfile checks the CRC."""
    cells = 0
    size = 0
    counter = None
    with package.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            if counter is None:  # the pattern is chosen by the part's first bytes
                counter = TagCounter(_cell_pattern(chunk[:4]))
                _refuse_dtd(path, info.filename, chunk[:_PROLOG_BYTES])
            size += len(chunk)
            if size > limits.max_bytes:
                raise WorkbookIOError(
                    f"{path}: {info.filename}: inflates past the {_size(limits.max_bytes)} limit "
                    "(--max-bytes raises it)"
                )
            if count:
                cells = counter.feed(chunk)
                if cells > limits.max_cells:
                    raise WorkbookIOError(
                        f"{path}: {info.filename}: more than {limits.max_cells:,} cells "
                        "(--max-cells raises the limit)"
                    )
    return cells, size


class TagCounter:
    """Cell start tags of a part fed chunk by chunk, each counted once, a tag split across two
    chunks too: the chunk is counted alone, and only its first `_TAIL` bytes with the previous
    chunk's last ones (no tags match across more, and none overlap), never the two joined."""

    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern = pattern
        self.tail = b""  # the part's last _TAIL bytes so far
        self.cells = 0

    def feed(self, chunk: bytes) -> int:
        """Count `chunk`, the part's next bytes; the cells so far."""
        head, pattern = chunk[:_TAIL], self.pattern
        straddling = (
            _count_tags(self.tail + head, pattern)
            - _count_tags(self.tail, pattern)
            - _count_tags(head, pattern)
        )
        self.cells += _count_tags(chunk, pattern) + straddling
        self.tail = chunk[-_TAIL:] if len(chunk) >= _TAIL else (self.tail + chunk)[-_TAIL:]
        return self.cells


def _count_tags(data: bytes, pattern: re.Pattern[bytes]) -> int:
    """Cell start tags in `data`, as `pattern` counts them (faster when none can be prefixed)."""
    if pattern is _CELL_TAG_RE:
        if len(data) >= _NUMPY_COUNT_BYTES:
            found = _count_unprefixed_numpy(data)
            if found is not None:
                return found
        elif b":c" not in data:
            return data.count(b"<c") - len(_NOT_CELL_TAG_RE.findall(data))
    return len(pattern.findall(data))


def _count_unprefixed_numpy(data: bytes) -> int | None:
    """`_CELL_TAG_RE`'s count in `data` when it holds no ":c" (so no prefixed tag); else None.

    "<c" and ":c" are found as 16-bit words at even and at odd offsets (two compares each, no
    byte-pair scan); a "<c" is a cell's tag when the byte after it is one the pattern allows."""
    even = np.frombuffer(data, "<u2", len(data) // 2)
    odd = np.frombuffer(data, "<u2", (len(data) - 1) // 2, offset=1)
    if np.count_nonzero(even == _COLON_C) or np.count_nonzero(odd == _COLON_C):
        return None
    after = np.concatenate(
        [np.flatnonzero(even == _LT_C) * 2, np.flatnonzero(odd == _LT_C) * 2 + 1]
    )
    after += 2
    after = after[after < len(data)]  # "<c" at the very end: not a tag yet (as the pattern)
    return int(np.count_nonzero(_ENDS_CELL_NAME[np.frombuffer(data, np.uint8)[after]]))
