"""The write-back's check on the other core (`xlsx_verify_stream`): the worker process passes
the bytes of a correctly written sheet, refuses a changed target, a damaged XML stream and a
truncated one; the parent accepts a sheet only when the file holds the bytes the worker saw."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import openpyxl
import pytest

from xl_lesson3.formula.values import ErrorCode, ExcelError
from xl_lesson3.workbook import xlsx_patch
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.xlsx_bulk_values import Targets
from xl_lesson3.workbook.xlsx_cells import number_text, stored_form
from xl_lesson3.workbook.xlsx_patch import patch_workbook, plan_patch
from xl_lesson3.workbook.xlsx_verify_stream import StreamCheck, decode_targets, encode_targets

SHEET = "xl/worksheets/sheet1.xml"
MIXED = {
    (2, 1): 1.5,
    (1, 3): "a < b & c",
    (1, 1): True,
    (3, 2): None,
    (2, 2): ExcelError(ErrorCode.DIV0),
    (3, 1): float("inf"),
    (1, 2): 7,
}


def test_targets_travel_to_the_worker_with_their_stored_forms():
    sent = Targets(MIXED)
    received, sheet = decode_targets(_stream(b"".join(encode_targets(sent, "My sheet"))))
    assert sheet == "My sheet"
    assert received.rows.tolist() == sent.rows.tolist() == [1, 1, 1, 2, 2, 3, 3]
    assert received.cols.tolist() == sent.cols.tolist() == [1, 2, 3, 1, 2, 1, 2]
    np.testing.assert_array_equal(received.numeric, sent.numeric)
    np.testing.assert_array_equal(received.numbers[sent.numeric], sent.numbers[sent.numeric])
    for i, key in enumerate(zip(sent.rows.tolist(), sent.cols.tolist())):
        for formula in (False, True):
            assert received.expected(i, formula=formula) == stored_form(MIXED[key], formula=formula)
        assert received.is_blank(i) == (MIXED[key] is None)
    assert [received.letters, received.colsets] == [sent.letters, sent.colsets]


def _stream(data: bytes):
    import io

    return io.BytesIO(data)


def _written(tmp_path, rows: int = 400):
    """An openpyxl sheet of formulas, patched in-process: (source, output, values)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for row in range(1, rows + 1):
        ws.append([row * 0.25, f"=A{row}*2", f"=B{row}+1", "label"])
    src = tmp_path / "src.xlsx"
    wb.save(src)
    rng = np.random.default_rng(7)
    values: dict[CellAddress, object] = {
        CellAddress("S", row, col): float(rng.normal() * 10.0 ** rng.integers(-6, 12))
        for row in range(1, rows + 1)
        for col in (2, 3)
    }
    values[CellAddress("S", 9, 4)] = "new & improved"
    values[CellAddress("S", 10, 3)] = ExcelError(ErrorCode.NA)
    return src, patch_workbook(src, tmp_path / "out.xlsx", values=values), values


def _run_worker(targets: Targets, data: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xl_lesson3.workbook.xlsx_verify_stream"],
        input=b"".join(encode_targets(targets, "S")) + data,
        capture_output=True,
        check=False,
    )


def test_worker_passes_the_written_bytes_and_refuses_a_changed_value(tmp_path):
    src, out, values = _written(tmp_path)
    ((part, (_, updates)),) = plan_patch(src, values).sheets.items()
    targets = Targets(updates)
    with zipfile.ZipFile(out) as package:
        data, info = package.read(part), package.getinfo(part)
    passed = _run_worker(targets, data)
    assert passed.returncode == 0, passed.stderr
    assert json.loads(passed.stdout) == {"crc": info.CRC, "size": info.file_size}

    text = number_text(values[CellAddress("S", 200, 3)]).encode()
    wrong = text[:-1] + (b"1" if text[-1:] != b"1" else b"2")
    changed = data.replace(b"<v>" + text + b"</v>", b"<v>" + wrong + b"</v>", 1)
    assert changed != data
    assert _run_worker(targets, changed).returncode == 5
    text_cell = b"<is><t>new &amp; improved</t></is>"
    assert text_cell in data
    assert _run_worker(targets, data.replace(text_cell, b"<is><t>new</t></is>")).returncode == 5
    assert _run_worker(targets, data.replace(b"<row ", b"<row <", 1)).returncode == 5  # not XML
    assert _run_worker(targets, data[: len(data) // 2]).returncode == 5  # cut short


def test_the_parent_accepts_only_the_bytes_the_worker_checked(tmp_path):
    src, out, values = _written(tmp_path)
    ((part, (_, updates)),) = plan_patch(src, values).sheets.items()
    with zipfile.ZipFile(out) as package:
        data = package.read(part)
        check = StreamCheck.start(Targets(updates), "S")
        assert check is not None
        for at in range(0, len(data), 5000):  # any chunking: the worker regroups rows
            check.feed(data[at : at + 5000])
        assert check.confirms(package, part)

        other = StreamCheck.start(Targets(updates), "S")
        other.feed(data.replace(b"</worksheet>", b"</worksheet>\n"))  # checks, but not the file
        assert not other.confirms(package, part)


def test_big_sheets_are_checked_on_the_other_core_as_they_are_written(tmp_path, monkeypatch):
    """With the worker on, the in-process read-back never runs, and the file is right."""
    src, expected, values = _written(tmp_path)
    monkeypatch.setattr(xlsx_patch, "PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(xlsx_patch, "core_free", lambda: True)

    def in_process_read_back(*_args, **_kwargs):
        raise AssertionError("the worker confirmed the sheet: no read-back expected here")

    monkeypatch.setattr(xlsx_patch, "verify_sheet", in_process_read_back)
    out = patch_workbook(src, tmp_path / "streamed.xlsx", values=values)
    with zipfile.ZipFile(out) as a, zipfile.ZipFile(expected) as b:
        assert a.read(SHEET) == b.read(SHEET)
    data = openpyxl.load_workbook(out, data_only=True)["S"]
    assert data["C10"].value == "#N/A"
    assert data["D9"].value == "new & improved"
    assert data["B300"].value == pytest.approx(values[CellAddress("S", 300, 2)], rel=1e-15)


def test_a_worker_that_cannot_confirm_leaves_the_answer_to_the_read_back(tmp_path, monkeypatch):
    """A worker that dies at once changes nothing: the in-process read-back runs and passes."""
    src, expected, values = _written(tmp_path)
    monkeypatch.setattr(xlsx_patch, "PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(xlsx_patch, "core_free", lambda: True)
    monkeypatch.setattr(sys, "executable", sys.executable + "-missing")  # Popen fails: no worker
    out = patch_workbook(src, tmp_path / "fallback.xlsx", values=values)
    with zipfile.ZipFile(out) as a, zipfile.ZipFile(expected) as b:
        assert a.read(SHEET) == b.read(SHEET)
