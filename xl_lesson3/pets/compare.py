"""`pets compare`: which image model to pick, speed against accuracy (the lesson's chart).

Measured mode times inference here for the models given (random weights: speed does not depend on
the values) and pairs each with its ImageNet top-1 from timm's published results. ``--published``
mode plots timm's own benchmark CSVs for every model instead, coloured by family. Both write a
chart (`xl_lesson3.pets.charts`) and an Excel-friendly CSV with one row per model.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from xl_lesson3.errors import BadInputError

DEFAULT_BENCHMARK = "infer-amp-nchw-pt291-cu128-4090"
# Like Jeremy's family rule in "Which image models are best?": the leading letters of the name,
# keeping a version suffix ("v2", "v3") and dropping timm's "tf_" port prefix, e.g.
# convnext_tiny -> convnext, resnet50d -> resnet, mobilenetv3_large_100 -> mobilenetv3.
FAMILY = re.compile(r"^([a-z]+?v\d+|[a-z]+)")


@dataclass(frozen=True)
class ModelSpeed:
    """One model's row: speed (seconds per image), ImageNet top-1 (None if unpublished), size."""

    model: str
    family: str
    seconds_per_image: float
    images_per_second: float
    top1: float | None
    param_count_m: float | None
    img_size: int
    batch_size: int
    device: str
    source: str  # "measured here" or the benchmark CSV's name

    def to_row(self) -> dict[str, Any]:
        """The CSV row (column order is the field order)."""
        return asdict(self)


def family_of(name: str) -> str:
    """A model's family for colouring: ``convnext_tiny.fb_in22k`` -> ``convnext``."""
    base = name.lower().removeprefix("tf_")
    match = FAMILY.match(base)
    return match.group(1) if match else base.split("_")[0]


def _read_csv(filename: str) -> list[dict[str, str]]:
    text = resources.files("xl_lesson3.pets").joinpath("data", filename).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def benchmark_names() -> list[str]:
    """The published benchmark tables shipped with the package (``infer-amp-nchw-...``)."""
    folder = resources.files("xl_lesson3.pets").joinpath("data")
    return sorted(
        entry.name.removeprefix("benchmark-").removesuffix(".csv")
        for entry in folder.iterdir()
        if entry.name.startswith("benchmark-")
    )


@lru_cache(maxsize=1)
def published_results() -> dict[tuple[str, int], dict[str, float]]:
    """timm's ImageNet results: (architecture, test size) -> {full name with tag: top-1}."""
    table: dict[tuple[str, int], dict[str, float]] = {}
    for row in _read_csv("results-imagenet.csv"):
        arch = row["model"].split(".")[0]
        table.setdefault((arch, int(row["img_size"])), {})[row["model"]] = float(row["top1"])
    return table


def default_tag_name(name: str) -> str:
    """`name` with timm's default pretrained tag when it has none: convnext_tiny ->
    convnext_tiny.in12k_ft_in1k (what ``timm.create_model(name, pretrained=True)`` loads)."""
    if "." in name:
        return name
    from timm.models import get_arch_pretrained_cfgs

    tags = list(get_arch_pretrained_cfgs(name))
    return tags[0] if tags else name


def top1_of(name: str, img_size: int) -> float | None:
    """ImageNet top-1 of exactly this model, tag and test size (None if timm publishes none).

    An untagged name means timm's default tag. No other tag or size stands in for it.
    """
    full = default_tag_name(name)
    return published_results().get((full.split(".")[0], int(img_size)), {}).get(full)


def expand_names(patterns: list[str]) -> list[str]:
    """Model names from names and globs (``'convnext_*'``), in order, without repeats."""
    import timm

    from xl_lesson3.pets.model import check_arch

    names: list[str] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            found = timm.list_models(pattern)
            if not found:
                raise BadInputError(f"compare: no timm model matches {pattern!r}")
            names += found
        else:
            names.append(check_arch(pattern, where="compare"))
    return list(dict.fromkeys(names))


