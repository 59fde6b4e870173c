"""Hand-written .xlsx packages: the XML Excel writes, byte for byte where a test needs it.

openpyxl cannot write what some tests read (shared formulas, array members stored as empty
``<f/>``, dynamic-array metadata, data tables, pivot caches), so these tests write the parts
themselves, as Excel lays them out.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"


def write_package(
    path: Path,
    sheets: dict[str, str],
    *,
    workbook_extra: str = "",
    workbook_pr: str = "",
    strings: list[str] = (),
    extra_parts: dict[str, bytes] | None = None,
    sheet_rels: dict[str, str] | None = None,
) -> Path:
    """An .xlsx whose sheet i holds `sheets[name]` inside ``<sheetData>`` (or, when the text
    starts with ``<?xml``/``<!``, as the whole part)."""
    names = list(sheets)
    sheet_list = "".join(
        f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(names, 1)
    )
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><workbookPr {workbook_pr}/>'
        f"<sheets>{sheet_list}</sheets>{workbook_extra}</workbook>"
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(names) + 1)
    )
    rels += f'<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    items = "".join(f"<si><t>{text}</t></si>" for text in strings)
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{CT}"></Types>',
        "_rels/.rels": (
            f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG_REL}">{rels}</Relationships>',
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}" count="{len(strings)}">{items}</sst>',
    }
    for i, name in enumerate(names, 1):
        body = sheets[name]
        if not body.startswith(("<?xml", "<!")):
            body = f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetData>{body}</sheetData></worksheet>'
        parts[f"xl/worksheets/sheet{i}.xml"] = body
    for i, rels_body in (sheet_rels or {}).items():
        parts[f"xl/worksheets/_rels/sheet{i}.xml.rels"] = (
            f'<Relationships xmlns="{PKG_REL}">{rels_body}</Relationships>'
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
        for name, data in (extra_parts or {}).items():
            package.writestr(name, data)
    return path
