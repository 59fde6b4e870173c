"""The parts of an .xlsx package the engine needs, found through the package's relationships.

Only these are ever opened: the workbook part (sheets, defined names, date system, calculation
settings), its relationships, the shared string table, each worksheet and its table parts. Pivot
tables and caches, charts, drawings, images, VBA, external links, slicers and extensions are never
parsed, so nothing in them can stop a load. Styles are not needed either: values stay as stored
(dates as serial numbers, as Excel's arithmetic sees them).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.address import RangeAddress
from xl_lesson3.workbook.archive_budget import CellBudget
from xl_lesson3.workbook.model import CalcSettings, DefinedName, Table
from xl_lesson3.workbook.xml_safe import checked_chunks, local_name, parse_part, stream_elements

# Relationship types end the same way in transitional and strict OOXML; match on the tail.
_OFFICE_DOCUMENT = "/officeDocument"
_WORKSHEET = "/worksheet"
_SHARED_STRINGS = "/sharedStrings"
_EXTENDED = "/extended-properties"
_TABLE = "/table"
_R_NAMESPACES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
MAX_PART_BYTES = 4 << 30  # a part we read may not claim more than this uncompressed
MAX_SMALL_PART_BYTES = 256 << 20  # workbook.xml, relationships, tables: read whole
RAW_CHUNK = 4 << 20  # inflated bytes read at a time from a large part


@dataclass(frozen=True)
class SheetPart:
    """A worksheet: its name, its part in the zip and its table parts."""

    name: str
    part: str
    table_parts: tuple[str, ...]


@dataclass(frozen=True)
class WorkbookPart:
    """What workbook.xml says: worksheets in tab order, names, date system, calc settings."""

    sheets: tuple[SheetPart, ...]
    defined_names: tuple[DefinedName, ...]
    date1904: bool
    calc: CalcSettings
    shared_strings: str | None
    character_set: str = "cp1252"  # from docProps/app.xml, see `Package.character_set`


class Package:
    """An open .xlsx/.xlsm zip; `path` names it in every error message."""

    def __init__(
        self, path: Path, archive: zipfile.ZipFile, budget: CellBudget | None = None
    ) -> None:
        self.path = path
        self.zip = archive
        self.budget = budget  # counts the worksheets `check_archive` deferred, as they inflate
        self._names = set(archive.namelist())

    def _open(self, info: zipfile.ZipInfo) -> IO[bytes]:
        stream = self.zip.open(info)
        return self.budget.wrap(info.filename, stream) if self.budget else stream

    def has(self, part: str) -> bool:
        return part in self._names

    def read(self, part: str) -> bytes:
        """A whole small part (workbook, relationships, a table), after checking its size."""
        info = self._info(part)
        if info.file_size > MAX_SMALL_PART_BYTES:
            raise WorkbookIOError(
                f"{self.path}: part {part} declares {info.file_size} bytes, over the "
                f"{MAX_SMALL_PART_BYTES}-byte limit for such a part"
            )
        with self._open(info) as stream:
            data = stream.read(info.file_size + 1)
        if len(data) > info.file_size:
            raise WorkbookIOError(f"{self.path}: part {part} is larger than it declares")
        return data

    def elements(self, part: str) -> Iterator[Element]:
        """Stream a (large) part's elements as they end (see `xml_safe.stream_elements`)."""
        info = self._info(part)
        with self._open(info) as stream:
            yield from stream_elements(stream, f"{self.path}: {part}", info.file_size)

    def checked_chunks(self, part: str) -> Iterator[bytes]:
        """A (large) part's raw bytes, checked by expat as they pass (`xml_safe.checked_chunks`)."""
        info = self._info(part)
        with self._open(info) as stream:
            yield from checked_chunks(stream, f"{self.path}: {part}", info.file_size)

    def raw_chunks(self, part: str) -> Iterator[bytes]:
        """A (large) part's inflated bytes as they come, never past its declared size; the caller
        checks the XML (`xlsx_columnar` proves its sheetData and gives expat the rest)."""
        info = self._info(part)
        total = 0
        with self._open(info) as stream:
            while chunk := stream.read(RAW_CHUNK):
                total += len(chunk)
                if total > info.file_size:
                    raise WorkbookIOError(
                        f"{self.path}: {part}: larger than its declared size ({info.file_size} bytes)"
                    )
                yield chunk

    def _info(self, part: str) -> zipfile.ZipInfo:
        try:
            info = self.zip.getinfo(part)
        except KeyError as exc:
            raise WorkbookIOError(f"{self.path}: part {part} is missing") from exc
        if info.file_size > MAX_PART_BYTES:
            raise WorkbookIOError(
                f"{self.path}: part {part} declares {info.file_size} bytes, over the "
                f"{MAX_PART_BYTES}-byte limit"
            )
        return info

    def relationships(self, part: str) -> list[tuple[str, str, str]]:
        """(id, type, target part) of `part`'s relationships; [] when it has none."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", name + ".rels")
        if not self.has(rels):
            return []
        found = []
        for rel in parse_part(self.read(rels), f"{self.path}: {rels}"):
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            if target.startswith("/"):
                target = target[1:]
            else:
                target = posixpath.normpath(posixpath.join(folder, target))
            found.append((rel.get("Id", ""), rel.get("Type", ""), target))
        return found

    def workbook(self) -> WorkbookPart:
        """Read the workbook part and what it points to."""
        main = [t for _, kind, t in self.relationships("") if kind.endswith(_OFFICE_DOCUMENT)]
        if not main:
            raise WorkbookIOError(f"{self.path}: not a workbook (no officeDocument part)")
        book_part = main[0]
        rels = self.relationships(book_part)
        by_id = {rid: (kind, target) for rid, kind, target in rels}
        root = parse_part(self.read(book_part), f"{self.path}: {book_part}")
        sheets, all_names = [], []
        for elem in _children(root, "sheets"):
            name = elem.get("name", "")
            all_names.append(name)
            kind, target = by_id.get(_rel_id(elem), ("", ""))
            if kind.endswith(_WORKSHEET) and self.has(target):  # chartsheets are no worksheets
                sheets.append(SheetPart(name, target, self._tables_of(target)))
        names = tuple(_defined_names(root, all_names))
        strings = next((t for _, k, t in rels if k.endswith(_SHARED_STRINGS)), None)
        props = next(_children(root, None, "workbookPr"), None)
        date1904 = props is not None and _flag(props.get("date1904"))
        return WorkbookPart(
            tuple(sheets), names, date1904, _calc(root), strings, self.character_set()
        )

    def character_set(self) -> str:
        """CHAR/CODE's code page: Mac Roman when Excel for Mac saved the file (its
        docProps/app.xml names "Microsoft Macintosh Excel"), else Windows-1252."""
        props = [t for _, kind, t in self.relationships("") if kind.endswith(_EXTENDED)]
        if not props or not self.has(props[0]):
            return "cp1252"
        root = parse_part(self.read(props[0]), f"{self.path}: {props[0]}")
        app = next((e.text or "" for e in root if local_name(e.tag) == "Application"), "")
        return "mac_roman" if "Macintosh" in app else "cp1252"

    def _tables_of(self, sheet_part: str) -> tuple[str, ...]:
        return tuple(
            target
            for _, kind, target in self.relationships(sheet_part)
            if kind.endswith(_TABLE) and self.has(target)
        )

    def shared_strings(self, part: str | None) -> list[str]:
        """The shared string table: each item's text (rich-text runs joined, phonetics left out)."""
        if part is None or not self.has(part):
            return []
        strings: list[str] = []
        for elem in self.elements(part):
            if local_name(elem.tag) != "si":
                continue
            strings.append(item_text(elem))
            elem.clear()
        return strings

    def table(self, part: str, sheet: str) -> Table:
        """One table part; column names exactly as stored (the engine trims when matching)."""
        where = f"{self.path}: {part}"
        root = parse_part(self.read(part), where)
        columns = tuple(
            unescape_xstring(elem.get("name", "")) for elem in _children(root, "tableColumns")
        )
        try:
            ref = RangeAddress.parse(root.get("ref", ""), sheet)
        except (ValueError, WorkbookIOError) as exc:
            raise WorkbookIOError(f"{where}: bad table range {root.get('ref')!r}") from exc
        return Table(
            name=root.get("displayName") or root.get("name", ""),
            ref=ref,
            columns=columns,
            header_row_count=int(root.get("headerRowCount", "1")),
            totals_row_count=int(root.get("totalsRowCount", "0")),
        )


