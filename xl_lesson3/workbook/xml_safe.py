"""Hardened XML parsing for the parts of an .xlsx file that we read.

Small parts (workbook, relationships, tables) go through defusedxml. Worksheets and the shared
string table can hold millions of elements, and defusedxml's ElementTree parser is the pure-Python
one (a Python call per element: 30 s for a 100k-row sheet), so those stream through the C
`XMLPullParser` behind the guard defusedxml's `forbid_dtd` applies: any document type declaration
is refused before the first element is parsed. Without a DTD there are no entity declarations,
hence no entity expansion (billion laughs, quadratic blowup) and no external entities; ElementTree
never fetches anything. The streamed text is also capped by the part's declared size.
"""

from __future__ import annotations

import pyexpat
import re
from collections.abc import Iterator
from typing import IO
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

from xl_lesson3.errors import WorkbookIOError

CHUNK = 4 << 20  # bytes fed to the parser at a time
_PROLOG_END = re.compile(rb"<[A-Za-z_]")  # the root element's start: the prolog ends there


def parse_part(data: bytes, where: str) -> Element:
    """Parse a small part with defusedxml (DTDs, entities and external references refused)."""
    try:
        return DefusedET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise WorkbookIOError(f"{where}: refused unsafe XML ({type(exc).__name__})") from exc
    except ParseError as exc:
        raise WorkbookIOError(f"{where}: malformed XML ({exc})") from exc


def stream_elements(stream: IO[bytes], where: str, limit: int) -> Iterator[Element]:
    """The elements of a (large) part as each one ends, read at most `limit` bytes.

    The caller clears what it has consumed (``elem.clear()``) so memory stays flat.
    """
    parser = XMLPullParser(events=("end",))
    head = b""
    prolog_done = False
    total = 0
    try:
        while chunk := stream.read(CHUNK):
            total += len(chunk)
            if total > limit:
                raise WorkbookIOError(f"{where}: larger than its declared size ({limit} bytes)")
            if not prolog_done:
                head += chunk
                found = _PROLOG_END.search(head)
                if b"<!DOCTYPE" in (head if found is None else head[: found.start()]):
                    raise WorkbookIOError(
                        f"{where}: refused unsafe XML (a document type declaration)"
                    )
                prolog_done = found is not None
            parser.feed(chunk)
            for _, elem in parser.read_events():
                yield elem
        parser.close()
        for _, elem in parser.read_events():
            yield elem
    except ParseError as exc:
        raise WorkbookIOError(f"{where}: malformed XML ({exc})") from exc


def local_name(tag: str) -> str:
    """``{namespace}row`` → ``row``."""
    return tag.rpartition("}")[2]


def checked_chunks(stream: IO[bytes], where: str, limit: int) -> Iterator[bytes]:
    """The raw bytes of a part, each chunk first parsed by expat with no handlers but the
    refusal of document type declarations: well-formed, DTD-free XML, at C speed."""
    parser = pyexpat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    total = 0
    try:
        while chunk := stream.read(CHUNK):
            total += len(chunk)
            if total > limit:
                raise WorkbookIOError(f"{where}: larger than its declared size ({limit} bytes)")
            parser.Parse(chunk, False)
            yield chunk
        parser.Parse(b"", True)
    except pyexpat.ExpatError as exc:
        raise WorkbookIOError(f"{where}: malformed XML ({exc})") from exc
    except _DoctypeRefused as exc:
        raise WorkbookIOError(f"{where}: refused unsafe XML (a document type declaration)") from exc


class _DoctypeRefused(Exception):
    pass


def _refuse_dtd(*_args: object) -> None:
    raise _DoctypeRefused


class ExpatCheck:
    """Well-formedness of a part fed in pieces (expat, no handlers but the refusal of document
    type declarations); `last_start` is the name of the last start tag seen, as written."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.parser = pyexpat.ParserCreate()
        self.parser.StartDoctypeDeclHandler = _refuse_dtd
        self.parser.EntityDeclHandler = _refuse_dtd
        self.parser.StartElementHandler = self._start
        self.last_start = ""

    def _start(self, name: str, _attrs: object) -> None:
        self.last_start = name

    def feed(self, data: bytes, final: bool = False) -> None:
        """Parse `data` (and end the document when `final`)."""
        try:
            self.parser.Parse(data, final)
        except pyexpat.ExpatError as exc:
            raise WorkbookIOError(f"{self.where}: malformed XML ({exc})") from exc
        except _DoctypeRefused as exc:
            raise WorkbookIOError(
                f"{self.where}: refused unsafe XML (a document type declaration)"
            ) from exc

    def close(self) -> None:
        """End the document: raises unless it was complete."""
        self.feed(b"", final=True)
