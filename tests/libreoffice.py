"""LibreOffice Calc headless as the reference spreadsheet engine for tests.

`recalculate(path)` forces a full recalculation (a private profile sets OOXMLRecalcMode to
"always"), saves an .xlsx copy and returns openpyxl's `data_only` reading of it. See
../shared/notes/libreoffice.md for why each step is there.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import openpyxl

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

_RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def available() -> bool:
    return SOFFICE is not None


def recalculated_copy(path: Path, outdir: Path | None = None) -> Path:
    """LibreOffice's recalculated .xlsx copy of `path` (each call its own profile: safe in parallel)."""
    if SOFFICE is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    work = Path(tempfile.mkdtemp(prefix="xl3-lo-"))
    profile = work / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_PROFILE)
    outdir = outdir or work / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    # Copy under a plain name: soffice names its output after the input's stem.
    src = work / ("in" + Path(path).suffix)
    shutil.copyfile(path, src)
    cmd = [
        SOFFICE,
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--norestore",
        "--convert-to",
        "xlsx:Calc MS Excel 2007 XML",
        "--outdir",
        str(outdir),
        str(src),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    out = outdir / "in.xlsx"
    if not out.exists():
        raise RuntimeError(f"LibreOffice wrote nothing for {path}")
    return out


def recalculate(path: Path) -> openpyxl.Workbook:
    """openpyxl's data_only reading of LibreOffice's recalculation of `path`."""
    return openpyxl.load_workbook(recalculated_copy(path), data_only=True, read_only=False)
