"""Every XML parse of a user's file is hardened: openpyxl through defusedxml, ours through
`xl_lesson3.workbook.safexml`; nothing in the package parses XML with the bare standard library."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl.xml
import pytest

from tests.badinput.corpus import LAUGHS, XXE
from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook.safexml import parse_xml

PACKAGE = Path(__file__).resolve().parents[2] / "xl_lesson3"
# The modules that wrap a parser with the DTD and entity refusals everything else goes through.
HARDENED_PARSERS = {"safexml.py", "xml_safe.py", "xml_wellformed.py"}
# Parses of XML we generate ourselves (the add-in's manifest), not of users' files.
OWN_XML = {"addin/manifest.py"}
BARE_PARSE = re.compile(r"ElementTree\.(fromstring|parse|iterparse|XMLParser)\(|minidom\.|expat\.")


def test_openpyxl_parses_with_defusedxml():
    assert openpyxl.xml.DEFUSEDXML
    from openpyxl.xml import functions

    assert functions.fromstring.__module__.startswith("defusedxml")


def test_no_bare_xml_parsing_in_the_package():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name not in HARDENED_PARSERS
        and str(path.relative_to(PACKAGE)) not in OWN_XML
        and BARE_PARSE.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize("xml", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_parse_xml_refuses_entities(xml):
    with pytest.raises(WorkbookIOError, match="part.xml: refused unsafe XML"):
        parse_xml(xml, "part.xml")
