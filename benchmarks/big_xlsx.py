"""A real .xlsx of 100k (and, with ``--million``, 1M) passenger rows: the whole `solve` command.

The Titanic nnet sheet scaled up (`workbooks.write_nnet_xlsx`: 22 columns per row, the Excel
table and structured references, formulas only) is written into a temporary folder; writing is
not timed. Then each stage of ``xl-lesson3 solve BOOK --objective nnet!B2 --changing nnet!G2:P3
--restarts 16 --steps 50 --out OUT`` is timed in this process, as the command runs it (collector
paused while reading and compiling): reading the file into our workbook model (only the sheets
the objective needs), planning + compiling the objective, 50 L-BFGS steps at 16 restarts, and the
write-back: finding the cells the new parameters change (`changed_cells`: the workbook
recalculated once, the units that depend on the parameters again with the new values), patching
every changed cell into a copy of the file, and reading them back to verify it. Last,
the command itself as a process, an empty process that only imports what it imports (the
start-up), and a process that starts up and reads the workbook as the command does, the read in
a forked child while torch is imported (`load_aside`); what the stages do not explain is shown
as "rest". Target for 100k rows: reading ≤ 5 s, the whole command ≤ 15 s.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from benchmarks.common import BenchConfig
from benchmarks.end_to_end import ensure_bytecode, timed_process_cpu
from benchmarks.report import Section, Table, fmt_bytes, fmt_seconds
from benchmarks.workbooks import write_nnet_xlsx

SIZES = {"tiny": (300,), "quick": (20_000,), "full": (100_000,)}
MILLION = 1_000_000
RESTARTS, STEPS = 16, 50
OBJECTIVE, CHANGING = "nnet!B2", "nnet!G2:P3"
TARGET_READ, TARGET_COMMAND = 5.0, 15.0  # seconds, for 100k rows
STAGES = ("read", "compile", "steps", "recalc", "patch", "verify")
# What the command imports before it reads anything: the process start-up stage.
STARTUP = "import torch, xl_lesson3.cli, xl_lesson3.solver.api, xl_lesson3.solver.writeback"
# Start-up and read as the command overlaps them: the read forked off before torch's import.
STARTUP_AND_READ = """
import sys
from pathlib import Path
from xl_lesson3.workbook.load import sheets_needed
from xl_lesson3.workbook.load_aside import start_load
with start_load(Path(sys.argv[1]), sheets_needed({objective!r}, [{changing!r}], None)) as pending:
    {startup}
    pending.model()
    print("forked" if pending.forked else "in-process")
