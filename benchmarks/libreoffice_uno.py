"""A LibreOffice Calc session driven through UNO: the real spreadsheet engine behind our baselines.

`CalcSession(path)` starts its own headless `soffice` (private profile, a pipe named for this
session, its own process group), loads the workbook hidden, and offers `set_block`, `block`,
`recalculate` (`calculate()` or `calculateAll()`) and `value` (full double precision through
`getValue()`). Leaving the `with` block, or any error, closes the document and kills the whole
process group, so no `soffice.bin` outlives a run.

python3-uno is a Debian package: its `uno` module lives in the system's dist-packages, which we put
on `sys.path` only for the import (so no other system package can shadow the venv's), and its
import hook is taken out again right after (see `import_uno`).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from xl_lesson3.workbook.address import CellAddress, RangeAddress

if TYPE_CHECKING:
    from typing_extensions import Self

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
_UNO_DIRS = ("/usr/lib/python3/dist-packages", "/usr/lib/libreoffice/program")

# Private profile: no first-start wizard, and always recalculate on load (files saved by Excel or
# LibreOffice carry cached values that LibreOffice would otherwise keep; see shared notes).
_PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


class UnoUnavailable(RuntimeError):
    """LibreOffice or python3-uno is missing: the LibreOffice parts of a benchmark are skipped."""


def import_uno():
    """The `uno` module of python3-uno (raises UnoUnavailable when it cannot be imported)."""
    if "uno" in sys.modules:
        return sys.modules["uno"]
    added = [d for d in _UNO_DIRS if d not in sys.path and Path(d).is_dir()]
    sys.path.extend(added)
    original_import = builtins.__import__
    try:
        import uno
    except ImportError as exc:
        raise UnoUnavailable(f"python3-uno cannot be imported: {exc}") from exc
    finally:
        for d in added:
            sys.path.remove(d)
        # uno replaces builtins.__import__ with a hook for `from com.sun.star... import`, which we
        # do not use; the hook turns every ModuleNotFoundError into a plain ImportError, and that
        # breaks libraries that probe for optional modules (scikit-image, for one).
        builtins.__import__ = original_import
    return uno


def available() -> str | None:
    """None when a UNO session can start here, else the reason it cannot."""
    if SOFFICE is None:
        return "LibreOffice (soffice) is not installed"
    try:
        import_uno()
    except UnoUnavailable as exc:
        return str(exc)
    return None


def soffice_version() -> str | None:
    """`soffice --version`'s first words, e.g. 'LibreOffice 7.4.7.2', or None."""
    if SOFFICE is None:
        return None
    try:
        out = subprocess.run(
            [SOFFICE, "--version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = out.split()
    return " ".join(words[:2]) if len(words) >= 2 else (out.strip() or None)


class CalcSession:
    """One headless soffice process with one workbook loaded; use as a context manager.

    timeout_s bounds the start (soffice up and the document loaded). Automatic recalculation is
    off, so values change only in `recalculate`: with full_recalc, `calculateAll()` (every formula
    of every sheet); otherwise `calculate()`, which recomputes the formulas made dirty by the
    changed cells, as Excel does after a cell changes. recalculations counts the calls.
    """

    def __init__(self, path: Path, *, timeout_s: float = 120.0, full_recalc: bool = False):
        self.path = Path(path).resolve()
        self.timeout_s = timeout_s
        self.full_recalc = full_recalc
        self.recalculations = 0
        self.load_seconds = float("nan")
        self._proc: subprocess.Popen | None = None
        self._work: Path | None = None
        self._doc = None
        self._ranges: dict[RangeAddress | CellAddress, object] = {}
        self.context = None

    # -- lifetime -------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _start(self) -> None:
        reason = available()
        if reason:
            raise UnoUnavailable(reason)
        uno = import_uno()
        self._work = Path(tempfile.mkdtemp(prefix="xl3-bench-lo-"))
        profile = self._work / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE_XCU)
        pipe = f"xl3bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        cmd = [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ]
        # Own process group: soffice is a launcher that forks soffice.bin; killpg ends both.
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + self.timeout_s
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
        no_connection = uno.getClass("com.sun.star.connection.NoConnectException")
        context = None
        while context is None:
            try:
                context = resolver.resolve(url)
            except no_connection as exc:
                if self._proc.poll() is not None:
                    raise RuntimeError(f"soffice exited with {self._proc.returncode}") from exc
                if time.monotonic() > deadline:
                    raise TimeoutError(f"soffice did not accept a connection in {self.timeout_s} s")
                time.sleep(0.1)
        self.context = context  # the remote component context (for services such as solvers)
        desktop = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", context
        )
        hidden = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
        hidden.Name, hidden.Value = "Hidden", True
        start = time.perf_counter()
        self._doc = desktop.loadComponentFromURL(self.path.as_uri(), "_blank", 0, (hidden,))
        self.load_seconds = time.perf_counter() - start
        if self._doc is None:
            raise RuntimeError(f"{self.path}: LibreOffice could not load the workbook")
        # Probes then cost exactly one explicit recalculation each, as counted.
        self._doc.enableAutomaticCalculation(False)

    def close(self) -> None:
        """Close the document and end the soffice process group (idempotent)."""
        if self._doc is not None:
            with contextlib.suppress(Exception):
                self._doc.close(True)
            self._doc = None
        self._ranges.clear()
        proc, self._proc = self._proc, None
        if proc is not None:
            _kill_group(proc)
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    # -- cells ----------------------------------------------------------------------------------
    def _range(self, address: RangeAddress | CellAddress):
        cached = self._ranges.get(address)
        if cached is None:
            sheet = self._doc.Sheets.getByName(address.sheet)
            cached = sheet.getCellRangeByName(address.coordinate)
            self._ranges[address] = cached
        return cached

    def set_block(self, address: RangeAddress, rows: Sequence[Sequence[float]]) -> None:
        """Write numbers into a rectangular range, one setDataArray call (rows × columns)."""
        self._range(address).setDataArray(tuple(tuple(float(v) for v in row) for row in rows))

    def block(self, address: RangeAddress) -> list[list[float]]:
        """Values of a rectangular range, rows × columns (getDataArray: text stays text)."""
        return [list(row) for row in self._range(address).getDataArray()]

    def value(self, address: CellAddress) -> float:
        """One cell's value as a double (full precision)."""
        return float(self._range(address).getValue())

    def recalculate(self, full: bool | None = None) -> None:
        """Recalculate: `calculateAll()` when full (default: the session's full_recalc), else
        `calculate()` (the formulas that depend on changed cells)."""
        if self.full_recalc if full is None else full:
            self._doc.calculateAll()
        else:
            self._doc.calculate()
        self.recalculations += 1


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group we started, SIGKILL it if it is still there after 10 s, and wait
    until every process of the group is gone (soffice.bin outlives its launcher briefly)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.1)
            if proc.returncode is not None and not _group_alive(proc.pid):
                return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def convert_recalculated(path: Path, outdir: Path, timeout_s: float = 300.0) -> Path:
    """`soffice --convert-to xlsx` with the always-recalculate profile: the command-line way to
    recalculate a workbook (starts and ends its own soffice). Returns the written copy."""
    if SOFFICE is None:
        raise UnoUnavailable("LibreOffice (soffice) is not installed")
    work = Path(tempfile.mkdtemp(prefix="xl3-bench-conv-"))
    try:
        profile = work / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE_XCU)
        src = work / ("in" + Path(path).suffix)
        shutil.copyfile(path, src)
        outdir.mkdir(parents=True, exist_ok=True)
        cmd = [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(outdir),
            str(src),
        ]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            proc.wait(timeout=timeout_s)
        finally:
            _kill_group(proc)
        out = outdir / "in.xlsx"
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"{path}: soffice --convert-to failed (exit {proc.returncode})")
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)
