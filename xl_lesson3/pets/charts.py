"""The speed/accuracy chart of `pets compare`: PNG or SVG with matplotlib, or one HTML file.

Seconds per image on a log x axis, ImageNet top-1 on y. Every family gets its own (colour, marker)
pair, 18 colours times 4 markers, so no two of the 72 largest families look alike; smaller ones
are grey "other families". Labels never overlap: each is placed at the first free spot around its
point or left out (the HTML version names every point on hover). HTML is one self-contained file
(inline SVG, a ``<title>`` per point for the hover text, the table below): it opens offline and
loads nothing from a CDN.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

from xl_lesson3.errors import BadInputError

FORMATS = (".png", ".svg", ".html")
MARKERS = ("o", "s", "^", "D")
MAX_LABELLED_POINTS = 40  # above this, only the fastest model at each accuracy level is named
# (dx, dy) in points from the marker, tried in order until a label fits
OFFSETS = ((5, 4), (5, -11), (-5, 4), (-5, -11), (0, 9), (0, -16), (10, 12), (10, -20))


def palette() -> list[tuple[float, float, float]]:
    """tab20 less its two greys (grey means "other families"): its 9 strong colours first, then
    their 9 light partners, so the largest families never get two shades of one hue."""
    import matplotlib

    colours = [c for i, c in enumerate(matplotlib.colormaps["tab20"].colors) if i not in (14, 15)]
    return colours[0::2] + colours[1::2]


def family_styles(rows: list[Any]) -> dict[str, tuple[Any, str]]:
    """Family -> (colour, marker), largest families first; families past the 72nd get none."""
    colours = palette()
    counts = Counter(r.family for r in rows if r.top1 is not None)
    ordered = [family for family, _ in sorted(counts.items(), key=lambda fc: (-fc[1], fc[0]))]
    styles = {}
    for i, family in enumerate(ordered[: len(colours) * len(MARKERS)]):
        styles[family] = (colours[i % len(colours)], MARKERS[i // len(colours)])
    return styles


def pareto_front(rows: list[Any]) -> list[Any]:
    """Rows no other row beats on both speed and accuracy (the ones worth naming)."""
    front, best = [], float("-inf")
    for r in sorted(rows, key=lambda r: (r.seconds_per_image, -r.top1)):
        if r.top1 > best:
            front.append(r)
            best = r.top1
    return front


def _figure(rows: list[Any], title: str, *, per_point: bool = False) -> tuple[Any, list[Any]]:
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot's first import
    import matplotlib.pyplot as plt

    plotted = [r for r in rows if r.top1 is not None]
    styles = family_styles(plotted)
    fig, ax = plt.subplots(figsize=(12, 7.5), dpi=100)
    size = 36.0 if len(plotted) <= MAX_LABELLED_POINTS else 14.0
    others = [r for r in plotted if r.family not in styles]
    if others:  # drawn first, faint, so the named families stay visible on top
        ax.scatter(
            [r.seconds_per_image for r in others],
            [r.top1 for r in others],
            s=size,
            color=(0.6, 0.6, 0.6),
            alpha=0.4,
            edgecolors="none",
            label=f"other families ({len(others)})",
        )
    for family, (colour, marker) in styles.items():
        members = [r for r in plotted if r.family == family]
        ax.scatter(
            [r.seconds_per_image for r in members],
            [r.top1 for r in members],
            s=size,
            color=colour,
            marker=marker,
            alpha=0.85,
            edgecolors="none",
            label=f"{family} ({len(members)})",
        )
    if per_point:  # invisible hit targets, one per point, each with an id the HTML can title
        for i, r in enumerate(plotted):
            ax.plot([r.seconds_per_image], [r.top1], "o", markersize=6, alpha=0.0, gid=f"pt-{i}")
    ax.set_xscale("log")
    ax.set_xlabel("seconds per image (log scale; left is faster)")
    ax.set_ylabel("ImageNet top-1 accuracy (%)")
    missing = len(rows) - len(plotted)
    note = f"  ({missing} model(s) without published top-1 not plotted)" if missing else ""
    ax.set_title(title + note, fontsize=11)
    ax.grid(True, which="both", alpha=0.3)
    if styles or others:
        ncol = 1 if len(styles) <= 30 else 2
        ax.legend(
            loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6.5, frameon=False, ncol=ncol
        )
    fig.tight_layout()
    named = plotted if len(plotted) <= MAX_LABELLED_POINTS else pareto_front(plotted)
    labels = place_labels(fig, ax, named)
    return fig, labels


def place_labels(fig: Any, ax: Any, rows: list[Any]) -> list[Any]:
    """Annotate `rows` (most accurate first) where the text overlaps no other label and stays
    inside the axes; a label that fits nowhere is left out. Returns the annotations placed."""
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    placed: list[Any] = []
    boxes: list[Any] = []
    for r in sorted(rows, key=lambda r: -r.top1):
        for dx, dy in OFFSETS:
            text = ax.annotate(
                r.model,
                (r.seconds_per_image, r.top1),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=7,
                ha="left" if dx >= 0 else "right",
            )
            box = text.get_window_extent(renderer).expanded(1.05, 1.1)
            fits = (
                box.x0 >= inside.x0
                and box.x1 <= inside.x1
                and box.y0 >= inside.y0
                and box.y1 <= inside.y1
                and not any(box.overlaps(other) for other in boxes)
            )
            if fits:
                placed.append(text)
                boxes.append(box)
                break
            text.remove()
    return placed


def write_chart(rows: list[Any], out: Path, title: str) -> Path:
    """Write the chart to `out`; the suffix picks the format (.png, .svg or .html)."""
    import matplotlib.pyplot as plt

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise BadInputError(f"--out {out}: use a file name ending in {', '.join(FORMATS)}")
    fig, _ = _figure(rows, title, per_point=suffix == ".html")
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


def hover_text(r: Any) -> str:
    """What the HTML chart shows when the pointer rests on a point."""
    params = "" if r.param_count_m is None else f", {r.param_count_m:g} M params"
    return (
        f"{r.model} ({r.family}) at {r.img_size} px: top-1 {r.top1:.2f}%, "
        f"{r.seconds_per_image:.3g} s/image ({r.images_per_second:,.0f}/s){params}"
    )


def _add_titles(svg: str, rows: list[Any]) -> str:
    plotted = [r for r in rows if r.top1 is not None]

    def titled(match: re.Match[str]) -> str:
        r = plotted[int(match.group(1))]
        return f"{match.group(0)}<title>{html.escape(hover_text(r))}</title>"

    return re.sub(r'<g id="pt-(\d+)">', titled, svg)


def _html_page(title: str, svg: str, rows: list[Any]) -> str:
    svg = _add_titles(svg[svg.index("<svg") :], rows)  # inline SVG needs no prolog or DOCTYPE
    header = ("model", "family", "px", "seconds/image", "images/s", "top-1 %", "params (M)")
    body = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(cell))}</td>"
            for cell in (
                r.model,
                r.family,
                r.img_size,
                f"{r.seconds_per_image:.3g}",
                f"{r.images_per_second:,.1f}",
                "" if r.top1 is None else f"{r.top1:.2f}",
                "" if r.param_count_m is None else f"{r.param_count_m:g}",
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
g[id^="pt-"] path {{ cursor: pointer; }}
g[id^="pt-"]:hover path {{ fill-opacity: 1 !important; stroke: black !important; stroke-opacity: 1 !important; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>Rest the pointer on a point to see its model, tag, image size, accuracy and speed.</p>
{svg}
<table><thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody></table>
</body></html>
"""
