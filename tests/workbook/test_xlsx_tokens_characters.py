"""`xlsx_tokens`' character checks (control characters, ``]]>``, entity and character references)
accept and refuse text exactly as expat does."""

from __future__ import annotations

import xml.parsers.expat

import pytest

from xl_lesson3.workbook.xlsx_fastscan import NotCanonical, joined_texts
from xl_lesson3.workbook.xlsx_tokens import tokenize

TEXTS = {
    "named-entities": b"&lt;&gt;&amp;&quot;&apos;",
    "entities-among-text": b"a &lt; b &amp;&amp; c &gt; d",
    "character-references": b"&#10;&#x41;&#65;&#x10FFFF;",
    "named-and-character-references": b"&lt;&#9;&amp;",
    "gt-in-text": b"a > b ]> c ]]",
    "whitespace-controls": b"a\tb\nc\rd",
    "cdata-end": b"a]]>b",
    "cdata-end-first": b"]]>",
    "missing-semicolon": b"&lt b",
    "unknown-entity": b"&amp;&bogus;",
    "misspelt-entity": b"&am;",
    "long-named-lookalike": b"&quote;",
    "bare-ampersand": b"a & b",
    "ampersand-last": b"a&",
    "null-reference": b"&lt;&#0;",
    "surrogate-reference": b"&#xD800;",
    "control-character": b"a\x01b",
    "escape-character": b"\x1b",
}


def _accepted_by_expat(text: bytes) -> bool:
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(b"<t>" + text + b"</t>", True)
    except xml.parsers.expat.ExpatError:
        return False
    return True


def _accepted_by_tokens(text: bytes) -> bool:
    row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>' + text + b"</t></is></c></row>"
    try:
        tokenize(row)
    except NotCanonical:
        return False
    return True


@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_text_is_accepted_exactly_when_expat_accepts_it(text):
    assert _accepted_by_tokens(text) == _accepted_by_expat(text)


@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_a_big_chunk_is_judged_as_its_one_bad_cell(text):
    """The bulk checks see one cell's text among many good ones, in a formula too."""
    good = b'<row r="1"><c r="A1"><f>IF(A2&lt;0,"&amp;",1)</f></c></row>'
    bad = b'<row r="2"><c r="A2"><f>' + text + b"</f></c></row>"
    body = good * 500 + bad + good.replace(b'"1"', b'"3"').replace(b"A1", b"A3") * 500
    try:
        tokenize(body)
        accepted = True
    except NotCanonical:
        accepted = False
    assert accepted == _accepted_by_expat(text)


def _chunk_entities(text: bytes):
    row = b'<row r="1"><c r="A1"><f>' + text + b"</f></c></row>"
    return tokenize(row).chunk.entities


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        (b"A1+1", frozenset()),
        (b"IF(A1&lt;0,&quot;&amp;lt;&quot;,1)", frozenset({"lt", "quot", "amp"})),
        (b"&gt;&apos;&gt;", frozenset({"gt", "apos"})),
        (b"&lt;&#10;", None),  # a character reference: any reference may be there
    ],
    ids=["none", "some", "others", "character-reference"],
)
def test_a_chunk_names_the_entity_references_it_holds(text, entities):
    assert _chunk_entities(text) == entities


@pytest.mark.parametrize(
    "raw",
    [
        b"IF(A1&lt;0,&quot;&amp;lt;&quot;,1)\0&amp;amp;\0plain",
        b"&gt;&apos;\0x&gt;y",
        b"no references\0at all",
    ],
)
def test_texts_read_the_same_with_the_chunks_entities(raw):
    """Replacing only the references a chunk holds reads as replacing them all."""
    entities = _chunk_entities(raw.replace(b"\0", b" "))
    assert entities is not None
    expected = joined_texts(raw, "=")
    assert joined_texts(raw, "=", entities=entities) == expected
    assert expected[0].startswith("=") and "&amp;" not in "".join(expected[:1])
