"""The bad-input corpus: hostile but fair inputs, each with the one outcome we promise.

Every case is generated here from a small valid workbook (no binary blobs): broken zips, zip
bombs, damaged and hostile XML (XXE, billion laughs), files of other formats, and wrong options.
Each `Case` says the command line, the exit status, and a piece of the single stderr line. The
test (test_corpus.py) also checks that the input files keep their sha256, that no file appears
or disappears, and that no traceback is printed.

``python -m tests.badinput.corpus OUTDIR`` writes every case's files to OUTDIR for manual runs.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.workbook.defined_name import DefinedName

BOOK = "book.xlsx"
SHEET_PART = "xl/worksheets/sheet1.xml"
ARGS = ["--objective", "fit!E1", "--changing", "fit!A1:C1"]
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData>'
    b"</worksheet>"
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    b"</sheetData></worksheet>"
)


def base_workbook() -> bytes:
    """A small quadratic fit with an Excel Solver model on sheet ``fit`` (E1 from A1:C1)."""
    xs = np.linspace(-2.0, 3.0, 8)
    ys = 1.5 * xs**2 - 2.0 * xs + 0.3
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "fit"
    ws["A1"], ws["B1"], ws["C1"] = 1.0, 1.0, 1.0
    for row, (x, y) in enumerate(zip(xs, ys, strict=True), start=3):
        ws[f"A{row}"], ws[f"B{row}"] = float(x), float(y)
        ws[f"C{row}"] = f"=($A$1*A{row}^2+$B$1*A{row}+$C$1-B{row})^2"
    ws["E1"] = f"=AVERAGE(C3:C{len(xs) + 2})"
    ws["G1"] = "label"
    for name, text in (("solver_opt", "fit!$E$1"), ("solver_adj", "fit!$A$1:$C$1")):
        ws.defined_names[name] = DefinedName(name, attr_text=text)
    ws.defined_names["solver_typ"] = DefinedName("solver_typ", attr_text="2")
    wb.create_sheet("other")["A1"] = "=1/0"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, parts: dict[str, bytes | None], *, level: int = 6) -> bytes:
    """`data` (a zip) with `parts` replaced, added, or removed (None), deflated at `level`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        names = [info.filename for info in src.infolist()]
        for name in names + [n for n in parts if n not in names]:
            content = parts.get(name, src.read(name) if name in names else None)
            if content is None:
                continue
            dst.writestr(name, content, zipfile.ZIP_DEFLATED, compresslevel=level)
    return out.getvalue()


