"""Add a new worksheet to an .xlsx file as a new part, keeping every other byte of the package.

What a new sheet needs, and all this module touches: the sheet part itself
(``xl/worksheets/sheetN.xml``, cells as inline strings and numbers, so ``sharedStrings.xml``
stays as it is), one ``<sheet>`` element appended to ``xl/workbook.xml``'s ``<sheets>``, one
``<Relationship>`` in ``xl/_rels/workbook.xml.rels`` and one ``<Override>`` in
``[Content_Types].xml``. Those three are edited as text (insertions before their closing tag),
so their other bytes survive; every other zip member is copied with its content, name, date and
compression method unchanged. The sheet goes last, so sheet-scoped defined names (``localSheetId``) keep their
indices. Existing parts are read with defusedxml; the file is replaced atomically.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import defusedxml.ElementTree as DefusedET

from xl_lesson3.errors import WorkbookIOError

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
SHEET_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
Cell = str | float | int | None


def _column(index: int) -> str:
    name = ""
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def sheet_xml(rows: Sequence[Sequence[Cell]], widths: Sequence[float] = ()) -> bytes:
    """A worksheet part holding `rows` from A1 (None leaves a cell empty)."""
    parts = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">']
    if widths:
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>'
            for i, w in enumerate(widths, start=1)
        )
        parts.append(f"<cols>{cols}</cols>")
    parts.append("<sheetData>")
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row, start=1):
            ref = f"{_column(c)}{r}"
            if value is None:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                cells.append(f'<c r="{ref}"><v>{float(value)!r}</v></c>')
            else:
                text = escape(str(value))
                cells.append(
                    f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
                )
        parts.append(f'<row r="{r}">{"".join(cells)}</row>')
    parts.append("</sheetData></worksheet>")
    return "".join(parts).encode("utf-8")


def _insert_before(text: str, closing: str, addition: str, part: str) -> str:
    at = text.rfind(closing)
    if at < 0:
        raise WorkbookIOError(f"{part}: no {closing} to add the new sheet to")
    return text[:at] + addition + text[at:]


def unique_sheet_name(existing: Sequence[str], base: str) -> str:
    """``base 1``, ``base 2``, ... : the first not taken (Excel's "Answer Report 1")."""
    taken = {name.lower() for name in existing}
    n = 1
    while f"{base} {n}".lower() in taken:
        n += 1
    return f"{base} {n}"


def add_sheet(path: str | Path, base_name: str, rows: Sequence[Sequence[Cell]], widths=()) -> str:
    """Append a worksheet named ``base_name N`` holding `rows` to the workbook at `path`.

    Returns the new sheet's name. Raises WorkbookIOError when the file is not a workbook or
    cannot be written (the file is then unchanged).
    """
    path = Path(path)
    try:
        package = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
        workbook_text = package.read("xl/workbook.xml").decode("utf-8")
        rels_text = package.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        types_text = package.read("[Content_Types].xml").decode("utf-8")
        workbook = DefusedET.fromstring(workbook_text.encode("utf-8"))
        rels = DefusedET.fromstring(rels_text.encode("utf-8"))
    except (OSError, KeyError, zipfile.BadZipFile, DefusedET.ParseError) as exc:
        raise WorkbookIOError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    sheets = list(workbook.iter(f"{{{MAIN}}}sheet"))
    name = unique_sheet_name([s.get("name", "") for s in sheets], base_name)
    sheet_id = max((int(s.get("sheetId", "0")) for s in sheets), default=0) + 1
    rel_ids = {r.get("Id") for r in rels.iter(f"{{{REL_NS}}}Relationship")}
    numbers = [int(m) for m in re.findall(r"rId(\d+)", " ".join(filter(None, rel_ids)))]
    rel_id = f"rId{max(numbers, default=0) + 1}"
    names = set(package.namelist())
    n = 1
    while f"xl/worksheets/sheet{n}.xml" in names:
        n += 1
    part = f"xl/worksheets/sheet{n}.xml"
    prefix = _relationship_prefix(workbook_text)
    workbook_text = _insert_before(
        workbook_text,
        "</sheets>",
        f'<sheet name={quoteattr(name)} sheetId="{sheet_id}" {prefix}:id="{rel_id}"/>',
        "xl/workbook.xml",
    )
    rels_text = _insert_before(
        rels_text,
        "</Relationships>",
        f'<Relationship Id="{rel_id}" Type="{SHEET_TYPE}" Target="worksheets/sheet{n}.xml"/>',
        "xl/_rels/workbook.xml.rels",
    )
    types_text = _insert_before(
        types_text,
        "</Types>",
        f'<Override PartName="/{part}" ContentType="{SHEET_CONTENT}"/>',
        "[Content_Types].xml",
    )
    replaced = {
        "xl/workbook.xml": workbook_text.encode("utf-8"),
        "xl/_rels/workbook.xml.rels": rels_text.encode("utf-8"),
        "[Content_Types].xml": types_text.encode("utf-8"),
    }
    _write(path, package, replaced, part, sheet_xml(rows, widths))
    return name


def _relationship_prefix(workbook_text: str) -> str:
    """The prefix xl/workbook.xml binds to the relationships namespace (usually ``r``)."""
    found = re.search(
        r'xmlns:(\w+)="http://schemas.openxmlformats.org/officeDocument/2006/relationships"',
        workbook_text,
    )
    if not found:
        raise WorkbookIOError("xl/workbook.xml: no relationships namespace for the new sheet")
    return found.group(1)


def _write(path: Path, package: zipfile.ZipFile, replaced, part: str, data: bytes) -> None:
    try:
        handle, tmp = tempfile.mkstemp(prefix=".xl3-", suffix=path.suffix, dir=path.parent)
        os.close(handle)
        try:
            with zipfile.ZipFile(tmp, "w") as out:
                for info in package.infolist():
                    if info.filename in replaced:
                        out.writestr(info, replaced[info.filename])
                    else:
                        out.writestr(info, package.read(info.filename))
                out.writestr(part, data, compress_type=zipfile.ZIP_DEFLATED)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        raise WorkbookIOError(f"{path}: cannot write ({exc.strerror or exc})") from exc
