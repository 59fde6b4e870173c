"""Worksheets checked as the load inflates them (`archive_budget`), not inflated twice first."""

from __future__ import annotations

import struct
import zipfile

import pytest

from tests.badinput.corpus import base_workbook, rezip
from tests.workbook.test_archive import _sheet
from xl_lesson3.errors import WorkbookIOError
from xl_lesson3.workbook import xlsx_package
from xl_lesson3.workbook.archive import ArchiveLimits, check_archive, use_limits
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.xlsx_package import open_package

OTHER = "xl/worksheets/sheet2.xml"  # sheet "other"; "fit" (sheet1) does not refer to it
DTD_SHEET = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY e "x">]>' + _sheet(3)


def _book(tmp_path, other: bytes) -> object:
    book = tmp_path / "b.xlsx"
    book.write_bytes(rezip(base_workbook(), {OTHER: other}))
    return book


def test_a_deferred_check_leaves_the_worksheets_to_the_reader(tmp_path):
    book = _book(tmp_path, _sheet(500))
    deferred = check_archive(book, defer_worksheets=True)
    assert deferred.deferred == {"xl/worksheets/sheet1.xml", OTHER}
    assert deferred.cells == {}
    assert check_archive(book).deferred == frozenset()  # the full check still counts them all
    assert check_archive(book).cells[OTHER] == 500


@pytest.mark.parametrize("chunk", [37, 1 << 20], ids=["tags-straddle-chunks", "one-chunk"])
def test_cells_counted_while_reading_meet_the_limit_exactly(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(xlsx_package, "RAW_CHUNK", chunk)
    book = _book(tmp_path, _sheet(500))
    total = check_archive(book).total_cells  # the full check's count: the reference
    assert total > 500
    with use_limits(ArchiveLimits(max_cells=total)):
        assert load_workbook(book).sheet_names == ("fit", "other")
    refused = pytest.raises(WorkbookIOError, match=f"more than {total - 1:,} cells")
    with use_limits(ArchiveLimits(max_cells=total - 1)), refused:
        load_workbook(book)


def test_an_unread_worksheet_is_still_counted(tmp_path):
    book = _book(tmp_path, _sheet(500))
    assert load_workbook(book, sheets=["fit"]).sheet_names == ("fit",)
    refused = pytest.raises(WorkbookIOError, match="sheet2.xml: .*more than 400 cells")
    with use_limits(ArchiveLimits(max_cells=400)), refused:
        load_workbook(book, sheets=["fit"])


@pytest.mark.parametrize("sheets", [None, ["fit"]], ids=["read", "unread"])
def test_a_document_type_declaration_in_a_worksheet_is_refused(tmp_path, sheets):
    book = _book(tmp_path, DTD_SHEET)
    with pytest.raises(WorkbookIOError, match="refused unsafe XML"):
        load_workbook(book, sheets=sheets)


def _declare_size(data: bytes, part: str, size: int) -> bytes:
    """`data` (a zip) with `part`'s uncompressed size in both its headers replaced by `size`."""
    out = bytearray(data)
    name = part.encode()
    for signature, size_at, name_len_at, name_at in (
        (b"PK\x03\x04", 22, 26, 30),
        (b"PK\x01\x02", 24, 28, 46),
    ):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            (length,) = struct.unpack_from("<H", out, start + name_len_at)
            if out[start + name_at : start + name_at + length] == name:
                struct.pack_into("<I", out, start + size_at, size)
            start += 4
    return bytes(out)


def test_a_worksheet_larger_than_it_declares_is_never_inflated_past_its_declared_size(tmp_path):
    declared = 2_000
    book = tmp_path / "b.xlsx"
    book.write_bytes(_declare_size(rezip(base_workbook(), {OTHER: _sheet(500)}), OTHER, declared))
    package = open_package(book)
    seen = 0
    with package.zip, pytest.raises(zipfile.BadZipFile, match="CRC"):  # at the declared end
        for chunk in package.raw_chunks(OTHER):
            seen += len(chunk)
    assert seen <= declared
    with pytest.raises(WorkbookIOError, match="damaged"):
        load_workbook(book)
