"""Scaling: the nnet sheet with 1k … 1M passenger rows — compile time, forward+backward, memory.

Each size runs in its own Python process (`python -m benchmarks.scaling --worker ROWS DEVICE`), so
its peak resident memory (VmHWM) is its own; the table shows it above the process's memory after
its imports and a warm-up on a 20-row sheet. A size whose memory, extrapolated from the previous size, would not fit
in the memory available now is skipped and the report says so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import BenchConfig, best_of, loglog_slope
from benchmarks.report import Section, Table, fmt_bytes, fmt_seconds

REPO = Path(__file__).resolve().parent.parent
FULL_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
TINY_SIZES = (50, 200)
MEMORY_HEADROOM = 0.6  # run a size only if its extrapolated peak fits in 60% of free memory


def run(config: BenchConfig) -> Section:
    sizes = TINY_SIZES if config.tiny else (QUICK_SIZES if config.quick else FULL_SIZES)
    timeout = 120 if config.tiny else (240 if config.quick else 3600)
    section = Section("scaling", "Scaling: the nnet sheet replicated to more rows")
    results: dict[str, list[dict]] = {}
    all_slopes: dict[str, dict] = {}
    for device in config.devices:
        results[device] = _run_sizes(sizes, device, timeout, config.threads)
        table_rows, ok = [], [r for r in results[device] if "error" not in r]
        for r in results[device]:
            if "error" in r:
                table_rows.append([r["rows"], None, None, None, None, None, r["error"]])
                continue
            table_rows.append(
                [
                    r["rows"],
                    r["cells"],
                    r["op_count"],
                    fmt_seconds(r["compile_s"]),
                    fmt_seconds(r["forward_backward_s"]),
                    fmt_bytes(r["peak_bytes"]),
                    "",
                ]
            )
        keys = ("compile_s", "forward_backward_s", "peak_bytes")
        slopes = {k: loglog_slope([r["rows"] for r in ok], [r[k] for r in ok]) for k in keys}
        top = {k: loglog_slope([r["rows"] for r in ok[-2:]], [r[k] for r in ok[-2:]]) for k in keys}
        table_rows.append(
            [
                "growth exponent",
                None,
                None,
                *(_slope(slopes[k]) for k in keys),
                "log-log slope over all sizes above",
            ]
        )
        if len(ok) > 2:
            table_rows.append(
                [
                    "growth exponent",
                    None,
                    None,
                    *(_slope(top[k]) for k in keys),
                    "between the two largest sizes (fixed costs matter least there)",
                ]
            )
        memory_note = (
            "GPU memory: torch.cuda.max_memory_allocated"
            if device == "cuda"
            else "memory: the process's peak RSS above its RSS after imports and a warm-up"
        )
        section.tables.append(
            Table(
                f"On `{device}` (float64; {memory_note}; forward+backward is the best of a few "
                "calls of objective and gradient for one parameter set):",
                [
                    "rows",
                    "workbook cells",
                    "tensor ops",
                    "compile",
                    "forward+backward",
                    "peak memory",
                    "note",
                ],
                table_rows,
            )
        )
        if ok:
            largest = ok[-1]
            section.headlines.append(
                f"nnet sheet with {largest['rows']:,} rows on {device}: compile "
                f"{fmt_seconds(largest['compile_s'])}, forward+backward "
                f"{fmt_seconds(largest['forward_backward_s'])}, "
                f"{'the same' if len({r['op_count'] for r in ok}) == 1 else 'a varying'} number "
                f"of tensor ops at every size; between the two largest sizes time grows as rows^"
                f"{_slope(top['forward_backward_s'])} (forward+backward) and "
                f"rows^{_slope(top['compile_s'])} (compile)."
            )
        all_slopes[device] = {"all_sizes": slopes, "two_largest": top}
    section.notes.append(
        "The replicated sheets are built in memory as a `WorkbookModel` with the Titanic builder's "
        "own layout (`xl_lesson3.titanic.layout`: the same 22 columns, Excel table, structured "
        "references and A1 formulas as `workbooks/titanic.xlsx`, the 712 passengers repeated); no "
        ".xlsx is written, so the compile time excludes reading a file."
    )
    section.data = {"runs": results, "growth_exponents": all_slopes}
    return section


def _slope(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _run_sizes(sizes, device: str, timeout: float, threads: int | None) -> list[dict]:
    results: list[dict] = []
    for rows in sizes:
        previous = next((r for r in reversed(results) if "error" not in r), None)
        need = _extrapolated_bytes(previous, rows) if previous else None
        free = _available_bytes()
        if need is not None and free is not None and need > MEMORY_HEADROOM * free:
            results.append(
                {
                    "rows": rows,
                    "error": f"skipped: needs ≈{fmt_bytes(need)} (extrapolated), "
                    f"{fmt_bytes(free)} available",
                }
            )
            continue
        results.append(_run_worker(rows, device, timeout, threads))
    return results


def _extrapolated_bytes(previous: dict, rows: int) -> float:
    growth = previous["peak_rss_bytes"] - previous["base_rss_bytes"]
    return previous["base_rss_bytes"] + growth * rows / previous["rows"]


def _available_bytes() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _run_worker(rows: int, device: str, timeout: float, threads: int | None) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.scaling", "--worker", str(rows), device]
    if threads:
        cmd += ["--threads", str(threads)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"rows": rows, "error": f"stopped after {timeout:g} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return {"rows": rows, "error": f"failed: {last[:200]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- worker (runs in its own process) ---------------------------------------------------------------
def measure(rows: int, device: str) -> dict:
    """Build the nnet sheet with `rows` rows, compile it, time forward+backward; peak memory."""
    import torch

    from benchmarks.workbooks import replicated_nnet_model
    from xl_lesson3.formula.compile.program import compile_program

    # Warm up on a small sheet first, so lazy imports and one-time set-up count in neither the
    # compile time nor the memory growth.
    small, objective, params = replicated_nnet_model(20)
    compile_program(small, objective, params.cells(), device=device)
    del small
    base_rss = _reset_peak_rss()
    start = time.perf_counter()
    model, objective, params = replicated_nnet_model(rows)
    build_s = time.perf_counter() - start
    cells = len(model.cells)
    start, cpu_start = time.perf_counter(), time.process_time()
    program = compile_program(model, objective, params.cells(), device=device)
    compile_s = time.perf_counter() - start
    compile_cpu_s = time.process_time() - cpu_start
    del model
    x = program.initial.detach().to(device).unsqueeze(0)  # (1, n_params)

    def forward_backward() -> None:
        p = x.clone().requires_grad_(True)
        program(p).sum().backward()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    forward_backward()  # warm-up
    # The best of several calls (at least 2 s of them): on a shared machine the minimum is the
    # figure least disturbed by other processes.
    repeats = 10 if rows <= 100_000 else 3
    fb_s = best_of(forward_backward, repeats, min_seconds=2.0 if rows <= 100_000 else 0.0)
    peak_rss = _peak_rss_bytes()
    peak = torch.cuda.max_memory_allocated() if device.startswith("cuda") else peak_rss - base_rss
    return {
        "rows": rows,
        "device": device,
        "cells": cells,
        "op_count": getattr(program, "op_count", None),
        "build_s": build_s,
        "compile_s": compile_s,
        "compile_cpu_s": compile_cpu_s,
        "forward_backward_s": fb_s,
        "base_rss_bytes": base_rss,
        "peak_rss_bytes": peak_rss,
        "peak_bytes": peak,
    }


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> int:
    """Reset the peak-RSS mark to the current RSS (Linux: clear_refs 5); returns the RSS.

    Not `ru_maxrss`: Linux carries a parent's peak across fork+exec into it, so a worker started
    by a big benchmark process would report the parent's peak.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kib("VmRSS") * 1024
    except (OSError, TypeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _peak_rss_bytes() -> int:
    peak = _status_kib("VmHWM")
    if peak is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return peak * 1024


def _worker_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling")
    parser.add_argument("--worker", nargs=2, metavar=("ROWS", "DEVICE"), required=True)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rows, device = int(args.worker[0]), args.worker[1]
    print(json.dumps(measure(rows, device)))
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
