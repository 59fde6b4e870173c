"""The classic desktop route: Excel on Windows/macOS with the standard xlwings add-in (BSD).

What ``xl-lesson3 addin desktop`` writes, and why this shape. A macro-enabled workbook needs a
VBA project (``xl/vbaProject.bin``), a binary that only Excel can write (``xlwings code embed``,
``vba import`` and the VBA editor all need Excel), so nothing on Linux can produce a working
``.xlsm``. We write what xlwings users set up by hand, ready to use:

- ``Lesson3.xlsx``: an ``xlwings.conf`` sheet (read by the xlwings add-in for this workbook:
  this environment's interpreter, PYTHONPATH, ``UDF Modules = udfs.functions``) and a
  "Lesson 3" sheet with the steps below. Save it as ``.xlsm`` after importing the module.
- ``Lesson3Macros.bas``: one VBA module, five macros calling the project through ``RunPython``
  (``udfs.macros.run('solve')`` ...), plus ribbon callbacks of the same names.
- ``Lesson3Ribbon.xml``: a "Lesson 3" ribbon tab (customUI) whose buttons call those callbacks,
  for Office RibbonX Editor or any zip tool (``customUI/customUI14.xml`` in the ``.xlsm``).
- ``INSTALL.txt``: the steps, for Windows and macOS.

UDFs (RELU ... TORCH_SOLVE) need Windows (COM); macros work on Windows and macOS.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from xl_lesson3.errors import WorkbookIOError

MACROS = {  # VBA macro name: udfs.macros.run argument (the ribbon's five buttons)
    "Lesson3Solve": ("Solve", "solve"),
    "Lesson3Reset": ("Reset parameters", "reset_parameters"),
    "Lesson3Evaluate": ("Evaluate", "evaluate"),
    "Lesson3BuildTitanic": ("Build Titanic sheets", "build_titanic_sheets"),
    "Lesson3LossChart": ("Loss chart", "loss_chart"),
}
UDF_MODULES = "udfs.functions"
CONF_SHEET = "xlwings.conf"

STEPS = """\
Lesson 3 in desktop Excel (classic xlwings, no server)

Python side (this machine, the environment that has xl-lesson3 installed):
  python -m pip install "xl-lesson3"   (or: python -m pip install . in a clone)
  xlwings addin install                  installs the xlwings add-in into Excel
  Windows, CUDA (optional): install the CUDA build of torch into the same environment,
    python -m pip install torch --index-url https://download.pytorch.org/whl/cu126
    then =RELU(A1:A5,"cuda") or Solve with a GPU; check: python -c "import torch;
    print(torch.cuda.is_available())". macOS has no CUDA: everything runs on the CPU.

Excel side:
  1. Open Lesson3.xlsx. Its xlwings.conf sheet points the xlwings add-in at
       Interpreter: {interpreter}
       PYTHONPATH:  {pythonpath}
       UDF Modules: {udf_modules}
     (edit column B if you move the environment; the sheet overrides the add-in's settings).
  2. Alt+F11 (macOS: Tools > Macro > Visual Basic Editor) > File > Import File >
     Lesson3Macros.bas; Tools > References > tick "xlwings".
  3. Save as Excel Macro-Enabled Workbook (Lesson3.xlsm).
  4. Buttons: Developer > Insert > Button, assign Lesson3Solve, Lesson3Reset, Lesson3Evaluate,
     Lesson3BuildTitanic, Lesson3LossChart. Or a ribbon tab: with Office RibbonX Editor, open
     Lesson3.xlsm, Insert > Office 2010+ Custom UI Part, paste Lesson3Ribbon.xml, save.
  5. Windows only, worksheet functions: xlwings tab > Import Functions. Then =RELU(A1:A5),
     =TORCH_MMULT(A1:B3,D1:E2), =TORCH_SOLVE(...) (not run inside the Function Wizard, and
     in a background thread so Excel stays responsive).
  6. Build Titanic sheets adds the lesson's sheets (the MMULT is written with Formula2, so it
     spills in dynamic-array Excel); Solve trains the active sheet's Solver model.

