"""Check that one part of a zip file is well-formed, safe XML: a script run in its own process.

The write-back's check reads every byte of a written sheet through expat (~2 s for a 100k-row
sheet) and compares the changed cells in bulk (~2 s more). expat holds the GIL, so a thread
cannot run it beside the comparison; a process can, on the machine's other core. This file is
run as a script (``python -I xml_wellformed.py BOOK PART``), importing only the standard library
so it starts in ~30 ms. The parser is hardened as `safexml.StreamParser` is: namespace-aware,
document type declarations, entity declarations and external entities refused. Exit status 0:
well-formed; 3: not (the reason on stderr, one line); anything else: the check could not run.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Callable
from xml.parsers import expat

CHUNK = 16 << 20  # bytes inflated at a time
PARSE = 1 << 16  # bytes given to expat at a time (its fastest size)
NOT_WELL_FORMED = 3


class _Unsafe(Exception):
    pass


def check(path: str, part: str) -> str | None:
    """None when `part` of the zip at `path` is well-formed XML without DTD; else why not."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(what: str) -> Callable[..., None]:
        def handler(*_: object) -> None:
            raise _Unsafe(what)

        return handler

    parser.StartDoctypeDeclHandler = refuse("a document type declaration")
    parser.EntityDeclHandler = refuse("an entity declaration")
    parser.ExternalEntityRefHandler = refuse("an external entity")
    try:
        with zipfile.ZipFile(path) as package, package.open(part) as stream:
            while chunk := stream.read(CHUNK):
                view = memoryview(chunk)
                for at in range(0, len(chunk), PARSE):
                    parser.Parse(view[at : at + PARSE], False)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        return (
            f"damaged XML ({expat.ErrorString(exc.code)}: line {exc.lineno}, column {exc.offset})"
        )
    except _Unsafe as exc:
        return f"refused unsafe XML ({exc})"
    return None


if __name__ == "__main__":
    problem = check(sys.argv[1], sys.argv[2])
    if problem is not None:
        print(problem, file=sys.stderr)
        sys.exit(NOT_WELL_FORMED)
