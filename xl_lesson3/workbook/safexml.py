"""Hardened XML parsing for every part of a user's file we read ourselves.

A workbook is untrusted input. Its XML parts never need a document type declaration, so any
DTD is refused: that rules out external entities (XXE: reading local files or URLs into a cell)
and entity expansion bombs ("billion laughs"), whatever the interpreter's expat version. Whole
small parts go through `defusedxml` (as openpyxl's own parsing does once defusedxml is installed);
big worksheet parts are streamed through expat with the same refusals (`StreamParser`).
Every failure is a `WorkbookIOError` naming the part.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.parsers import expat

import defusedxml
import defusedxml.ElementTree

from xl_lesson3.errors import WorkbookIOError, located

_DECLARED_ENCODING_RE = re.compile(rb"""^<\?xml[^>]*?\bencoding\s*=\s*["']([\w.:-]+)["']""")


def encoding_problem(head: bytes) -> str | None:
    """Why a part starting with `head` cannot be patched in place (None: it is UTF-8).

    Write-back splices UTF-8 bytes into the part, so a part in another encoding (UTF-16, which
    the format allows, or a legacy 8-bit one) is refused before anything is solved or written.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[1:2] == b"\x00" or head[:1] == b"\x00":
        return "the worksheet part is stored as UTF-16; write-back supports UTF-8 parts only"
    match = _DECLARED_ENCODING_RE.match(head.removeprefix(b"\xef\xbb\xbf"))
    if match and match.group(1).decode().lower().replace("_", "-") not in ("utf-8", "utf8"):
        name = match.group(1).decode()
        return f"the worksheet part is encoded as {name}; write-back supports UTF-8 parts only"
    return None


def parse_xml(data: bytes, where: str) -> Element:
    """The root element of a whole (small) part, parsed with defusedxml; `where` names the part."""
    try:
        return defusedxml.ElementTree.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise WorkbookIOError(located(where, f"refused unsafe XML ({_unsafe_what(exc)})")) from exc
    except ParseError as exc:
        raise WorkbookIOError(located(where, f"damaged XML ({exc})")) from exc


def _unsafe_what(exc: Exception) -> str:
    if isinstance(exc, defusedxml.DTDForbidden):
        return "a document type declaration, which can define entities"
    if isinstance(exc, defusedxml.EntitiesForbidden):
        return "an entity declaration"
    return "an external reference"


class UnsafeXMLError(WorkbookIOError):
    """A part declares a DTD or entities (XXE, billion laughs)."""


class StreamParser:
    """expat in namespace mode, fed chunk by chunk, refusing DTDs and entity declarations.

    `on_start(name, attrs, byte_index)` and `on_end(name, byte_index)` get names as
    ``"namespace-uri local"`` and the absolute byte offset of the tag's ``<`` in the stream
    (for an empty element ``<x/>`` the end offset is not meaningful).
    """

    def __init__(
        self,
        on_start: Callable[[str, dict[str, str], int], None],
        on_end: Callable[[str, int], None],
        *,
        where: str,
    ) -> None:
        self.where = where
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse_dtd
        parser.EntityDeclHandler = self._refuse_entity
        parser.ExternalEntityRefHandler = self._refuse_external
        parser.StartElementHandler = lambda name, attrs: on_start(
            name, attrs, parser.CurrentByteIndex
        )
        parser.EndElementHandler = lambda name: on_end(name, parser.CurrentByteIndex)
        self.parser = parser

    def feed(self, chunk: bytes) -> None:
        """Parse the next chunk of the part."""
        self._parse(chunk, False)

    def close(self) -> None:
        """Finish; raises WorkbookIOError when the part is truncated or not well-formed."""
        self._parse(b"", True)

    def _parse(self, data: bytes, final: bool) -> None:
        try:
            self.parser.Parse(data, final)
        except expat.ExpatError as exc:
            message = expat.ErrorString(exc.code)
            detail = f"line {exc.lineno}, column {exc.offset}"
            raise WorkbookIOError(
                located(self.where, f"damaged XML ({message}: {detail})")
            ) from exc

    def _refuse_dtd(self, *_: Any) -> None:
        raise UnsafeXMLError(
            located(self.where, "refused unsafe XML (a document type declaration)")
        )

    def _refuse_entity(self, *_: Any) -> None:
        raise UnsafeXMLError(located(self.where, "refused unsafe XML (an entity declaration)"))

    def _refuse_external(self, *_: Any) -> int:
        raise UnsafeXMLError(located(self.where, "refused unsafe XML (an external entity)"))
