"""The speed/accuracy chart of `pets compare`: PNG or SVG with matplotlib, or one HTML file.

Seconds per image on a log x axis, ImageNet top-1 on y, one colour per model family, marker area
growing with the parameter count. HTML is a single self-contained file (the chart as inline SVG and
the table below it), so it opens offline with no CDN.
"""

from __future__ import annotations

import html
import io
from collections import Counter
from pathlib import Path
from typing import Any

from xl_lesson3.errors import BadInputError

FORMATS = (".png", ".svg", ".html")
MAX_COLOURED_FAMILIES = 18  # tab20 less its two greys; smaller families are grey "other families"
MAX_LABELLED_POINTS = 40


def _figure(rows: list[Any], title: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot's first import
    import matplotlib.pyplot as plt

    plotted = [r for r in rows if r.top1 is not None]
    counts = Counter(r.family for r in plotted)
    named = [family for family, _ in counts.most_common(MAX_COLOURED_FAMILIES)]
    palette = [c for i, c in enumerate(plt.get_cmap("tab20").colors) if i not in (14, 15)]
    fig, ax = plt.subplots(figsize=(11, 7), dpi=100)
    groups = {family: [r for r in plotted if r.family == family] for family in named}
    others = [r for r in plotted if r.family not in groups]
    scale = 12.0 if len(plotted) <= MAX_LABELLED_POINTS else 4.0  # smaller markers when crowded
    if others:  # drawn first, faint, so the named families stay visible on top
        ax.scatter(
            [r.seconds_per_image for r in others],
            [r.top1 for r in others],
            s=[scale * (1 + (r.param_count_m or 1) ** 0.5) for r in others],
            color=(0.6, 0.6, 0.6),
            alpha=0.35,
            edgecolors="none",
            label=f"other families ({len(others)})",
        )
    for i, (family, members) in enumerate(groups.items()):
        ax.scatter(
            [r.seconds_per_image for r in members],
            [r.top1 for r in members],
            s=[scale * (1 + (r.param_count_m or 1) ** 0.5) for r in members],
            color=palette[i],
            alpha=0.8,
            edgecolors="none",
            label=f"{family} ({len(members)})",
        )
    if len(plotted) <= MAX_LABELLED_POINTS:
        for r in plotted:
            ax.annotate(
                r.model,
                (r.seconds_per_image, r.top1),
                fontsize=8,
                xytext=(4, 3),
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.set_xlabel("seconds per image (log scale; left is faster)")
    ax.set_ylabel("ImageNet top-1 accuracy (%)")
    missing = len(rows) - len(plotted)
    note = f"  ({missing} model(s) without published top-1 not plotted)" if missing else ""
    ax.set_title(title + note, fontsize=11)
    ax.grid(True, which="both", alpha=0.3)
    if groups:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def write_chart(rows: list[Any], out: Path, title: str) -> Path:
    """Write the chart to `out`; the suffix picks the format (.png, .svg or .html)."""
    import matplotlib.pyplot as plt

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise BadInputError(f"--out {out}: use a file name ending in {', '.join(FORMATS)}")
    fig = _figure(rows, title)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".html":
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg")
            out.write_text(_html_page(title, buffer.getvalue(), rows), encoding="utf-8")
        else:
            fig.savefig(out, format=suffix[1:])
    except OSError as exc:
        raise BadInputError(f"--out {out}: cannot write ({exc})") from exc
    finally:
        plt.close(fig)
    return out


def _html_page(title: str, svg: str, rows: list[Any]) -> str:
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and DOCTYPE; inline SVG needs neither
    header = ("model", "family", "seconds/image", "images/s", "top-1 %", "params (M)", "px")
    body = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(cell))}</td>"
            for cell in (
                r.model,
                r.family,
                f"{r.seconds_per_image:.3g}",
                f"{r.images_per_second:,.1f}",
                "" if r.top1 is None else f"{r.top1:.2f}",
                "" if r.param_count_m is None else f"{r.param_count_m:g}",
                r.img_size,
            )
        )
        + "</tr>"
        for r in sorted(rows, key=lambda r: r.seconds_per_image)
    )
    head = "".join(f"<th>{h}</th>" for h in header)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }}
th:first-child, td:first-child, td:nth-child(2) {{ text-align: left; }}
svg {{ max-width: 100%; height: auto; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
{svg}
<table><thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody></table>
</body></html>
"""