def item_text(elem: Element) -> str:
    """The text of a string item (``<si>`` or ``<is>``): its ``<t>``, or its runs' ``<t>``s."""
    pieces = []
    for child in elem:
        name = local_name(child.tag)
        if name == "t":
            pieces.append(child.text or "")
        elif name == "r":
            pieces += [t.text or "" for t in child if local_name(t.tag) == "t"]
    return unescape_xstring("".join(pieces))


_XSTRING_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape_xstring(text: str) -> str:
    """Undo OOXML's ``_xHHHH_`` escapes (characters XML cannot hold; ``_x005F_`` is ``_``)."""
    if "_x" not in text:
        return text
    return _XSTRING_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _children(root: Element, container: str | None, name: str | None = None) -> Iterator[Element]:
    """Children of root's `container` child (or of root itself when None), by local name."""
    parents = [root] if container is None else [e for e in root if local_name(e.tag) == container]
    for parent in parents:
        for elem in parent:
            if name is None or local_name(elem.tag) == name:
                yield elem


def _rel_id(elem: Element) -> str:
    for namespace in _R_NAMESPACES:
        found = elem.get(f"{{{namespace}}}id")
        if found is not None:
            return found
    return ""


def _defined_names(root: Element, sheet_names: list[str]) -> Iterator[DefinedName]:
    for elem in _children(root, "definedNames", "definedName"):
        text = (elem.text or "").removeprefix("=")
        if not text:
            continue
        scope = None
        local = elem.get("localSheetId")
        if local is not None and local.isdigit() and int(local) < len(sheet_names):
            scope = sheet_names[int(local)]
        yield DefinedName(elem.get("name", ""), text, scope, _flag(elem.get("hidden")))


def _calc(root: Element) -> CalcSettings:
    elem = next(_children(root, None, "calcPr"), None)
    if elem is None:
        return CalcSettings()
    defaults = CalcSettings()
    try:
        return CalcSettings(
            iterate=_flag(elem.get("iterate")),
            iterate_count=int(elem.get("iterateCount", defaults.iterate_count)),
            iterate_delta=float(elem.get("iterateDelta", defaults.iterate_delta)),
        )
    except ValueError:
        return defaults


def _flag(text: str | None) -> bool:
    return text in ("1", "true", "on")


def open_package(path: Path, budget: CellBudget | None = None) -> Package:
    """Open `path` as a zip (errors name the file); `budget` checks deferred worksheets."""
    try:
        return Package(path, zipfile.ZipFile(path), budget)
    except (OSError, zipfile.BadZipFile) as exc:
        raise WorkbookIOError(f"{path}: cannot read workbook ({exc})") from exc