"""


def sizes(config: BenchConfig) -> tuple[int, ...]:
    """Row counts for this run (1M only when asked for: minutes and GBs on 2 cores)."""
    base = SIZES[config.mode]
    return (*base, MILLION) if config.million and not config.tiny else base


def run(config: BenchConfig) -> Section:
    section = Section("big_xlsx", "Large workbooks: a real .xlsx read, compiled, trained, written")
    ensure_bytecode()
    runs = []
    with tempfile.TemporaryDirectory(prefix="xl3-big-") as tmp:
        for n_rows in sizes(config):
            path = write_nnet_xlsx(Path(tmp) / f"nnet-{n_rows}.xlsx", n_rows)
            out = Path(tmp) / "solved.xlsx"
            row = stages(path, out, n_rows)
            out.unlink(missing_ok=True)
            row["command"], row["command_cpu"], _ = timed_process_cpu(_command(path, out))
            row["startup"], _, _ = timed_process_cpu(["-c", STARTUP])
            script = STARTUP_AND_READ.format(
                objective=OBJECTIVE, changing=CHANGING, startup=STARTUP
            )
            row["startup_read"], _, said = timed_process_cpu(["-c", script, str(path)])
            row["read_aside"] = said.strip() == "forked"
            later = sum(row[k] for k in STAGES if k != "read")
            row["rest"] = row["command"] - row["startup_read"] - later
            path.unlink()
            out.unlink(missing_ok=True)
            runs.append(row)
    section.data = {"runs": runs, "restarts": RESTARTS, "steps": STEPS}
    section.tables.append(_table(runs))
    for row in runs:
        section.headlines.append(
            f"{row['rows']:,}-row .xlsx ({fmt_bytes(row['bytes'])}): read "
            f"{fmt_seconds(row['read'])}, compile {fmt_seconds(row['compile'])}, {STEPS} steps "
            f"{fmt_seconds(row['steps'])}, write-back {fmt_seconds(row['recalc'])} recalculating"
            f" + {fmt_seconds(row['patch'])} patching ({_how(row)}) + "
            f"{fmt_seconds(row['verify'])} verifying;"
            f" the whole `solve --restarts {RESTARTS} --steps {STEPS}` command "
            f"{fmt_seconds(row['command'])} (start-up {fmt_seconds(row['startup'])}; start-up "
            f"and read {fmt_seconds(row['startup_read'])}, {_read_where(row)}) (100k-row "
            f"targets: read ≤ {TARGET_READ:g} s, command ≤ {TARGET_COMMAND:g} s)."
        )
    return section


def _command(path: Path, out: Path) -> list[str]:
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
        "--out",
        str(out),
    ]


def stages(path: Path, out: Path, n_rows: int) -> dict:
    """Seconds of each stage, in this process, the way the CLI runs them."""
    import torch

    from benchmarks.hand_nnet import fit_like_solve
    from xl_lesson3.cli._process import collector_paused
    from xl_lesson3.formula.compile.program import compile_program
    from xl_lesson3.solver.api import initial_points
    from xl_lesson3.solver.problem import build_problem, sheets_needed
    from xl_lesson3.solver.threads import auto_threads
    from xl_lesson3.workbook.load import load_sheets

    row: dict = {"rows": n_rows, "bytes": path.stat().st_size}
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with collector_paused():
            started = time.perf_counter()
            # as the command reads it: noting where each cell's bytes are, for the write-back
            workbook = load_sheets(path, sheets_needed(OBJECTIVE, [CHANGING], None), layout=True)
            row["read"] = time.perf_counter() - started
            started = time.perf_counter()
            problem = build_problem(workbook, OBJECTIVE, [CHANGING], "min")
            program = compile_program(workbook, problem.model.objective, problem.variables)
            row["compile"] = time.perf_counter() - started
        infinite = torch.full_like(program.initial, math.inf)
        start = initial_points(program.initial, RESTARTS, -infinite, infinite, seed=0)
        row["threads"] = auto_threads(RESTARTS, program.widest_block)  # as the command picks
        torch.set_num_threads(row["threads"])
        started = time.perf_counter()
        row["loss"], _, row["steps_done"], row["evaluations"] = fit_like_solve(
            program, start, STEPS
        )
        row["steps"] = time.perf_counter() - started
    finally:
        torch.set_num_threads(before)
    row["op_count"] = program.op_count
    # New parameters change every formula cell below them, as a solved network's do.
    values = {cell: float(x) + 0.01 for cell, x in zip(problem.variables, program.initial)}
    row.update(_write_back(path, out, workbook, values, problem.model.objective))
    return row


def _write_back(path: Path, out: Path, workbook, values: dict, objective) -> dict:
    """Seconds of the write-back's stages: recalculate, patch (copy + change), verify."""
    import zipfile

    from xl_lesson3.solver.writeback import changed_cells
    from xl_lesson3.workbook.xlsx_bulk_values import Targets
    from xl_lesson3.workbook.xlsx_patch import patch_workbook, plan_patch, splice_plan_for
    from xl_lesson3.workbook.xlsx_verify import verify_sheet

    started = time.perf_counter()
    cells, _ = changed_cells(workbook, values, objective)
    recalc = time.perf_counter() - started
    started = time.perf_counter()
    # verifies before replacing `out`; numbers are spliced in where the read noted the cells
    patch_workbook(path, out, values=cells, layouts=workbook.layouts)
    written = time.perf_counter() - started
    started = time.perf_counter()  # the same check once more, alone, to tell it apart
    plan = plan_patch(path, cells)
    spliced = 0
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out) as package:
        for part, (sheet, updates) in plan.sheets.items():
            targets = Targets(updates)
            how = splice_plan_for(workbook.layouts.get(sheet), source.getinfo(part), targets)
            spliced += how is not None
            verify_sheet(package, part, sheet, updates, targets, spliced=how)
    verify = time.perf_counter() - started
    return {
        "recalc": recalc,
        "patch": written - verify,
        "verify": verify,
        "cells_written": len(cells),
        "spliced": spliced == len(plan.sheets),
    }


def _how(row: dict) -> str:
    return "spliced at the offsets the read noted" if row["spliced"] else "bulk"


def _read_where(row: dict) -> str:
    return "read in a child beside torch's import" if row["read_aside"] else "one after the other"


def _table(runs: list[dict]) -> Table:
    rows = [
        [
            f"{r['rows']:,}",
            fmt_bytes(r["bytes"]),
            fmt_seconds(r["read"]),
            fmt_seconds(r["compile"]),
            f"{fmt_seconds(r['steps'])} ({r['threads']} thread{'s' if r['threads'] > 1 else ''})",
            fmt_seconds(r["recalc"]),
            f"{fmt_seconds(r['patch'])} ({_how(r)})",
            fmt_seconds(r["verify"]),
            fmt_seconds(r["startup"]),
            f"{fmt_seconds(r['startup_read'])} ({_read_where(r)})",
            fmt_seconds(r["rest"]),
            fmt_seconds(r["command"]),
            fmt_seconds(r["command_cpu"]),
            r["op_count"],
        ]
        for r in runs
    ]
    headers = [
        "rows",
        "file",
        "read",
        "compile",
        f"{STEPS} steps ×{RESTARTS} (torch threads, as `--threads auto` picks)",
        "recalculate (write-back)",
        "patch",
        "verify",
        "process start-up",
        "start-up and read, as the command runs them",
        "rest",
        "whole command (wall)",
        "whole command (CPU)",
        "ops per call",
    ]
    return Table(f"nnet sheet as a real .xlsx, {RESTARTS} restarts, every stage:", headers, rows)
