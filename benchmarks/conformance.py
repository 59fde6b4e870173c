"""Conformance: the share of formula cells that agree with the values Excel saved.

The workbooks are the test suites of two other Excel engines, pycel and formulas, every one last
saved by Microsoft Excel (``../shared/conformance/``, see its MANIFEST.json; read from there,
never copied here). Each formula cell (every cell of an array formula's range) is recalculated
by our engine (`xl_lesson3.formula.evaluate.tolerant.evaluate_all`) and compared with Excel's saved value
by the rule of `xl_lesson3.formula.evaluate.check.values_agree`; cells calling RAND/NOW/TODAY are left
out. pycel and formulas are scored on the same cells when an interpreter that has them is found
(``$XL_LESSON3_OTHERS_PYTHON``, else ``../venv-others/bin/python``): they run there in a
subprocess, and their results are cached by workbook and engine version.

Run alone with ``python -m benchmarks conformance`` (no other options needed).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import CACHE_DIR, BenchConfig
from benchmarks.report import Section, Table

REPO = Path(__file__).resolve().parents[1]
CONFORMANCE_DIR = REPO.parent / "shared" / "conformance"
OTHERS = ("pycel", "formulas")
OTHERS_TIMEOUT_S = 1800


def others_python() -> Path | None:
    """The interpreter that has pycel and formulas, or None."""
    env = os.environ.get("XL_LESSON3_OTHERS_PYTHON")
    candidates = [Path(env)] if env else []
    candidates += [
        REPO.parent / "venv-others" / "bin" / "python",
        Path("/work/venv-others/bin/python"),
    ]
    return next((path for path in candidates if path.is_file()), None)


def workbooks(directory: Path = CONFORMANCE_DIR) -> list[Path]:
    """The conformance workbooks, in MANIFEST order (any .xlsx found when there is none)."""
    manifest = directory / "MANIFEST.json"
    if manifest.is_file():
        return [directory / entry["file"] for entry in json.loads(manifest.read_text())]
    return sorted(directory.glob("*/*.xlsx"))


def score_ours(path: Path) -> dict[str, Any]:
    """Our figures for one workbook, and the cells they were counted on."""
    from xl_lesson3.errors import XlLesson3Error
    from xl_lesson3.formula.evaluate.check import check_workbook, formula_text, values_agree
    from xl_lesson3.formula.evaluate.tolerant import Uncomputable, evaluate_all
    from xl_lesson3.workbook.load import load_workbook

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = load_workbook(path, cached_values=True)
        except XlLesson3Error as exc:
            return {"opened": False, "error": str(exc), "cells": {}, "agree": 0, "counted": 0}
    values = evaluate_all(model)
    report = check_workbook(model, values)
    cells: dict[str, Any] = {}  # counted cell → Excel's value
    failures: Counter = Counter()
    differ: list[str] = []
    for cell, ours in values.items():
        if report_volatile(formula_text(model, cell)):
            continue
        excel = model.cached_value(cell)
        cells[str(cell)] = excel
        if isinstance(ours, Uncomputable):
            failures[ours.feature] += 1
        elif not values_agree(excel, ours) and len(differ) < 3:
            differ.append(f"{cell} {formula_text(model, cell)}: Excel {excel!r}, ours {ours!r}")
    totals = report.totals
    return {
        "opened": True,
        "cells": cells,
        "counted": totals["formulas"] - totals["volatile"],
        "agree": totals["agree"],
        "differ": totals["differ"],
        "uncomputable": totals["uncomputable"],
        "failures": failures,
        "differ_examples": differ,
        "seconds": time.perf_counter() - started,
    }


def report_volatile(text: str) -> bool:
    from xl_lesson3.formula.evaluate.check import VOLATILE

    return bool(VOLATILE.search(text))


def score_other(engine: str, path: Path, cells: dict[str, Any], python: Path) -> dict:
    """Another engine's agreement on `cells` (cell → Excel's value), from cache when possible."""
    from xl_lesson3.formula.evaluate.check import values_agree
    from xl_lesson3.formula.scalars import ExcelError, is_error_text

    found = _other_values(engine, path, sorted(cells), python)
    if "error" in found:
        return {"agree": None, "note": found["error"]}
    agree = 0
    for cell, excel in cells.items():
        value = found.get(cell)
        if isinstance(value, dict):
            text = value.get("excel_error")
            value = ExcelError.from_text(text) if text and is_error_text(text) else _FAILED
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        agree += values_agree(excel, value)
    return {"agree": agree}


_FAILED = object()  # the other engine raised on the cell: agrees with nothing


def _other_values(engine: str, path: Path, cells: list[str], python: Path) -> dict:
    digest = hashlib.sha256(path.read_bytes() + "\n".join(cells).encode()).hexdigest()[:16]
    version = _version(python, engine)
    cache = CACHE_DIR / f"conformance-{engine}-{version}-{digest}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(cells, handle)
    script = Path(__file__).with_name("conformance_others.py")
    try:
        done = subprocess.run(
            [str(python), str(script), engine, str(path), handle.name],
            check=False,
            capture_output=True,
            text=True,
            timeout=OTHERS_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {OTHERS_TIMEOUT_S} s"}
    finally:
        Path(handle.name).unlink(missing_ok=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"failed to load: {last[:160]}"}
    found = json.loads(done.stdout)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(found))
    return found


def _version(python: Path, engine: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({engine!r}))"
    done = subprocess.run(
        [str(python), "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip() or "unknown"


def _share(agree: int | None, counted: int) -> str:
    if agree is None:
        return "—"
    return f"{100 * agree / counted:.1f}%" if counted else "—"


def run(config: BenchConfig) -> Section:
    """Score every conformance workbook (ours, then pycel and formulas on the same cells)."""
    section = Section("conformance", "Conformance: formula cells agreeing with Excel's values")
    books = workbooks()
    if not books:
        section.status = f"skipped: no workbooks in {CONFORMANCE_DIR}"
        return section
    python = others_python()
    rows, failures = [], Counter()
    totals = {"counted": 0, "ours": 0, **{engine: 0 for engine in OTHERS}}
    notes: dict[str, str] = {}
    for path in books:
        ours = score_ours(path)
        name = f"{path.parent.name}/{path.name}"
        if not ours["opened"]:
            rows.append([name, 0, "did not open", "", "", ""])
            notes[name] = ours["error"]
            continue
        failures.update(ours["failures"])
        counted = ours["counted"]
        row = [name, counted, _share(ours["agree"], counted), ours["uncomputable"], ours["differ"]]
        totals["counted"] += counted
        totals["ours"] += ours["agree"]
        for engine in OTHERS:
            if python is None or config.tiny:
                row.append("not installed" if python is None else "skipped")
                continue
            other = score_other(engine, path, ours["cells"], python)
            if other["agree"] is None:
                row.append(other["note"][:40])
                notes[f"{name} ({engine})"] = other["note"]
            else:
                totals[engine] += other["agree"]
                row.append(_share(other["agree"], counted))
        rows.append(row)
        print(f"[conformance] {name}: {row[2]} of {counted}", file=sys.stderr, flush=True)
    counted = totals["counted"]
    overall = [
        "overall",
        counted,
        _share(totals["ours"], counted),
        sum(failures.values()),
        "",
        *(
            _share(totals[engine], counted) if python is not None and not config.tiny else "—"
            for engine in OTHERS
        ),
    ]
    headers = ["workbook", "formula cells", "xl-lesson3", "cannot compute", "differ", *OTHERS]
    section.tables.append(
        Table("Share of formula cells agreeing with Excel:", headers, [*rows, overall])
    )
    section.tables.append(
        Table(
            "Largest groups of cells we cannot compute:",
            ["function or feature", "cells"],
            [[feature, count] for feature, count in failures.most_common(15)],
        )
    )
    section.headlines.append(
        f"xl-lesson3 agrees with Excel on {overall[2]} of {counted} formula cells"
        + "".join(f"; {engine} {value}" for engine, value in zip(OTHERS, overall[5:], strict=True))
    )
    section.notes.extend(f"{key}: {value}" for key, value in notes.items())
    section.data = {
        "counted": counted,
        "agree": totals,
        "failures": dict(failures.most_common()),
    }
    return section
