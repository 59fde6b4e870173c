"""The benchmark report: sections of tables and notes, written as Markdown and as JSON.

Every benchmark module returns a `Section`. `write_report` puts a header (date, machine, library
versions), the headlines, then each section, into OUT.md, and the same content with the raw
measurements into OUT.json next to it.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Table:
    """A Markdown table: a caption (may be empty), column headers and rows of cells."""

    caption: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Section:
    """One benchmark's results. status is "ok", "skipped: why" or "failed: why"; headlines are
    one-line findings quoted at the top of the report; data holds the raw measurements (JSON)."""

    key: str
    title: str
    status: str = "ok"
    headlines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


# -- formatting -------------------------------------------------------------------------------------
def fmt(value: Any, digits: int = 4) -> str:
    """A table cell: floats with `digits` significant digits, None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def fmt_seconds(seconds: float | None) -> str:
    """Seconds in a readable unit: µs, ms or s."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def markdown_table(table: Table) -> str:
    lines = []
    if table.caption:
        lines += [table.caption, ""]
    lines.append("| " + " | ".join(table.headers) + " |")
    lines.append("|" + "|".join("---" for _ in table.headers) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(fmt(cell) for cell in row) + " |")
    return "\n".join(lines)


# -- environment ------------------------------------------------------------------------------------
def machine_info(device: str) -> dict[str, Any]:
    """CPU model, cores, RAM, OS, and the GPU when CUDA is available."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": f"{platform.system()} {platform.release()}",
    }
    try:
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            info["gpu"] = f"{props.name}, {props.total_memory / 2**30:.0f} GiB"
        else:
            info["gpu"] = None
    except ImportError:
        info["gpu"] = None
    info["device"] = device
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def library_versions(libreoffice: str | None) -> dict[str, str | None]:
    """Versions of Python, the libraries measured here, and LibreOffice."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("xl-lesson3", "torch", "numpy", "scipy", "openpyxl", "pycel", "formulas"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    versions["LibreOffice"] = libreoffice
    return versions


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


# -- writing ----------------------------------------------------------------------------------------
def render_markdown(header: dict[str, Any], sections: list[Section]) -> str:
    machine, versions = header["machine"], header["versions"]
    gpu = machine.get("gpu") or "no GPU in this run"
    lines = [
        "# xl-lesson3 benchmarks",
        "",
        (
            f"Generated by `{header['command']}` on {header['date']} "
            f"(commit {header.get('commit') or 'unknown'}); {header['mode']} run, "
            f"device `{machine['device']}`, {fmt_seconds(header['seconds'])} in all."
        ),
        "",
        (
            f"- Machine: {machine['cpu']}, {machine['cpu_cores']} cores, "
            f"{machine.get('ram_gib')} GiB RAM, {machine['os']}; GPU: {gpu}; torch CPU threads: "
            f"{machine.get('torch_threads')}; 1-minute load average at start and end: "
            f"{_pair(machine.get('load_average'))}; host speed, a fixed pure-Python loop "
            f"(2M additions) at start and end: {_pair(machine.get('python_loop'))} s (the "
            "shared host's speed varies: read absolute times with it)."
        ),
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ".",
        "",
        "## Headlines",
        "",
    ]
    headlines = [h for s in sections for h in s.headlines]
    lines += [f"- {h}" for h in headlines] or ["- (no headline results in this run)"]
    for section in sections:
        lines += ["", f"## {section.title}", ""]
        if section.status != "ok":
            lines += [f"*{section.status}*", ""]
        for table in section.tables:
            lines += [markdown_table(table), ""]
        for note in section.notes:
            lines += [note, ""]
        lines.append(f"<sub>section time {fmt_seconds(section.seconds)}</sub>")
    return "\n".join(lines).rstrip() + "\n"


def _pair(values) -> str:
    return " and ".join(str(v) for v in values) if values else "unknown"


def write_report(out_md: Path, header: dict[str, Any], sections: list[Section]) -> Path:
    """Write OUT.md and OUT.json (same stem); returns the JSON path."""
    out_md = Path(out_md)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text(render_markdown(header, sections), encoding="utf-8")
    out_json = out_md.with_suffix(".json")
    payload = _plain({**header, "sections": [asdict(s) for s in sections]})
    out_json.write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n", "utf-8")
    return out_json


def _plain(value: Any) -> Any:
    """JSON-ready copy: NaN and infinities become null, arrays lists, other objects text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    return str(value)