Errors show in xlwings' error box with the project's message ("press Solve first", ...).
"""


@dataclass(frozen=True)
class DesktopFiles:
    """The files `write_desktop_files` wrote."""

    workbook: Path
    vba_module: Path
    ribbon: Path
    steps: Path


def conf_rows(interpreter: str, pythonpath: str) -> list[tuple[str, str]]:
    """The ``xlwings.conf`` sheet: key in column A, value in column B (xlwings' format)."""
    return [
        ("Interpreter_Win", interpreter),
        ("Interpreter_Mac", interpreter),
        ("PYTHONPATH", pythonpath),
        ("UDF Modules", UDF_MODULES),
        ("Debug UDFs", "False"),
        ("Use UDF Server", "False"),
        ("Show Console", "False"),
    ]


def vba_module() -> str:
    """Lesson3Macros.bas: the five macros and their ribbon callbacks, calling RunPython."""
    lines = ['Attribute VB_Name = "Lesson3Macros"', "Option Explicit", ""]
    for macro, (label, script) in MACROS.items():
        call = f"RunPython \"import udfs.macros; udfs.macros.run('{script}')\""
        lines += [f"' {label}", f"Sub {macro}()", f"    {call}", "End Sub", ""]
        lines += [f"Sub {macro}Ribbon(control As IRibbonControl)", f"    {macro}", "End Sub", ""]
    return "\r\n".join(lines)  # the VBA editor imports CRLF text


def ribbon_xml() -> str:
    """The "Lesson 3" tab: one button per macro, calling ``<macro>Ribbon``."""
    buttons = "\n".join(
        f'          <button id="{macro}" label="{label}" size="large" '
        f'imageMso="{image}" onAction="{macro}Ribbon" />'
        for (macro, (label, _)), image in zip(
            MACROS.items(),
            ("SolverAddin", "Refresh", "FormulaEvaluate", "TableInsert", "ChartInsert"),
        )
    )
    return (
        '<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui">\n'
        "  <ribbon>\n    <tabs>\n"
        '      <tab id="Lesson3Tab" label="Lesson 3">\n'
        '        <group id="Lesson3Group" label="Train with PyTorch">\n'
        f"{buttons}\n"
        "        </group>\n      </tab>\n    </tabs>\n  </ribbon>\n</customUI>\n"
    )


def write_desktop_files(
    out_dir: Path, *, interpreter: str | None = None, pythonpath: str | None = None
) -> DesktopFiles:
    """Write the workbook, VBA module, ribbon XML and steps into `out_dir`.

    `interpreter`: the Python Excel should run (default: this one); `pythonpath`: where
    ``udfs`` and ``xl_lesson3`` are importable from (default: where this package is).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    interpreter = interpreter or sys.executable
    pythonpath = pythonpath or str(Path(__file__).resolve().parents[2])
    steps = STEPS.format(interpreter=interpreter, pythonpath=pythonpath, udf_modules=UDF_MODULES)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        wb = Workbook()
        guide = wb.active
        guide.title = "Lesson 3"
        for row, line in enumerate(steps.splitlines(), start=1):
            guide.cell(row, 1, line)
        guide["A1"].font = Font(bold=True, size=14)
        conf = wb.create_sheet(CONF_SHEET)
        for row, (key, value) in enumerate(conf_rows(interpreter, pythonpath), start=1):
            conf.cell(row, 1, key)
            conf.cell(row, 2, value)
        files = DesktopFiles(
            workbook=out_dir / "Lesson3.xlsx",
            vba_module=out_dir / "Lesson3Macros.bas",
            ribbon=out_dir / "Lesson3Ribbon.xml",
            steps=out_dir / "INSTALL.txt",
        )
        wb.save(files.workbook)
        files.vba_module.write_bytes(vba_module().encode("ascii"))
        files.ribbon.write_text(ribbon_xml(), encoding="utf-8")
        files.steps.write_text(steps, encoding="utf-8")
    except OSError as exc:
        raise WorkbookIOError(f"{out_dir}: cannot write ({exc.strerror or exc})") from exc
    return files
