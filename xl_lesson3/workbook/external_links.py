"""The values Excel saved for references to other workbooks (``[1]Sheet1!$A$1``).

When the other workbook is closed Excel computes with the copy it keeps in the file:
``xl/externalLinks/externalLinkN.xml`` holds, per linked book, its sheet names and the cells the
formulas read (``<sheetDataSet>``). Book ``[n]`` in a formula is the n-th
``<externalReference>`` of ``xl/workbook.xml``. This module reads those copies (read-only, on
first use, from the workbook's file) so that such references evaluate to what Excel shows.
"""

from __future__ import annotations

import functools
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element

from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.formula.scalars import ErrorCode, ExcelError, is_error_text
from xl_lesson3.workbook.safexml import parse_xml

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass(frozen=True)
class ExternalBook:
    """One linked workbook's saved copy: sheet names in order, cells by (sheet, row, col),
    the sheets Excel could not refresh (their cells are #REF!), and the names it defines."""

    sheets: tuple[str, ...]
    cells: dict[tuple[str, int, int], object] = field(default_factory=dict)
    broken: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()


def external_books(path: Path | None) -> dict[int, ExternalBook]:
    """The linked books of the workbook at `path`, by their number in formulas (1-based)."""
    if path is None:
        return {}
    return _read(str(path))


@functools.lru_cache(maxsize=8)
def _read(path: str) -> dict[int, ExternalBook]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        return {}
    try:
        with archive:
            return _books(archive)
    except WorkbookIOError:  # unsafe XML: no saved copies (the references show #REF!)
        return {}


def _books(archive: zipfile.ZipFile) -> dict[int, ExternalBook]:
    """Book number → its saved copy, read from the parts of the open `archive`."""
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
        return {}
    workbook = parse_xml(archive.read("xl/workbook.xml"), "xl/workbook.xml")
    rels = parse_xml(archive.read("xl/_rels/workbook.xml.rels"), "xl/_rels/workbook.xml.rels")
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{_PKG}Relationship")}
    books: dict[int, ExternalBook] = {}
    refs = workbook.find(f"{_MAIN}externalReferences")
    for number, ref in enumerate([] if refs is None else list(refs), start=1):
        target = targets.get(ref.get(f"{_REL}id"), "")
        part = posixpath.normpath(posixpath.join("xl", target.lstrip("/")))
        if target.startswith("/"):
            part = target.lstrip("/")
        if part in names:
            books[number] = _book(parse_xml(archive.read(part), part))
    return books


def _book(root: Element) -> ExternalBook:
    book = root.find(f"{_MAIN}externalBook")
    if book is None:
        return ExternalBook(())
    sheets = tuple(s.get("val", "") for s in book.iter(f"{_MAIN}sheetName"))
    names = frozenset(n.get("name", "").lower() for n in book.iter(f"{_MAIN}definedName"))
    cells: dict[tuple[str, int, int], object] = {}
    broken = set()
    for data in book.iter(f"{_MAIN}sheetData"):
        index = int(data.get("sheetId", "-1"))
        if not 0 <= index < len(sheets):
            continue
        sheet = sheets[index]
        if data.get("refreshError") == "1" and not len(data):
            broken.add(sheet.lower())
        for cell in data.iter(f"{_MAIN}cell"):
            row, col = _coordinates(cell.get("r", ""))
            cells[(sheet.lower(), row, col)] = _value(cell)
    return ExternalBook(sheets, cells, frozenset(broken), names)


def _coordinates(ref: str) -> tuple[int, int]:
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    letters, row = coordinate_from_string(ref)
    return row, column_index_from_string(letters)


def _value(cell: Element) -> object:
    """A cached cell: number, text (t="str"/"s" inline), boolean or error."""
    node = cell.find(f"{_MAIN}v")
    text = None if node is None else node.text or ""
    kind = cell.get("t", "n")
    if text is None:
        return None
    if kind == "b":
        return text == "1"
    if kind == "e" and is_error_text(text):
        return ExcelError(ErrorCode.from_text(text))
    if kind in ("str", "s", "inlineStr"):
        return text
    try:
        return float(text)
    except ValueError:
        return text
