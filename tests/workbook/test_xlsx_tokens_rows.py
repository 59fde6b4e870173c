"""`xlsx_tokens`' row tag check: ``<row r="N" ...>`` with N first and the attributes well-formed,
anything else left to the other readers (NotCanonical)."""

from __future__ import annotations

import pytest

from xl_lesson3.workbook.xlsx_fastscan import NotCanonical
from xl_lesson3.workbook.xlsx_tokens import tokenize

ACCEPTED = {
    "plain": ('<row r="1">', 1),
    "last-row": ('<row r="1048576" spans="1:2">', 1048576),
    "excel-attributes": ('<row r="7" spans="1:2" x14ac:dyDescent="0.25" >', 7),
    "entity-in-value": ('<row r="12" x:note="a&amp;b">', 12),
    "seven-digits": ('<row r="1000000">', 1000000),
}
REFUSED = {
    "no-attributes": "<row>",
    "r-not-first": '<row spans="1:2" r="1">',
    "row-zero": '<row r="0">',
    "leading-zero": '<row r="01">',
    "past-the-last-row": '<row r="1048577">',
    "eight-digits": '<row r="12345678">',
    "empty-number": '<row r="">',
    "not-a-number": '<row r="1x">',
    "r-twice": '<row r="1" r="2">',
    "duplicate-attribute": '<row r="1" a="1" a="2">',
    "unquoted-value": '<row r="1" a=1>',
    "no-space-between": '<row r="1"a="1">',
    "bare-ampersand": '<row r="1" a="&">',
    "single-quotes": "<row r='1'>",
}
CELL = '<c r="A{row}"><v>1</v></c>'


def _rows(tag: str, row: int = 1) -> bytes:
    return (tag + CELL.format(row=row) + "</row>").encode()


@pytest.mark.parametrize(("tag", "row"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_row_tags_of_the_handled_form_give_their_numbers(tag, row):
    cells = tokenize(_rows('<row r="3">', 3) + _rows(tag, row))
    assert cells.rows.tolist() == [3, row]


@pytest.mark.parametrize("empty", [False, True], ids=["with-cells", "empty-row"])
@pytest.mark.parametrize("tag", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_empty_row_tags_are_read_too(tag, empty):
    text, row = tag
    body = (text[:-1].rstrip() + " />").encode() if empty else _rows(text, row)
    cells = tokenize(_rows('<row r="2">', 2) + body)
    assert cells.rows.tolist() == ([2] if empty else [2, row])


@pytest.mark.parametrize("tag", REFUSED.values(), ids=REFUSED.keys())
def test_other_row_tags_are_left_to_the_other_readers(tag):
    with pytest.raises(NotCanonical):
        tokenize(_rows('<row r="2">', 2) + _rows(tag))


@pytest.mark.parametrize("body", [b"", b" \n\t"], ids=["empty", "whitespace"])
def test_a_chunk_without_tags_has_no_cells(body):
    assert tokenize(body).n == 0


@pytest.mark.parametrize(
    "body",
    [
        b'<row r="1"><c r="A1"<v>1</v></c></row>',  # a '<' inside a tag
        b'x><row r="1"></row',  # a '>' before its '<', as many of each
        b'<row r="1"></row><',  # a '<' never closed
        b'<row r="1"></row>>',  # text after the last row
    ],
    ids=["lt-inside-a-tag", "gt-first", "unclosed", "stray-gt"],
)
def test_misplaced_angle_brackets_are_refused(body):
    with pytest.raises(NotCanonical):
        tokenize(body)