def time_model(
    name: str,
    *,
    device: Any,
    batch_size: int = 16,
    size: int | None = None,
    repeats: int = 5,
    warmup: int = 2,
) -> ModelSpeed:
    """Seconds per image of inference with random weights (mixed precision on CUDA)."""
    import timm
    import torch

    model = timm.create_model(name, pretrained=False).eval().to(device)
    cfg = model.pretrained_cfg
    img_size = int(cfg["input_size"][-1]) if size is None or cfg.get("fixed_input_size") else size
    images = torch.randn(batch_size, 3, img_size, img_size, device=device)
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda)
    with torch.inference_mode(), amp:
        for _ in range(warmup):
            model(images)
        if cuda:
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            model(images)
        if cuda:
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - start
    seconds = elapsed / (repeats * batch_size)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return ModelSpeed(
        model=name,
        family=family_of(name),
        seconds_per_image=seconds,
        images_per_second=1 / seconds,
        top1=top1_of(name, img_size),
        param_count_m=round(params, 3),
        img_size=img_size,
        batch_size=batch_size,
        device=str(device),
        source="measured here",
    )


def compare_models(
    patterns: list[str],
    *,
    device: Any,
    batch_size: int = 16,
    size: int | None = None,
    repeats: int = 5,
    on_model: Any = None,
) -> list[ModelSpeed]:
    """Time every model the names and globs select; `on_model(i, n, name)` reports progress."""
    names = expand_names(patterns)
    rows = []
    for i, name in enumerate(names):
        if on_model is not None:
            on_model(i, len(names), name)
        rows.append(
            time_model(name, device=device, batch_size=batch_size, size=size, repeats=repeats)
        )
    return rows


def published_speeds(
    benchmark: str = DEFAULT_BENCHMARK, patterns: Sequence[str] = ()
) -> list[ModelSpeed]:
    """Rows of a shipped timm benchmark CSV joined to timm's ImageNet results.

    A benchmark row times an architecture at one image size; each published result of that
    architecture at that same size (one per weight tag) becomes one row, named with its tag. A
    benchmark row without such a result is left out: no other size or tag stands in for it.
    `patterns` are globs matched against the architecture or the tagged name.
    """
    if benchmark not in benchmark_names():
        raise BadInputError(
            f"--benchmark: {benchmark!r} is not shipped (have: {', '.join(benchmark_names())})"
        )
    results = published_results()
    rows = []
    for row in _read_csv(f"benchmark-{benchmark}.csv"):
        arch = row["model"]
        speed_key = next(k for k in row if k.endswith("_samples_per_sec"))
        size_key = next(k for k in row if k.endswith("img_size"))
        batch_key = next(k for k in row if k.endswith("batch_size"))
        if not row[speed_key] or not row[size_key]:
            continue
        size = int(row[size_key])
        per_second = float(row[speed_key])
        for full, top1 in sorted(results.get((arch, size), {}).items()):
            if patterns and not any(
                fnmatch.fnmatchcase(arch, p) or fnmatch.fnmatchcase(full, p) for p in patterns
            ):
                continue
            rows.append(
                ModelSpeed(
                    model=full,
                    family=family_of(arch),
                    seconds_per_image=1 / per_second,
                    images_per_second=per_second,
                    top1=top1,
                    param_count_m=float(row["param_count"]) if row.get("param_count") else None,
                    img_size=size,
                    batch_size=int(row[batch_key]),
                    device=benchmark,
                    source=f"timm benchmark-{benchmark}.csv + results-imagenet.csv",
                )
            )
    if not rows:
        raise BadInputError(f"compare --published: no model of {benchmark} matches {patterns}")
    return rows


def write_csv(rows: list[ModelSpeed], path: Any) -> None:
    """One row per model; plain comma-separated UTF-8 with a header, which Excel opens as is."""
    fields = list(ModelSpeed.__dataclass_fields__)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.to_row().items()})
