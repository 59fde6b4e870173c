"""A real .xlsx of 100k (and, with ``--million``, 1M) passenger rows: read + compile + 50 steps.

The Titanic nnet sheet scaled up (`workbooks.write_nnet_xlsx`: 22 columns per row, the Excel
table and structured references, formulas only) is written into a temporary folder; writing is
not timed. Then, per stage, as the CLI runs them (collector paused while reading and compiling):
reading the file into our workbook model, planning + compiling the objective, and 50 L-BFGS
steps at 16 restarts. Last, the whole command a user would type,
``xl-lesson3 solve BOOK --objective nnet!B2 --changing nnet!G2:P3 --restarts 16 --steps 50
--dry-run``, timed as a process. Target for 100k rows: reading ≤ 5 s, the whole command ≤ 15 s.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from benchmarks.common import BenchConfig
from benchmarks.end_to_end import timed_process
from benchmarks.report import Section, Table, fmt_bytes, fmt_seconds
from benchmarks.workbooks import write_nnet_xlsx

SIZES = {"tiny": (300,), "quick": (20_000,), "full": (100_000,)}
MILLION = 1_000_000
RESTARTS, STEPS = 16, 50
OBJECTIVE, CHANGING = "nnet!B2", "nnet!G2:P3"
TARGET_READ, TARGET_COMMAND = 5.0, 15.0  # seconds, for 100k rows


def sizes(config: BenchConfig) -> tuple[int, ...]:
    """Row counts for this run (1M only when asked for: minutes and GBs on 2 cores)."""
    base = SIZES[config.mode]
    return (*base, MILLION) if config.million and not config.tiny else base


def run(config: BenchConfig) -> Section:
    section = Section("big_xlsx", "Large workbooks: a real .xlsx read, compiled and trained")
    runs = []
    with tempfile.TemporaryDirectory(prefix="xl3-big-") as tmp:
        for n_rows in sizes(config):
            path = write_nnet_xlsx(Path(tmp) / f"nnet-{n_rows}.xlsx", n_rows)
            row = stages(path, n_rows)
            row["command"], _ = timed_process(_command(path))
            path.unlink()
            runs.append(row)
    section.data = {"runs": runs, "restarts": RESTARTS, "steps": STEPS}
    section.tables.append(_table(runs))
    for row in runs:
        section.headlines.append(
            f"{row['rows']:,}-row .xlsx ({fmt_bytes(row['bytes'])}): read "
            f"{fmt_seconds(row['read'])}, compile {fmt_seconds(row['compile'])}, {STEPS} steps "
            f"{fmt_seconds(row['steps'])}; the whole `solve --restarts {RESTARTS} --steps {STEPS}`"
            f" command {fmt_seconds(row['command'])} (100k-row targets: read ≤ {TARGET_READ:g} s,"
            f" command ≤ {TARGET_COMMAND:g} s)."
        )
    return section


def _command(path: Path) -> list[str]:
    return [
        "-m",
        "xl_lesson3",
        "solve",
        str(path),
        "--objective",
        OBJECTIVE,
        "--changing",
        CHANGING,
        "--restarts",
        str(RESTARTS),
        "--steps",
        str(STEPS),
        "--dry-run",
    ]


def stages(path: Path, n_rows: int) -> dict:
    """Seconds of each stage, in this process, the way the CLI runs them."""
    import torch

    from benchmarks.hand_nnet import fit_like_solve
    from xl_lesson3.cli._process import collector_paused
    from xl_lesson3.formula.compile.program import compile_program
    from xl_lesson3.solver.api import initial_points
    from xl_lesson3.solver.problem import build_problem
    from xl_lesson3.workbook.load import load_workbook

    row: dict = {"rows": n_rows, "bytes": path.stat().st_size}
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with collector_paused():
            started = time.perf_counter()
            workbook = load_workbook(path)
            row["read"] = time.perf_counter() - started
            started = time.perf_counter()
            problem = build_problem(workbook, OBJECTIVE, [CHANGING], "min")
            program = compile_program(workbook, problem.model.objective, problem.variables)
            row["compile"] = time.perf_counter() - started
        infinite = torch.full_like(program.initial, math.inf)
        start = initial_points(program.initial, RESTARTS, -infinite, infinite, seed=0)
        started = time.perf_counter()
        row["loss"], _, row["steps_done"], row["evaluations"] = fit_like_solve(
            program, start, STEPS
        )
        row["steps"] = time.perf_counter() - started
    finally:
        torch.set_num_threads(before)
    row["op_count"] = program.op_count
    return row


def _table(runs: list[dict]) -> Table:
    rows = [
        [
            f"{r['rows']:,}",
            fmt_bytes(r["bytes"]),
            fmt_seconds(r["read"]),
            fmt_seconds(r["compile"]),
            fmt_seconds(r["steps"]),
            fmt_seconds(r["read"] + r["compile"] + r["steps"]),
            fmt_seconds(r["command"]),
            r["op_count"],
        ]
        for r in runs
    ]
    headers = [
        "rows",
        "file",
        "read",
        "compile",
        f"{STEPS} steps ×{RESTARTS}",
        "stages total",
        "whole command",
        "ops per call",
    ]
    return Table(f"nnet sheet as a real .xlsx, {RESTARTS} restarts:", headers, rows)
