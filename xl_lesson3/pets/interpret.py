"""`pets interpret`: fast.ai's ``ClassificationInterpretation`` for an exported model.

The exact validation images of the training run are rebuilt from config.json (the stored list of
validation files, or the stored seed and split), run through the model batch by batch, and
summarised: the confusion matrix (PNG + CSV), the most-confused pairs and a grid of the images
with the highest loss.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xl_lesson3.pets.data import dataset_split
from xl_lesson3.pets.errors import ModelDirError, PetsDataError
from xl_lesson3.pets.layouts import scan_images


@dataclass(frozen=True)
class TopLoss:
    """One validation image with its loss; `probability` is that of the predicted category."""

    path: Path
    actual: str
    predicted: str
    loss: float
    probability: float


@dataclass(frozen=True)
class Interpretation:
    """Confusion matrix (rows actual, columns predicted), most-confused pairs, top losses."""

    categories: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    top_losses: tuple[TopLoss, ...]
    valid_loss: float
    error_rate: float

    def most_confused(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """(actual, predicted, count) off the diagonal, most frequent first."""
        pairs = [
            (self.categories[a], self.categories[p], count)
            for a, row in enumerate(self.confusion)
            for p, count in enumerate(row)
            if a != p and count >= min_count
        ]
        return sorted(pairs, key=lambda t: (-t[2], t[0], t[1]))


def valid_paths(config: dict[str, Any], data_dir: Path) -> tuple[list[Path], list[int]]:
    """The validation images of the run that made `config`, and their labels (model order)."""
    training = config.get("training")
    if not isinstance(training, dict):
        raise ModelDirError("config.json: no training record (was it written by `pets train`?)")
    images = scan_images(Path(data_dir), label=str(config.get("label", "breed")))
    categories = list(config["categories"])
    if list(images.categories) != categories:
        raise PetsDataError(
            f"--data {data_dir}: categories differ from the model's "
            f"({len(images.categories)} found, {len(categories)} in config.json)"
        )
    stored = training.get("valid_images")
    if isinstance(stored, list):
        index = {p.relative_to(images.root).as_posix(): i for i, p in enumerate(images.paths)}
        missing = [name for name in stored if name not in index]
        if missing:
            raise PetsDataError(
                f"--data {data_dir}: {len(missing)} validation image(s) of the training run are "
                f"missing, e.g. {missing[0]}"
            )
        chosen = [index[name] for name in stored]
    else:
        _, chosen = dataset_split(
            images, float(training.get("valid_pct", 0.2)), int(training.get("seed", 42))
        )
    return [images.paths[i] for i in chosen], [images.labels[i] for i in chosen]


def interpret(
    model: Any,
    config: dict[str, Any],
    paths: list[Path],
    labels: list[int],
    *,
    batch_size: int = 32,
    k: int = 9,
) -> Interpretation:
    """Run `model` over the validation images and summarise where it goes wrong."""
    import torch
    from torch.nn import functional

    from xl_lesson3.pets.predict import predict_images

    n = len(config["categories"])
    confusion = [[0] * n for _ in range(n)]
    scored: list[TopLoss] = []
    categories = tuple(config["categories"])
    for prediction, actual in zip(
        predict_images(model, config, paths, batch_size=batch_size), labels
    ):
        probs = torch.tensor(prediction.probabilities)
        loss = float(
            functional.nll_loss(probs.clamp_min(1e-12).log()[None], torch.tensor([actual]))
        )
        confusion[actual][prediction.index] += 1
        scored.append(
            TopLoss(
                prediction.image,
                categories[actual],
                prediction.category,
                loss,
                prediction.probabilities[prediction.index],
            )
        )
    total = max(1, len(scored))
    wrong = sum(1 for s in scored if s.actual != s.predicted)
    return Interpretation(
        categories=categories,
        confusion=tuple(tuple(row) for row in confusion),
        top_losses=tuple(sorted(scored, key=lambda s: -s.loss)[:k]),
        valid_loss=sum(s.loss for s in scored) / total if scored else math.nan,
        error_rate=wrong / total,
    )


def write_reports(result: Interpretation, out_dir: Path) -> list[Path]:
    """confusion_matrix.csv/.png, most_confused.csv and top_losses.png in `out_dir`."""
    from xl_lesson3.pets.views import plot_confusion, plot_image_grid

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    matrix_csv = out_dir / "confusion_matrix.csv"
    with open(matrix_csv, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["actual \\ predicted", *result.categories])
        for name, row in zip(result.categories, result.confusion):
            writer.writerow([name, *row])
    pairs_csv = out_dir / "most_confused.csv"
    with open(pairs_csv, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["actual", "predicted", "count"])
        writer.writerows(result.most_confused())
    matrix_png = plot_confusion(
        result.categories, result.confusion, out_dir / "confusion_matrix.png"
    )
    titles = [
        f"{t.predicted}/{t.actual}\nloss {t.loss:.2f}, p {t.probability:.2f}"
        for t in result.top_losses
    ]
    grid = plot_image_grid(
        [t.path for t in result.top_losses],
        titles,
        out_dir / "top_losses.png",
        "Top losses: predicted/actual, loss, probability",
    )
    return [matrix_csv, matrix_png, pairs_csv, grid]
