"""`udfs` imports on a machine without Excel and without an xlwings licence key."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import sys
import udfs.functions, udfs.macros
assert udfs.functions.relu(-1.0) == 0.0
import xl_lesson3.addin.workflow, xl_lesson3.workbook.load_xlwings
print("ok")
"""


def test_udfs_import_without_excel_or_licence():
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLWINGS")}
    result = subprocess.run(
        [sys.executable, "-c", CODE],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_core_modules_never_import_xlwings():
    code = (
        "import sys, xl_lesson3.addin.workflow, xl_lesson3.addin.fit, "
        "xl_lesson3.workbook.load_xlwings, xl_lesson3.formula.functions.addin.solve_udf; "
        "print('xlwings' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300
    )
    assert result.stdout.strip() == "False", result.stderr