def sheet_xml(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return package.read(SHEET_PART)


def bomb_sheet(data: bytes, megabytes: int = 40) -> bytes:
    """The model sheet padded with whitespace to `megabytes`: compresses about 1000:1."""
    xml = sheet_xml(data)
    at = xml.index(b"<sheetData>")
    return xml[:at] + b" " * (megabytes << 20) + xml[at:]


def many_cells_sheet(data: bytes, n: int) -> bytes:
    xml = sheet_xml(data)
    rows = b"".join(
        b'<row r="%d"><c r="Z%d"><v>1</v></c></row>' % (r, r) for r in range(100, 100 + n)
    )
    return xml.replace(b"</sheetData>", rows + b"</sheetData>")


def corrupt_crc(data: bytes) -> bytes:
    """Stored (uncompressed) model sheet with one byte changed after the CRC was computed."""
    stored = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(stored, "w") as dst:
        for info in src.infolist():
            mode = zipfile.ZIP_STORED if info.filename == SHEET_PART else zipfile.ZIP_DEFLATED
            dst.writestr(info.filename, src.read(info), mode)
    raw = bytearray(stored.getvalue())
    at = raw.index(b"<sheetData>") + 2
    raw[at] = ord("X")
    return bytes(raw)


def ods_bytes() -> bytes:
    """A minimal OpenDocument spreadsheet (mimetype first and stored, as the format requires)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        z.writestr(
            "content.xml",
            '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
            'office:1.0" office:version="1.2"><office:body><office:spreadsheet/></office:body>'
            "</office:document-content>",
        )
        z.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
        )
    return out.getvalue()


def utf16_sheet(data: bytes) -> bytes:
    xml = sheet_xml(data).decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    if "encoding=" not in xml[:100]:
        xml = '<?xml version="1.0" encoding="UTF-16"?>' + xml
    return xml.encode("utf-16")


@dataclass(frozen=True)
class Case:
    """One bad input: files to write, the command (``{dir}`` is the case's folder), outcome."""

    id: str
    argv: list[str]
    exit: int
    gist: str
    files: Callable[[bytes], dict[str, bytes]] = field(default=lambda base: {BOOK: base})
    subprocess: bool = False  # also run as a real process (a representative subset)


def _book(make: Callable[[bytes], bytes]) -> Callable[[bytes], dict[str, bytes]]:
    return lambda base: {BOOK: make(base)}


def _part(part: str, content: bytes | None) -> Callable[[bytes], dict[str, bytes]]:
    return _book(lambda base: rezip(base, {part: content}))


B = "{dir}/" + BOOK
FILE_CASES: list[tuple[str, Callable[[bytes], dict[str, bytes]], str, int]] = [
    ("missing-file", lambda base: {}, "no such", 2),
    ("empty-file", _book(lambda base: b""), "the file is empty", 2),
    ("text-file", _book(lambda base: b"name,age\nann,3\n"), "not a zip archive", 2),
    ("legacy-xls", _book(lambda base: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)), ".xls", 2),
    ("ods", _book(lambda base: ods_bytes()), "OpenDocument spreadsheet (.ods)", 2),
    ("truncated-zip", _book(lambda base: base[: len(base) // 2]), "damaged .xlsx archive", 2),
    ("no-content-types", _part("[Content_Types].xml", None), "no [Content_Types].xml", 2),
    ("bad-crc", _book(corrupt_crc), "damaged .xlsx archive", 2),
    ("bomb-model-sheet", _book(lambda b: rezip(b, {SHEET_PART: bomb_sheet(b)})), "--max-ratio", 2),
    ("bomb-unused-part", _part("xl/media/pad.bin", b"\0" * (40 << 20)), "--max-ratio", 2),
    ("bomb-other-sheet", _part("xl/worksheets/sheet2.xml", b" " * (40 << 20)), "--max-ratio", 2),
    ("truncated-sheet-xml", _book(lambda b: rezip(b, {SHEET_PART: sheet_xml(b)[:-40]})), "XML", 2),
    ("unbalanced-sheet-xml", _part(SHEET_PART, b"<worksheet><sheetData></row>"), "XML", 2),
    ("xxe-sheet", _part(SHEET_PART, XXE), "unsafe XML", 2),
    ("billion-laughs-sheet", _part(SHEET_PART, LAUGHS), "unsafe XML", 2),
    ("xxe-workbook", _part("xl/workbook.xml", XXE), "unsafe XML", 2),
    ("xxe-content-types", _part("[Content_Types].xml", XXE), "unsafe XML", 2),
    ("billion-laughs-styles", _part("xl/styles.xml", LAUGHS), "unsafe XML", 2),
    ("no-workbook-part", _part("xl/workbook.xml", None), "xl/workbook.xml", 2),
]


def _file_cases() -> list[Case]:
    cases = []
    for name, files, gist, status in FILE_CASES:
        sub = name in ("ods", "xxe-sheet", "bomb-model-sheet")
        cases.append(Case(f"solve-{name}", ["solve", B, *ARGS], status, gist, files, sub))
        cases.append(Case(f"eval-{name}", ["eval", B, "fit!E1"], status, gist, files))
    return cases


SOLVE_OPTION_CASES: list[tuple[str, list[str], str, int]] = [
    ("value-nan", ["--value", "nan"], "--value: 'nan': must be a finite number", 2),
    ("value-inf", ["--value", "inf"], "must be a finite number", 2),
    ("value-text", ["--value", "ten"], "is not a number", 2),
    ("tol-nan", ["--tol", "nan"], "--tol: 'nan': must be a finite number", 2),
    ("tol-negative", ["--tol", "-1"], "--tol: '-1': must be 0 or more", 2),
    ("lr-negative", ["--lr", "-1"], "--lr: must be a positive number", 2),
    ("lr-zero", ["--lr", "0"], "--lr: must be a positive number", 2),
    ("lr-nan", ["--lr", "nan"], "--lr: must be a positive number", 2),
    ("steps-zero", ["--steps", "0"], "--steps: must be at least 1", 2),
    ("steps-text", ["--steps", "many"], "--steps", 2),
    ("restarts-zero", ["--restarts", "0"], "--restarts: must be at least 1", 2),
    ("restarts-huge", ["--restarts", "1000000000000"], "GiB of memory is available", 2),
    ("method-unknown", ["--method", "newton"], "--method", 2),
    ("dtype-unknown", ["--dtype", "float16"], "--dtype", 2),
    ("threads-zero", ["--threads", "0"], "--threads: must be at least 1", 2),
    ("seed-text", ["--seed", "x"], "--seed", 2),
    ("unknown-option", ["--frobnicate"], "unrecognized arguments: --frobnicate", 2),
    ("no-backup-alone", ["--no-backup"], "--no-backup: only meaningful with --in-place", 2),
    ("out-and-in-place", ["--out", "{dir}/x.xlsx", "--in-place"], "not allowed with", 2),
    ("out-missing-folder", ["--out", "{dir}/no/x.xlsx"], "does not exist", 2),
    ("out-is-folder", ["--out", "{dir}"], "it is a folder", 2),
    ("max-bytes-text", ["--max-bytes", "lots"], "is not a size", 2),
    ("max-bytes-zero", ["--max-bytes", "0"], "--max-bytes", 2),
    ("max-bytes-small", ["--max-bytes", "2K"], "--max-bytes raises it", 2),
    ("max-cells-small", ["--max-cells", "10"], "--max-cells raises the limit", 2),
    ("max-cells-negative", ["--max-cells", "-5"], "must be at least 1", 2),
    ("max-ratio-nan", ["--max-ratio", "nan"], "must be a finite number", 2),
    ("wait-negative", ["--in-place", "--wait", "-1"], "--wait: '-1': must be 0 or more", 2),
    ("device-unknown", ["--device", "tpu9"], "tpu9", 2),
]

MODEL_CASES: list[tuple[str, list[str], str, int]] = [
    ("objective-bad-ref", ["--objective", "A1::B", "--changing", "fit!A1"], "A1::B", 2),
    ("objective-missing-sheet", ["--objective", "nope!A1", "--changing", "nope!B1"], "nope", 2),
    ("changing-formula", ["--objective", "fit!E1", "--changing", "fit!C3"], "fit!C3", 2),
    ("sheet-missing", ["--sheet", "nope"], "nope: no such sheet", 2),
    ("sheet-without-model", ["--sheet", "other"], "no Solver model", 2),
    (
        "objective-is-error",
        ["--objective", "other!A1", "--changing", "fit!A1"],
        "#DIV/0! reaches",
        1,
    ),
]


def _solver_adj_elsewhere(base: bytes) -> bytes:
    xml = rezip(base, {})
    with zipfile.ZipFile(io.BytesIO(xml)) as package:
        workbook = package.read("xl/workbook.xml")
    workbook = workbook.replace(b"fit!$A$1:$C$1", b"gone!$A$1:$C$1")
    return rezip(base, {"xl/workbook.xml": workbook})


OTHER_CASES: list[Case] = [
    Case(
        "solve-solver-adj-missing-sheet",
        ["solve", B],
        2,
        "solver_adj",
        _book(_solver_adj_elsewhere),
    ),
    Case(
        "solve-utf16-sheet",
        ["solve", B, *ARGS],
        2,
        "UTF-16",
        _book(lambda b: rezip(b, {SHEET_PART: utf16_sheet(b)})),
        True,
    ),
    Case("solve-folder-as-book", ["solve", "{dir}", *ARGS], 2, "no such file"),
    Case(
        "eval-range-too-big",
        ["eval", B, "fit!A1:XFC1048575"],
        2,
        "GiB of memory is available",
        subprocess=True,
    ),
    Case("eval-bad-reference", ["eval", B, "A1::B2"], 2, "not a cell or range reference"),
    Case("eval-missing-sheet", ["eval", B, "nope!A1"], 2, "no sheet named 'nope'"),
    Case("eval-max-cells", ["eval", B, "fit!E1", "--max-cells", "5"], 2, "--max-cells"),
    Case("eval-max-bytes-text", ["eval", B, "fit!E1", "--max-bytes", "1Q"], 2, "is not a size"),
    Case(
        "build-titanic-missing-csv",
        ["build", "titanic", "--csv", "{dir}/none.csv", "--out", "{dir}/t.xlsx"],
        2,
        "none.csv",
    ),
    Case("build-titanic-out-is-folder", ["build", "titanic", "--out", "{dir}"], 2, "{dir}"),
    Case("no-command", [], 2, "required: COMMAND"),
    Case("unknown-command", ["frobnicate"], 2, "invalid choice: 'frobnicate'"),
]


def all_cases() -> list[Case]:
    """Every case of the corpus, ids unique."""
    cases = _file_cases()
    cases += [
        Case(f"solve-{name}", ["solve", B, *ARGS, *extra], status, gist)
        for name, extra, gist, status in SOLVE_OPTION_CASES
    ]
    cases += [
        Case(f"solve-{name}", ["solve", B, *extra], status, gist)
        for name, extra, gist, status in MODEL_CASES
    ]
    cases += OTHER_CASES
    return cases


def write_case(case: Case, folder: Path, base: bytes) -> list[str]:
    """Write the case's files into `folder`; returns its command line with ``{dir}`` filled in."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in case.files(base).items():
        (folder / name).write_bytes(content)
    return [arg.replace("{dir}", str(folder)) for arg in case.argv]


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "badinput-corpus")
    base = base_workbook()
    for case in all_cases():
        argv = write_case(case, out / case.id, base)
        print(case.id, "xl-lesson3", *argv)
