"""`python -m benchmarks [--quick] [--device D] [--out benchmarks/RESULTS.md] [--only KEY ...]`.

Runs the benchmarks one after the other (so they do not compete for the CPU; the scaling sizes run
in worker processes of their own) and writes the Markdown report and a JSON file with the same
stem. A benchmark that fails is reported
as failed (traceback on stderr) and the others still run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.util
import math
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from benchmarks.common import BenchConfig
from benchmarks.report import (
    Section,
    Table,
    git_commit,
    library_versions,
    machine_info,
    write_report,
)

# key → module with run(config) -> Section, in report order.
SECTIONS = {
    "end_to_end": "benchmarks.end_to_end",
    "big_xlsx": "benchmarks.big_xlsx",
    "solver": "benchmarks.solver_vs_baseline",
    "scaling": "benchmarks.scaling",
    "many_params": "benchmarks.many_params",
    "formula_eval": "benchmarks.formula_eval",
    "reading": "benchmarks.reading",
    "pets": "benchmarks.pets_throughput",
    "solvers": "benchmarks.solvers",
    "conformance": "benchmarks.conformance",
}
DEFAULT_OUT = Path(__file__).resolve().parent / "RESULTS.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "sections",
        nargs="*",
        metavar="KEY",
        help=(
            f"run only these sections ({', '.join(SECTIONS)}); the report then goes to "
            "benchmarks/RESULTS-KEY.md unless --out is given"
        ),
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (under 5 minutes)")
    parser.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where the scaling and many-parameter runs go besides the CPU (auto: cuda if present)",
    )
    parser.add_argument("--out", type=Path, default=None, help="Markdown report path")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=tuple(SECTIONS),
        metavar="KEY",
        help=f"run only these sections ({', '.join(SECTIONS)})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice); 1 gives steadier figures on a busy CPU",
    )
    parser.add_argument(
        "--million", action="store_true", help="big_xlsx: also the 1M-row workbook (slow)"
    )
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # smoke test sizes
    args = parser.parse_args(argv)
    unknown = [key for key in args.sections if key not in SECTIONS]
    if unknown:
        parser.error(f"KEY: unknown section {unknown[0]!r} (sections: {', '.join(SECTIONS)})")
    if args.sections:
        args.only = list(dict.fromkeys([*(args.only or []), *args.sections]))
    if args.out is None:
        stem = "-".join(args.sections)
        args.out = DEFAULT_OUT.with_name(f"RESULTS-{stem}.md") if stem else DEFAULT_OUT
    return args


def resolve_devices(requested: str) -> tuple[tuple[str, ...], str | None]:
    """("cpu",) plus "cuda" when asked for (or auto) and present; and a note when CUDA was
    asked for but is missing."""
    import torch

    cuda = torch.cuda.is_available()
    if requested == "cuda" and not cuda:
        return ("cpu",), "--device cuda was asked for, but CUDA is not available: CPU only"
    if requested in ("cuda", "auto") and cuda:
        return ("cpu", "cuda"), None
    return ("cpu",), None


def run_section(key: str, config: BenchConfig) -> Section | None:
    """Run one section; None when its module does not exist (the pets benchmark is optional)."""
    module_name = SECTIONS[key]
    if importlib.util.find_spec(module_name) is None:
        return None
    start = time.perf_counter()
    print(f"[benchmarks] {key} ...", file=sys.stderr, flush=True)
    try:
        module = importlib.import_module(module_name)
        if key == "pets":
            device = "cuda" if "cuda" in config.devices else "cpu"
            section = section_from_dict(key, module.run(config.quick or config.tiny, device))
        else:
            section = module.run(config)
    except Exception as exc:  # noqa: BLE001  (reported as failed; the other sections still run)
        traceback.print_exc()
        section = Section(key, f"{key} (failed)", status=f"failed: {type(exc).__name__}: {exc}")
    section.seconds = time.perf_counter() - start
    print(f"[benchmarks] {key}: {section.status} ({section.seconds:.1f} s)", file=sys.stderr)
    return section


def section_from_dict(key: str, result: dict) -> Section:
    """A Section from a plain dict: keys title, status, headlines, notes, markdown, and either
    tables ([{caption, headers, rows}]) or headers + rows; anything else becomes a two-column table."""
    known = {
        "title",
        "status",
        "headlines",
        "notes",
        "markdown",
        "tables",
        "headers",
        "rows",
        "caption",
        "data",
    }
    section = Section(
        key,
        result.get("title", "Pets: training throughput"),
        status=result.get("status", "ok"),
        headlines=list(result.get("headlines", [])),
        notes=list(result.get("notes", [])),
        data=result,
    )
    for table in result.get("tables", []):
        section.tables.append(Table(table.get("caption", ""), table["headers"], table["rows"]))
    if "headers" in result and "rows" in result:
        section.tables.append(Table(result.get("caption", ""), result["headers"], result["rows"]))
    if "markdown" in result:
        section.notes.insert(0, str(result["markdown"]))
    extra = [
        [k, v] for k, v in result.items() if k not in known and not isinstance(v, (dict, list))
    ]
    if extra and not section.tables and "markdown" not in result:
        section.tables.append(Table("", ["quantity", "value"], extra))
    return section


def _load_average() -> float | None:
    """The 1-minute load average (other processes competing for the CPU), or None."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def host_speed() -> float:
    """Seconds of a fixed pure-Python loop (2M additions; best of 3): how fast this shared host
    runs now. It has measured from 0.12 s to 0.4 s on the same machine within an hour, so the
    report prints it beside every absolute time."""
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def _version_number(text: str | None) -> str | None:
    """'LibreOffice 7.4.7.2' → '7.4.7.2'."""
    return text.split()[-1] if text else None


def _terminate(signum, _frame):
    # Turn SIGTERM into SystemExit so `finally` blocks (which stop soffice) run.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(args, " ".join(["python -m benchmarks", *argv]))
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace, command: str) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    devices, device_note = resolve_devices(args.device)
    config = BenchConfig(
        quick=args.quick,
        devices=devices,
        tiny=args.tiny,
        threads=args.threads,
        million=args.million,
    )
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    load_before, speed_before = _load_average(), host_speed()
    start = time.perf_counter()
    sections = []
    for key in args.only or SECTIONS:
        section = run_section(key, config)
        if section is not None:
            sections.append(section)
    if device_note:
        for section in sections:
            if section.key in ("scaling", "many_params"):
                section.notes.append(device_note)
    from benchmarks.libreoffice_uno import soffice_version

    header = {
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "mode": config.mode,
        "seconds": time.perf_counter() - start,
        "machine": {
            **machine_info(",".join(devices)),
            "torch_threads": torch.get_num_threads(),
            "load_average": [load_before, _load_average()],
            "python_loop": [speed_before, host_speed()],
        },
        "versions": library_versions(_version_number(soffice_version())),
    }
    out_json = write_report(args.out, header, sections)
    print(f"[benchmarks] wrote {args.out} and {out_json}", file=sys.stderr)
    return 1 if any(s.status.startswith("failed") for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
