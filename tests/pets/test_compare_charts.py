"""`compare --published` joins timm's CSVs on exact name, tag and size; the chart is readable."""

from __future__ import annotations

import csv
import re
from itertools import combinations
from pathlib import Path

import pytest

import xl_lesson3.pets
from xl_lesson3.cli import main

DATA = Path(xl_lesson3.pets.__file__).parent / "data"
BENCHMARK = "infer-amp-nchw-pt291-cu128-4090"


def read_csv(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_convnext_tiny_at_224_px_is_the_csvs_own_row(tmp_path: Path) -> None:
    out = tmp_path / "table.csv"
    assert main(["pets", "compare", "--published", "convnext_tiny", "--csv", str(out)]) == 0
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    at_224 = {r["model"]: float(r["top1"]) for r in rows if r["img_size"] == "224"}
    # What timm's results CSV itself says for convnext_tiny tested at 224 px, tag by tag.
    expected = {
        r["model"]: float(r["top1"])
        for r in read_csv("results-imagenet.csv")
        if r["model"].startswith("convnext_tiny.") and r["img_size"] == "224"
    }
    assert expected and at_224 == pytest.approx(expected)
    assert at_224["convnext_tiny.fb_in1k"] == pytest.approx(82.066)
    # The benchmark's own 224 px speed, not another size's.
    speed = next(
        float(r["infer_samples_per_sec"])
        for r in read_csv(f"benchmark-{BENCHMARK}.csv")
        if r["model"] == "convnext_tiny" and r["infer_img_size"] == "224"
    )
    for r in rows:
        if r["img_size"] == "224":
            assert float(r["images_per_second"]) == pytest.approx(speed)
    # Every (model with tag, size) appears once, with its own top-1.
    results = {
        (r["model"], r["img_size"]): float(r["top1"]) for r in read_csv("results-imagenet.csv")
    }
    assert len({(r["model"], r["img_size"]) for r in rows}) == len(rows)
    for r in rows:
        assert float(r["top1"]) == pytest.approx(results[(r["model"], r["img_size"])])


def test_measured_top1_needs_the_exact_size() -> None:
    from xl_lesson3.pets.compare import top1_of

    assert top1_of("test_convnext", 160) == pytest.approx(47.774)
    assert top1_of("test_convnext.r160_in1k", 160) == pytest.approx(47.774)
    assert top1_of("test_convnext", 64) is None  # timm publishes no 64 px result
    assert top1_of("convnext_tiny.fb_in1k", 288) == pytest.approx(82.694)


def test_every_family_has_its_own_colour_and_marker() -> None:
    from xl_lesson3.pets.charts import family_styles
    from xl_lesson3.pets.compare import published_speeds

    rows = published_speeds(BENCHMARK)
    styles = family_styles(rows)
    assert len(styles) == 72  # 18 colours x 4 markers; smaller families are grey "others"
    assert len(set(styles.values())) == len(styles)


def test_labels_never_overlap() -> None:
    import matplotlib.pyplot as plt

    from xl_lesson3.pets.charts import _figure
    from xl_lesson3.pets.compare import published_speeds

    rows = published_speeds(BENCHMARK, ["convnext_tiny*", "convnext_nano*", "resnet18*"])
    assert len(rows) <= 40  # every point is a candidate for a label
    fig, labels = _figure(rows, "test")
    try:
        renderer = fig.canvas.get_renderer()
        boxes = [label.get_window_extent(renderer) for label in labels]
        assert len(labels) >= 10
        for a, b in combinations(boxes, 2):
            assert not a.overlaps(b)
    finally:
        plt.close(fig)


def test_html_chart_is_offline_with_hover(tmp_path: Path) -> None:
    out = tmp_path / "chart.html"
    assert main(["pets", "compare", "--published", "convnext_*", "--out", str(out)]) == 0
    page = out.read_text()
    with open(tmp_path / "chart.csv", newline="") as handle:
        n_rows = len(list(csv.DictReader(handle)))
    titles = re.findall(r'<g id="pt-\d+">\s*<title>([^<]*)</title>', page)
    assert len(titles) == n_rows  # one hover text per point
    assert any(
        t.startswith("convnext_tiny.fb_in1k (convnext) at 224 px: top-1 82.07%") for t in titles
    )
    assert "<script" not in page
    links = set(re.findall(r'(?:href|src)="(https?://[^"]+)"', page))
    assert not links  # nothing fetched from the network (no CDN)
