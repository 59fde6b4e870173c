"""check_archive: declared and actual sizes, ratios and cell counts, before any XML parsing."""

from __future__ import annotations

import zipfile

import pytest

from tests.badinput.corpus import base_workbook, rezip
from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook import archive
from xl_lesson3.workbook.archive import ArchiveLimits, check_archive, use_limits
from xl_lesson3.workbook.load import load_workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _sheet(n_cells: int, prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    ns = f"xmlns:{prefix}" if prefix else "xmlns"
    cells = "".join(f'<{p}c r="A{r}"><{p}v>{r}</{p}v></{p}c>' for r in range(1, n_cells + 1))
    return (
        f'<{p}worksheet {ns}="{MAIN}"><{p}sheetData><{p}row r="1">{cells}</{p}row>'
        f"</{p}sheetData></{p}worksheet>".encode()
    )


@pytest.mark.parametrize("prefix", ["", "x"], ids=["default-namespace", "prefixed"])
def test_cells_are_counted_across_chunks(tmp_path, monkeypatch, prefix):
    monkeypatch.setattr(archive, "_CHUNK", 37)  # cell tags straddle every chunk boundary
    book = tmp_path / "b.xlsx"
    book.write_bytes(rezip(base_workbook(), {"xl/worksheets/sheet2.xml": _sheet(500, prefix)}))
    summary = check_archive(book)
    assert summary.cells["xl/worksheets/sheet2.xml"] == 500
    assert summary.total_cells == 500 + summary.cells["xl/worksheets/sheet1.xml"]


def test_a_normal_workbook_passes_and_loads(tmp_path):
    book = tmp_path / "b.xlsx"
    book.write_bytes(base_workbook())
    summary = check_archive(book)
    with zipfile.ZipFile(book) as package:
        assert summary.total_bytes == sum(info.file_size for info in package.infolist())
    assert load_workbook(book).sheet_names == ("fit", "other")


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (ArchiveLimits(max_bytes=10_000), "over the 10.0 kB limit"),
        (ArchiveLimits(max_cells=20), "more than 20 cells"),
        (ArchiveLimits(max_ratio=2, ratio_floor=1000), "over the 2:1 limit"),
    ],
    ids=["bytes", "cells", "ratio"],
)
def test_limits_apply_through_use_limits(tmp_path, limits, message):
    book = tmp_path / "b.xlsx"
    book.write_bytes(base_workbook())
    with use_limits(limits), pytest.raises(WorkbookIOError, match=message):
        load_workbook(book)
    load_workbook(book)  # outside the block the defaults apply again


def test_a_bomb_in_an_unused_part_is_refused_from_the_directory(tmp_path):
    book = tmp_path / "b.xlsx"
    book.write_bytes(rezip(base_workbook(), {"docProps/pad.xml": b" " * (64 << 20)}, level=9))
    with pytest.raises(WorkbookIOError, match=r"docProps/pad.xml: compressed \d+:1"):
        check_archive(book)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"], ids=["utf-16-le-bom", "utf-16-be"])
def test_cells_of_a_utf16_sheet_count_too(tmp_path, monkeypatch, codec):
    """A UTF-16 sheet must not slip past --max-cells because its tags are spelled with NULs."""
    monkeypatch.setattr(archive, "_CHUNK", 101)
    sheet = _sheet(300).decode().encode(codec)
    book = tmp_path / "b.xlsx"
    book.write_bytes(rezip(base_workbook(), {"xl/worksheets/sheet2.xml": sheet}))
    assert check_archive(book).cells["xl/worksheets/sheet2.xml"] == 300


@pytest.mark.parametrize(
    "data",
    [
        b'<cols><col min="1"/></cols><c r="A1"><v>1</v></c><c/><c>x</c>',
        b'<cfRule type="x"/><c\tr="A1"/><c\nr="B1"/><c\rr="C1"/><conditionalFormatting/>',
        b'<c r="A1"/><c',  # a tag cut at the end of a chunk is not counted yet
        b'<x:c r="A1"/><x:cols/><c r="B1"/>',  # a prefix: the regular expression counts
        b"",
    ],
    ids=["other-c-tags", "whitespace-after-c", "cut-at-end", "prefixed", "empty"],
)
def test_fast_cell_count_agrees_with_the_tag_pattern(data):
    expected = len(archive._CELL_TAG_RE.findall(data))
    assert archive._count_tags(data, archive._CELL_TAG_RE) == expected


_MIXED_TAGS = (
    b'<cols><col min="1"/></cols><c r="A1"><v>1</v></c><c/><c>x</c><c\tr="B1"/><cfRule/>'
    b'<c\nr="C1"/><c\x0br="D1"/><f>SUM(A1:C1)</f><c\rr="E1"/>'
)


@pytest.mark.parametrize(
    "data",
    [
        _MIXED_TAGS * 2000,  # ~200 kB: counted with numpy
        b"x" + _MIXED_TAGS * 2000 + b"<c",  # odd offsets, and a tag cut at the very end
        _MIXED_TAGS * 2000 + b'<x:c r="A1"/>',  # a prefix: the regular expression counts
    ],
    ids=["even", "odd-offsets-cut-at-end", "prefixed"],
)
def test_numpy_cell_count_of_a_big_chunk_agrees_with_the_tag_pattern(data):
    assert len(data) >= archive._NUMPY_COUNT_BYTES
    expected = len(archive._CELL_TAG_RE.findall(data))
    assert archive._count_tags(data, archive._CELL_TAG_RE) == expected


@pytest.mark.parametrize(
    "pattern",
    [archive._CELL_TAG_RE, archive._UTF16_CELL_RE[b"\xff\xfe"]],
    ids=["utf-8", "utf-16"],
)
def test_a_tag_split_across_two_chunks_is_counted_once_wherever_it_is_cut(pattern):
    if pattern is archive._CELL_TAG_RE:
        data = b'<c r="A1"/><abc:c r="B1"/><c>' + b"y" * 120 + b"<c/><cx/><c"
    else:
        data = '<c r="A1"/><x:c r="B1"/><c>'.encode("utf-16-le") + b"y" * 120 + b"<\0c\0/\0"
    expected = len(pattern.findall(data))
    for cut in range(len(data) + 1):
        counter = archive.TagCounter(pattern)
        counter.feed(data[:cut])
        assert counter.feed(data[cut:]) == expected, cut


def test_a_big_chunk_after_small_ones_is_counted_once():
    """Small chunks (shorter than the tail kept between them), then a numpy-counted one."""
    data = b"<c" + b'/><c r="A1">' + _MIXED_TAGS * 2000 + b"<c/>"
    counter = archive.TagCounter(archive._CELL_TAG_RE)
    for piece in (data[:1], data[1:3], data[3:40], data[40:]):
        found = counter.feed(piece)
    assert found == len(archive._CELL_TAG_RE.findall(data))
