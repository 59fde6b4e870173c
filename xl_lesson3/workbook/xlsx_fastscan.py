"""The fast path for big worksheets: cells pulled out of ``<sheetData>`` in bulk, column by column.

A Python step per XML element costs ~2.5 µs, so the element-by-element reader (`xlsx_sheet`)
needs ~25 s for a 100k-row nnet sheet (2.2 million cells, 6 million elements). Here every chunk
of the part goes through two C-level passes: expat checks that it is well-formed XML and refuses
any document type declaration (so there are no entities to expand: `xml_safe`), then one regular
expression matches every ``<c>`` element in the canonical form Excel and openpyxl write, giving
each cell's column letters, row, attributes, formula and value as byte strings. Rows, columns and
numbers are converted with numpy; Python touches only formula cells and non-numeric values.

The regular expression is not trusted to understand XML: when any ``<c`` start in a chunk is not
matched whole (a namespace prefix, other attribute order, CDATA, a child it does not know),
`NotCanonical` sends the whole sheet back to the element reader, which handles any valid XML.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection
from operator import itemgetter
from typing import Any

import numpy as np

from xl_lesson3.workbook.columns import ColumnCells
from xl_lesson3.workbook.xlsx_package import unescape_xstring

CHUNK = 32 << 20  # decompressed bytes scanned at a time (cut at a row's end)

_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"([^>/]*)(?:/>|>'
    rb"(?:(<f)([^>/]*)(?:/>|>([^<]*)</f>))?"
    rb"(?:<v>([^<]*)</v>|<v ?/>)?"
    rb"(?:<is>(.*?)</is>)?</c>)",
    re.DOTALL,
)
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_IS_TEXT = re.compile(rb"<t(?: [^>]*)?>([^<]*)</t>|<t ?/>")
_IS_PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.DOTALL)


# An XML declaration naming an encoding other than UTF-8: the fast readers decode UTF-8.
OTHER_ENCODING = re.compile(rb"""<\?xml[^>]*encoding=["'](?!utf-?8["'])""", re.IGNORECASE)


class NotCanonical(Exception):
    """The sheet's XML is valid but not in the form the fast path matches: use the other reader."""


def text_of(raw: bytes) -> str:
    """Element text as XML gives it: UTF-8 decoded, entities replaced, line ends normalised."""
    text = raw.decode("utf-8")
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def formula_texts(bodies: list[bytes]) -> list[str]:
    """``<f>`` bodies → ``=text`` for many cells at once: one decode, one entity pass and one
    split over all of them (NUL never occurs in XML text, so it can join them)."""
    if not bodies:
        return []
    return joined_texts(b"\0".join(bodies), "=")


def joined_texts(
    joined: bytes,
    prefix: str = "",
    xstrings: bool = False,
    entities: Collection[str] | None = None,
) -> list[str]:
    """NUL-separated raw element texts → their texts (UTF-8 decoded, entities replaced, line
    ends normalised, with `xstrings` OOXML's ``_xHHHH_`` escapes undone), each after `prefix`,
    in one pass over all of them. `entities`: the names of the only references the texts can
    hold (no character references), when the caller knows them; None: any."""
    text = _unescaped(joined.decode("utf-8"), entities)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if xstrings:
        text = unescape_xstring(text)  # an escape never spans a NUL
    if prefix:
        text = prefix + text.replace("\0", "\0" + prefix)
    return text.split("\0")


def _unescaped(text: str, entities: Collection[str] | None) -> str:
    """`text` with its references replaced; one pass per named entity it may hold (a replace
    finding nothing still scans the whole text)."""
    if entities is None:
        if "&" not in text:
            return text
        if "&#" in text:
            return _ENTITY.sub(_entity, text)
        entities = _NAMED
    for entity in ("lt", "gt", "quot", "apos", "amp"):  # &amp; last: "&amp;lt;" stays "&lt;"
        if entity in entities:
            text = text.replace(f"&{entity};", _NAMED[entity])
    return text


def _entity(match: re.Match) -> str:
    name = match.group(1)
    if name[0] == "#":
        return chr(int(name, 0) if name[1] in "xX" else int(name[1:]))
    return _NAMED[name]


def attributes(raw: bytes) -> dict[str, str]:
    """``t="s" s="3"`` → {"t": "s", "s": "3"} (values with entities replaced)."""
    return {key.decode(): text_of(value) for key, value in _ATTR.findall(raw)}


class ChunkCells:
    """One chunk's cells as parallel sequences (file order), for `scan_chunk`'s caller."""

    def __init__(self, matches: list[tuple[bytes, ...]], col_of: Callable[[bytes], int]):
        # one C-level pass per field (zip(*matches) took three times as long)
        fields = [list(map(itemgetter(k), matches)) for k in range(8)]
        letters, rows, attrs, f_mark, f_attrs, f_text, v_text, is_body = fields
        n = len(matches)
        self.n = n
        self.rows = np.array(rows).astype(np.int64)  # (n,)
        self.cols = np.fromiter(map(col_of, letters), np.int64, n)  # (n,)
        self.attrs = attrs
        self.has_f = np.fromiter(map(bool, f_mark), bool, n)
        self.f_attrs, self.f_text = f_attrs, f_text
        self.v_text, self.is_body = v_text, is_body


def scan_chunk(chunk: bytes, col_of: Callable[[bytes], int]) -> ChunkCells | None:
    """Every cell of `chunk` (whole ``<c>`` elements only), or None when it has none."""
    matches = _CELL.findall(chunk)
    starts = chunk.count(b"<c")  # inside <sheetData> only cells' tags start so
    if len(matches) != starts or b"<!" in chunk or b"<?" in chunk:
        raise NotCanonical
    return ChunkCells(matches, col_of) if matches else None


def inline_text(body: bytes) -> str:
    """The text of an inline string's ``<is>`` body (runs joined, phonetic runs left out)."""
    if body.startswith(b"<t>") and body.endswith(b"</t>") and body.count(b"<") == 2:
        return unescape_xstring(text_of(body[3:-4]))  # the usual one plain run
    body = _IS_PHONETIC.sub(b"", body)
    return unescape_xstring("".join(text_of(m) for m in _IS_TEXT.findall(body)))


def numbers(texts: np.ndarray) -> np.ndarray:
    """Numeric cell texts (a bytes array) → float64, in one numpy conversion."""
    try:
        return texts.astype(np.float64)
    except ValueError as exc:
        raise NotCanonical from exc  # let the element reader name the bad cell


def grouped(
    sheet: str, cols: np.ndarray, rows: np.ndarray, values: list[Any], texts: list[str] | None
) -> dict[int, ColumnCells]:
    """Cells given in file order (row-major) → one `ColumnCells` per column, rows ascending."""
    if len(cols) == 0:
        return {}
    order = np.argsort(cols, kind="stable")  # rows stay ascending within a column
    cols, rows = cols[order], rows[order]
    value_array = _objects(values)[order]
    text_array = None if texts is None else _objects(texts)[order]
    if bool((np.diff(rows)[np.diff(cols) == 0] <= 0).any()):
        raise NotCanonical  # rows out of order or repeated: the element reader sorts them
    edges = [0, *(np.flatnonzero(np.diff(cols)) + 1).tolist(), len(cols)]
    found = {}
    for a, b in itertools.pairwise(edges):
        col = int(cols[a])
        found[col] = ColumnCells(
            sheet,
            col,
            rows[a:b].tolist(),
            value_array[a:b].tolist(),
            None if text_array is None else text_array[a:b].tolist(),
        )
    return found


def _objects(items: list[Any]) -> np.ndarray:
    """A 1-D object array of `items` (never a 2-D array of sequences)."""
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array
