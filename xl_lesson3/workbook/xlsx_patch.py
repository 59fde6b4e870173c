"""Write values and defined names into an existing .xlsx without disturbing anything else in it.

A workbook a user has worked on carries charts, images, comments, pivot caches, macros' settings
and formatting that no Python library round-trips faithfully (openpyxl drops charts and images it
did not create). So a write-back never loads and re-saves the workbook: it streams every zip part
through unchanged and rewrites only the XML parts that must change, and within those only the
changed elements, found by a hardened XML parser (`xl_lesson3.workbook.xlsx_cells` for sheets,
`xl_lesson3.workbook.xlsx_names` for defined names). A sheet in the canonical form Excel and
openpyxl write goes through the bulk patcher instead (`xlsx_bulk_patch`: the same bytes, ~20x
faster); one it cannot prove canonical makes the package start again, that sheet through the
parser. A sheet whose cells the read noted (`layouts=`, `sheet_layout`), still as it was read,
takes its numbers by splicing (`xlsx_splice`: the same bytes again, without finding the cells).
Formulas are never added or removed, so Excel's calculation chain (``xl/calcChain.xml``) stays
valid and is kept.

The output is written to a temporary file in the destination's folder, the changed cells are
read back from it (`xl_lesson3.workbook.xlsx_verify`), it is flushed to disk, then moved over the
destination with `os.replace`, so a crash or an error never leaves a half-written or wrong
workbook (and the destination may be the source).
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO
from xml.etree.ElementTree import Element

from xl_lesson3.errors import UnknownReferenceError, WorkbookIOError, located
from xl_lesson3.workbook.address import CellAddress
from xl_lesson3.workbook.background import WriteBehind, read_ahead
from xl_lesson3.workbook.changeset import cells_by_sheet
from xl_lesson3.workbook.safexml import encoding_problem, parse_xml
from xl_lesson3.workbook.sheet_layout import SheetLayout
from xl_lesson3.workbook.tempfiles import remove_orphans, temp_path
from xl_lesson3.workbook.xlsx_bulk_patch import BulkPatcher
from xl_lesson3.workbook.xlsx_bulk_values import Targets
from xl_lesson3.workbook.xlsx_cells import patch_sheet_stream
from xl_lesson3.workbook.xlsx_fastscan import NotCanonical
from xl_lesson3.workbook.xlsx_names import patch_defined_names, set_full_calc_on_load
from xl_lesson3.workbook.xlsx_splice import SplicePlan, splice_plan, splice_sheet
from xl_lesson3.workbook.xlsx_verify import verify_sheet

_CHUNK = 1 << 20
_BULK_CHUNK = 16 << 20  # the bulk patcher works on pieces of whole rows about this big
_SHEET_LEVEL = 1  # deflate level of changed sheets

_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def patch_workbook(
    src: Path,
    dst: Path,
    *,
    values: Mapping[CellAddress, object] | None = None,
    defined_names: Mapping[tuple[str, str | None], str | None] | None = None,
    full_calc_on_load: bool = False,
    layouts: Mapping[str, SheetLayout] | None = None,
) -> Path:
    """Copy workbook `src` to `dst`, setting cell values and defined names; returns `dst`.

    `values`: cell → value (None, bool, number, str, or an Excel error such as the engine's
    ``ExcelError``). A formula cell keeps its formula and gets the value as its cached result;
    any other cell gets the value as a constant. `defined_names`: (name, sheet scope or None for
    workbook scope) → refers-to text as stored in the file (``nnet!$B$2:$K$3``; a leading ``=``
    is dropped), or None to remove the name. A new name is hidden when it starts with
    ``solver_``, as Excel's Solver writes them; a replaced name keeps its attributes.
    `full_calc_on_load`: ask Excel to recalculate everything when it opens the file (useful after
    changing inputs without updating the cached results that depend on them). `layouts`: sheet →
    where its cells lay when `src` was read (`WorkbookModel.layouts`); a sheet still as read
    takes its numbers by splicing (`xlsx_splice`), the same bytes, faster.
    The changed cells are read back from the new file before it replaces `dst`.
    Raises `WorkbookIOError` (nothing written) when `src` is not a workbook, a sheet to change is
    not UTF-8, `dst` cannot be written or the check fails; `UnknownReferenceError` for a sheet
    the workbook does not have.
    """
    src, dst = Path(src), Path(dst)
    plan = plan_patch(src, values or {}, defined_names or {}, full_calc_on_load)
    plan.layouts.update(layouts or {})

    def verify(package: zipfile.ZipFile) -> None:
        for part, (sheet, updates) in plan.sheets.items():
            targets, spliced = plan.targets.get(part), plan.spliced.get(part)
            verify_sheet(package, part, sheet, updates, targets, spliced=spliced)

    write_atomically(dst, lambda out: _write_package(src, out, plan), verify=verify)
    return dst


@dataclass(frozen=True)
class PatchPlan:
    """What a write-back changes: worksheet part → (sheet name, (row, col) → value), and the
    whole new bytes of small parts (the workbook part, when names or calcPr change)."""

    sheets: dict[str, tuple[str, Mapping[tuple[int, int], object]]]
    replacements: dict[str, bytes]
    # The sheets' values sorted for the bulk patcher, kept for the bulk check (filled lazily).
    targets: dict[str, Targets] = field(default_factory=dict)
    # Sheet name → where its cells lay when the source was read (see `patch_workbook`).
    layouts: dict[str, SheetLayout] = field(default_factory=dict)
    # Part → how it was spliced, for the check (only the parts that were).
    spliced: dict[str, SplicePlan] = field(default_factory=dict)


def plan_patch(
    src: Path,
    values: Mapping[CellAddress, object],
    defined_names: Mapping[tuple[str, str | None], str | None] = MappingProxyType({}),
    full_calc_on_load: bool = False,
) -> PatchPlan:
    """Check that `src` can take these changes and say which parts change; writes nothing.

    Cheap (reads the workbook part and the first bytes of each sheet part to change), so a
    caller can run it before a long solve: a UTF-16 sheet or a missing sheet is found first.
    """
    try:
        with zipfile.ZipFile(src) as package:
            return _plan(package, values, defined_names, full_calc_on_load)
    except zipfile.BadZipFile as exc:
        raise WorkbookIOError(f"{src}: not an .xlsx workbook ({exc})") from exc
    except (KeyError, ValueError) as exc:  # ValueError: bad text too
        raise WorkbookIOError(f"{src}: damaged workbook ({exc})") from exc
    except OSError as exc:
        raise WorkbookIOError(f"{src}: cannot read the workbook ({exc.strerror or exc})") from exc


def check_sheets_patchable(src: Path) -> None:
    """Raise WorkbookIOError when some worksheet of `src` could not take a write-back (UTF-16).

    Cheap; run before solving, so a book that cannot be written is refused first.
    """
    try:
        with _open_zip(src) as package:
            workbook_part = _workbook_part(package)
            workbook_xml = package.read(workbook_part).decode("utf-8")
            for sheet, part in _sheet_parts(package, workbook_part, workbook_xml).items():
                if part not in package.NameToInfo:
                    raise WorkbookIOError(located(sheet, f"the worksheet part {part} is missing"))
                with package.open(part) as stream:
                    problem = encoding_problem(stream.read(256))
                if problem:
                    raise WorkbookIOError(located(sheet, problem))
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a part's data: bad CRC, cut short
        raise WorkbookIOError(f"{src}: damaged .xlsx archive ({exc})") from exc
    except (KeyError, ValueError) as exc:
        raise WorkbookIOError(f"{src}: damaged workbook ({exc})") from exc
    except OSError as exc:
        raise WorkbookIOError(f"{src}: cannot read the workbook ({exc.strerror or exc})") from exc


def _open_zip(src: Path) -> zipfile.ZipFile:
    """The package, or WorkbookIOError when `src` is not a zip at all (its parts' damage is
    told apart by the caller)."""
    try:
        return zipfile.ZipFile(src)
    except zipfile.BadZipFile as exc:
        raise WorkbookIOError(f"{src}: not an .xlsx workbook ({exc})") from exc


def _plan(
    package: zipfile.ZipFile,
    values: Mapping[CellAddress, object],
    defined_names: Mapping[tuple[str, str | None], str | None],
    full_calc_on_load: bool,
) -> PatchPlan:
    workbook_part = _workbook_part(package)
    workbook_xml = package.read(workbook_part).decode("utf-8")
    sheets = _sheet_parts(package, workbook_part, workbook_xml)
    by_sheet = _by_sheet(values, sheets)
    for part, (sheet, _) in by_sheet.items():
        with package.open(part) as stream:
            problem = encoding_problem(stream.read(256))
        if problem:
            raise WorkbookIOError(located(sheet, problem))
    replacements = {}
    new_workbook_xml = workbook_xml
    if defined_names:
        new_workbook_xml = patch_defined_names(new_workbook_xml, defined_names, list(sheets))
    if full_calc_on_load:
        new_workbook_xml = set_full_calc_on_load(new_workbook_xml)
    if new_workbook_xml != workbook_xml:
        replacements[workbook_part] = new_workbook_xml.encode("utf-8")
    return PatchPlan(by_sheet, replacements)


def _by_sheet(
    values: Mapping[CellAddress, object], sheets: dict[str, str]
) -> dict[str, tuple[str, Mapping[tuple[int, int], object]]]:
    """part → (sheet, (row, col) → value). A `ChangeSet` (the write-back's 600k cells) is
    grouped from its column blocks, without an address object per cell."""
    by_sheet: dict[str, tuple[str, Mapping[tuple[int, int], object]]] = {}
    for sheet, updates in cells_by_sheet(values).items():
        if sheet not in sheets:
            known = ", ".join(sheets)
            address = CellAddress(sheet, *next(iter(updates)))
            raise UnknownReferenceError(located(str(address), f"no such sheet (sheets: {known})"))
        by_sheet[sheets[sheet]] = (sheet, updates)
    return by_sheet


def _workbook_part(package: zipfile.ZipFile) -> str:
    """The workbook part's name, found as the package's officeDocument relationship."""
    rels = parse_xml(package.read("_rels/.rels"), "_rels/.rels")
    for rel in rels.iter(f"{{{_PKG_REL_NS}}}Relationship"):
        if rel.get("Type", "").endswith("/officeDocument"):  # transitional or strict
            return _resolve_target("", rel.get("Target", ""))
    raise KeyError("no officeDocument relationship in _rels/.rels")


def _resolve_target(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base_dir, target))


def _sheet_parts(package: zipfile.ZipFile, workbook_part: str, workbook_xml: str) -> dict[str, str]:
    """Sheet name → worksheet part name, in the workbook's sheet order (= localSheetId order)."""
    base_dir, name = posixpath.split(workbook_part)
    rels_part = posixpath.join(base_dir, "_rels", name + ".rels")
    rels_xml = package.read(rels_part)
    targets = {
        rel.get("Id"): _resolve_target(base_dir, rel.get("Target", ""))
        for rel in parse_xml(rels_xml, rels_part).iter(f"{{{_PKG_REL_NS}}}Relationship")
    }
    root = parse_xml(workbook_xml.encode("utf-8"), workbook_part)
    return {
        sheet.get("name"): targets.get(_relationship_id(sheet), "")
        for sheet in root.iter()
        if sheet.tag.endswith("}sheet")
    }


def _relationship_id(element: Element) -> str | None:
    """The ``r:id`` attribute, whichever namespace (transitional or strict) spells it."""
    for key, value in element.attrib.items():
        if key.endswith("}id"):
            return value
    return None


class _PartNotCanonical(Exception):
    """A sheet part the bulk patcher cannot take: write the package again, that part by the
    general patcher."""

    def __init__(self, part: str) -> None:
        super().__init__(part)
        self.part = part


def _write_package(src: Path, out: BinaryIO, plan: PatchPlan) -> None:
    """`_copy_package`, sheets through the bulk patcher where they are canonical (most are:
    Excel and openpyxl write them so); one that is not makes the package start again with
    that sheet through `SheetPatcher`."""
    general: set[str] = set()
    while True:
        try:
            _copy_package(src, out, plan, frozenset(general))
            return
        except _PartNotCanonical as exc:
            general.add(exc.part)
            out.seek(0)
            out.truncate()


def _copy_package(src: Path, out: BinaryIO, plan: PatchPlan, general: frozenset[str]) -> None:
    """Write every entry of `src` to `out` in order, with its name, date and compression.

    Parts are streamed (never a whole part in memory); the sheets to change go through the
    bulk patcher, or through the streaming `SheetPatcher` when they are in `general`. A
    changed sheet is deflated at level 1 (5x faster than zlib's default 6 on sheet XML, for
    a file ~25% larger). The source is opened here and closed before `out` replaces anything
    (Windows cannot replace a file that is open).
    """
    with zipfile.ZipFile(src) as package, zipfile.ZipFile(out, "w") as copy:
        for info in package.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            entry.compress_type = info.compress_type
            entry.external_attr = info.external_attr
            entry.create_system = info.create_system
            entry.comment = info.comment
            data = plan.replacements.get(info.filename)
            if data is not None:
                copy.writestr(entry, data)
                continue
            entry.file_size = info.file_size  # lets zipfile pick zip64 for big parts up front
            if info.filename not in plan.sheets:
                with package.open(info) as reader, copy.open(entry, "w") as writer:
                    shutil.copyfileobj(reader, writer, _CHUNK)
                continue
            _set_level(entry, _SHEET_LEVEL)
            sheet, updates = plan.sheets[info.filename]
            with package.open(info) as reader, copy.open(entry, "w") as writer:
                if info.filename in general:
                    chunks = iter(lambda: reader.read(_CHUNK), b"")
                    patch_sheet_stream(chunks, updates, sheet, writer.write)
                    continue
                # Inflating, patching and deflating overlap: zlib runs without the GIL.
                behind = WriteBehind(writer.write)
                chunks = read_ahead(iter(lambda: reader.read(_BULK_CHUNK), b""))
                targets = plan.targets.setdefault(info.filename, Targets(updates))
                spliced = splice_plan_for(plan.layouts.get(sheet), info, targets)
                plan.spliced.pop(info.filename, None)
                try:
                    if spliced is not None:
                        splice_sheet(chunks, spliced, behind.write)
                        plan.spliced[info.filename] = spliced
                    else:
                        BulkPatcher(updates, sheet, behind.write, targets).run(chunks)
                except NotCanonical as exc:
                    raise _PartNotCanonical(info.filename) from exc
                finally:
                    chunks.close()  # its thread reads `reader`: stop it before `reader` closes
                    behind.close()


def splice_plan_for(
    layout: SheetLayout | None, info: zipfile.ZipInfo, targets: Targets
) -> SplicePlan | None:
    """How to splice `targets` into the source part `info`, or None (see `xlsx_splice`)."""
    if layout is None or layout.part != info.filename:
        return None
    return splice_plan(layout, info.CRC, info.file_size, info.compress_size, targets)


def _set_level(entry: zipfile.ZipInfo, level: int) -> None:
    """The deflate level of a new entry (``compress_level`` from Python 3.13 on)."""
    if entry.compress_type == zipfile.ZIP_DEFLATED:
        setattr(
            entry, "compress_level" if hasattr(entry, "compress_level") else "_compresslevel", level
        )


def write_atomically(
    dst: Path,
    write: Callable[[BinaryIO], None],
    *,
    verify: Callable[[zipfile.ZipFile], None] | None = None,
) -> None:
    """Call `write(file)` on a temporary file beside `dst`, then move it over `dst`.

    `verify(zip)`, when given, reads the finished temporary file as a zip first and raises to
    abandon it. On any error the temporary file is removed and `dst` is left as it was; OS
    errors become `WorkbookIOError` naming `dst`. The new file gets `dst`'s permissions when it
    exists. Temporary files of runs that were killed (their process is gone) are removed first.
    """
    dst = Path(dst)
    try:
        remove_orphans(dst)
        with _atomic_output(dst) as (out, tmp):
            write(out)
            if verify is not None:
                out.flush()
                with zipfile.ZipFile(tmp) as written:  # by name: a checker process opens it too
                    verify(written)
    except zipfile.BadZipFile as exc:
        raise WorkbookIOError(
            f"{dst}: write-back check failed ({exc}); nothing was changed"
        ) from exc
    except OSError as exc:
        raise WorkbookIOError(f"{dst}: cannot write the file ({exc.strerror or exc})") from exc


@contextmanager
def _atomic_output(dst: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A binary file (and its path) that replaces `dst` only when the block finishes without
    an error."""
    if not dst.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"folder {dst.parent} does not exist")
    if dst.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder")
    if dst.exists() and not os.access(dst, os.W_OK):
        raise PermissionError(errno.EACCES, "the file is read-only")
    mode = stat.S_IMODE(os.stat(dst).st_mode) if dst.exists() else 0o666
    tmp = temp_path(dst)
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        with os.fdopen(fd, "w+b") as out:
            yield out, tmp
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
