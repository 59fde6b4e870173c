"""Defined names and ``calcPr`` in the workbook part, located by a real XML parser.

As for worksheets (see `xl_lesson3.workbook.xlsx_cells`), the part is not re-serialised: the
hardened parser reports where ``<definedNames>``, each ``<definedName>`` and ``<calcPr>`` start
and end, and only those byte ranges are rewritten, so a ``<definedName>`` inside a comment stays
a comment and every other byte of the part is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from xl_lesson3.errors import UnknownReferenceError, WorkbookIOError, located
from xl_lesson3.workbook.safexml import StreamParser
from xl_lesson3.workbook.xlsx_cells import START_TAG_RE, TAG_NAME_RE, retag

# Elements that follow <definedNames> in CT_Workbook, in schema order (ECMA-376 part 1, A.2).
AFTER_DEFINED_NAMES = (
    "calcPr",
    "oleSize",
    "customWorkbookViews",
    "pivotCaches",
    "smartTagPr",
    "smartTagTypes",
    "webPublishing",
    "fileRecoveryPr",
    "webPublishObjects",
    "extLst",
)
# Excel's Solver hides its model's names (solver_opt, solver_adj, ...); so do we.
HIDDEN_NAME_PREFIXES = ("solver_",)


@dataclass
class _Span:
    """One element: its byte range, start tag and attributes, and its element children."""

    local: str
    start: int
    tag_end: int
    attrs: dict[str, str]
    end: int = 0
    children: list[_Span] = field(default_factory=list)


@dataclass
class _Outline:
    """The root element and its children (two levels), with the root's prefix ("x:" or "")."""

    root: _Span
    prefix: bytes
    root_close: int  # offset of the root's end tag

    def child(self, local: str) -> _Span | None:
        return next((c for c in self.root.children if c.local == local), None)

    def before_any(self, locals_: tuple[str, ...]) -> int:
        """Offset of the first root child named in `locals_`, else of the root's end tag."""
        found = next((c.start for c in self.root.children if c.local in locals_), None)
        return self.root_close if found is None else found


def _outline(xml: bytes, where: str) -> _Outline:
    stack: list[_Span] = []
    done: dict[str, object] = {}

    def start(name: str, attrs: dict[str, str], index: int) -> None:
        tag = START_TAG_RE.match(xml, index)
        if tag is None:  # cannot happen for well-formed input
            raise WorkbookIOError(located(where, f"cannot locate an element at byte {index}"))
        span = _Span(name.rpartition(" ")[2], index, index + len(tag.group(0)), attrs)
        if tag.group(0).endswith(b"/>"):
            span.end = span.tag_end
        if stack and len(stack) <= 2:
            stack[-1].children.append(span)
        stack.append(span)

    def end(name: str, index: int) -> None:
        span = stack.pop()
        if not span.end:
            span.end = xml.index(b">", index) + 1
        if not stack:
            done["root"], done["close"] = span, index

    parser = StreamParser(start, end, where=where)
    parser.feed(xml)
    parser.close()
    root: _Span = done["root"]  # type: ignore[assignment]
    qname = TAG_NAME_RE.match(xml, root.start).group(1)
    prefix = qname[: qname.index(b":") + 1] if b":" in qname else b""
    return _Outline(root, prefix, int(done["close"]))  # type: ignore[arg-type]


def patch_defined_names(
    workbook_xml: str,
    changes: Mapping[tuple[str, str | None], str | None],
    sheet_names: list[str],
) -> str:
    """`workbook_xml` with defined names added, replaced or removed (see `patch_workbook`).

    `sheet_names` in workbook order: a sheet-scoped name stores its sheet's index as
    ``localSheetId``. Names compare case-insensitively, as in Excel. A replaced name keeps its
    attributes; a new ``solver_`` name is hidden, as Excel's Solver writes them.
    """
    xml = workbook_xml.encode("utf-8")
    doc = _outline(xml, "xl/workbook.xml")
    p = doc.prefix.decode()
    wanted = {
        _name_key(name, scope, sheet_names): (name, text) for (name, scope), text in changes.items()
    }
    block = doc.child("definedNames")
    kept: list[bytes] = []
    for span in block.children if block else []:
        sheet_id = span.attrs.get("localSheetId")
        key = span.attrs.get("name", "").lower(), int(sheet_id) if sheet_id else None
        if key not in wanted:
            kept.append(xml[span.start : span.end])
            continue
        _, text = wanted.pop(key)
        if text is not None:
            opening = retag(xml[span.start : span.tag_end], {})
            opening = opening.removesuffix(b"/>").removesuffix(b">") + b">"
            kept.append(opening + _value(text) + f"</{p}definedName>".encode())
    for key in sorted(wanted, key=lambda k: (k[0], -1 if k[1] is None else k[1])):
        name, text = wanted[key]
        if text is not None:
            kept.append(_new_defined_name(p, name, key[1], text))
    new_block = b"".join(kept)
    if kept:
        new_block = f"<{p}definedNames>".encode() + new_block + f"</{p}definedNames>".encode()
    if block is not None:
        return (xml[: block.start] + new_block + xml[block.end :]).decode("utf-8")
    if not new_block:
        return workbook_xml
    at = doc.before_any(AFTER_DEFINED_NAMES)
    return (xml[:at] + new_block + xml[at:]).decode("utf-8")


def _name_key(name: str, scope: str | None, sheet_names: list[str]) -> tuple[str, int | None]:
    if scope is None:
        return name.lower(), None
    if scope not in sheet_names:
        known = ", ".join(sheet_names)
        raise UnknownReferenceError(located(name, f"no sheet {scope!r} to scope it to ({known})"))
    return name.lower(), sheet_names.index(scope)


def _value(text: str) -> bytes:
    return escape(text.removeprefix("=")).encode("utf-8")


def _new_defined_name(prefix: str, name: str, sheet_id: int | None, text: str) -> bytes:
    attrs = f" name={quoteattr(name)}"
    if sheet_id is not None:
        attrs += f' localSheetId="{sheet_id}"'
    if name.lower().startswith(HIDDEN_NAME_PREFIXES):
        attrs += ' hidden="1"'
    tag = f"{prefix}definedName"
    return f"<{tag}{attrs}>".encode() + _value(text) + f"</{tag}>".encode()


def set_full_calc_on_load(workbook_xml: str) -> str:
    """Set ``<calcPr fullCalcOnLoad="1">`` so Excel recalculates the whole workbook on opening."""
    xml = workbook_xml.encode("utf-8")
    doc = _outline(xml, "xl/workbook.xml")
    calc = doc.child("calcPr")
    if calc is None:
        at = doc.before_any(AFTER_DEFINED_NAMES[1:])
        new = f'<{doc.prefix.decode()}calcPr fullCalcOnLoad="1"/>'.encode()
        return (xml[:at] + new + xml[at:]).decode("utf-8")
    new_tag = retag(xml[calc.start : calc.tag_end], {"fullCalcOnLoad": "1"})
    return (xml[: calc.start] + new_tag + xml[calc.tag_end :]).decode("utf-8")
