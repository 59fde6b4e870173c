"""`pets predict`: what an exported model says about images, as fast.ai's ``learn.predict`` does.

For each image: the predicted category and the probability of every category, in the model's
output order (``dict(zip(categories, probs))`` in the lesson). Folders are expanded to the images
inside them (fast.ai's ``get_preds`` on a test set). Every file's header is checked first (a bad
path fails before any model work), then images are decoded once, batch by batch, so a folder of
thousands holds one batch in memory. ``--tta`` averages augmented copies as fast.ai's ``tta`` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xl_lesson3.pets.data import ImageConfig
from xl_lesson3.pets.errors import ImageError
from xl_lesson3.pets.images import check_image, load_rgb
from xl_lesson3.pets.layouts import IMAGE_SUFFIXES

TTA_BETA = 0.25  # fast.ai: final = lerp(mean of augmented, plain, beta)


@dataclass(frozen=True)
class Prediction:
    """One image's result; `probabilities[i]` belongs to `categories[i]`."""

    image: Path
    categories: tuple[str, ...]
    probabilities: tuple[float, ...]

    @property
    def index(self) -> int:
        """Index of the most probable category."""
        return max(range(len(self.probabilities)), key=self.probabilities.__getitem__)

    @property
    def category(self) -> str:
        """The predicted category."""
        return self.categories[self.index]

    def top(self, k: int | None = None) -> list[tuple[str, float]]:
        """The `k` most probable (category, probability) pairs, most probable first."""
        pairs = sorted(zip(self.categories, self.probabilities), key=lambda cp: -cp[1])
        return pairs[:k] if k else pairs

    def to_json(self, k: int | None = None) -> dict[str, Any]:
        """JSON form: prediction, its probability, the top `k`, and every category in order."""
        return {
            "image": str(self.image),
            "prediction": self.category,
            "probability": self.probabilities[self.index],
            "top": [{"category": c, "probability": p} for c, p in self.top(k)],
            "probabilities": dict(zip(self.categories, self.probabilities)),
        }


def expand_inputs(paths: Sequence[Path]) -> list[Path]:
    """Image files from files and folders (a folder's images, recursively, sorted).

    Each file's header is read (not decoded): missing files, non-images and decompression bombs
    fail here, before any model work.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(
                Path(root) / name
                for root, _, names in os.walk(path)
                for name in names
                if Path(name).suffix.lower() in IMAGE_SUFFIXES and not name.startswith(".")
            )
            if not inside:
                raise ImageError(f"{path}: no image files in this folder")
            found += inside
        else:
            found.append(path)
    for path in found:
        check_image(path)
    return found


class _Images:
    """A dataset of image tensors, each (copies, 3, size, size): the plain view, then TTA views."""

    def __init__(self, paths: Sequence[Path], image_config: ImageConfig, tta: int) -> None:
        self.paths = list(paths)
        self.plain = image_config.eval_transform()
        self.augment = image_config.train_transform() if tta else None
        self.tta = tta

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Any:
        import torch

        image = load_rgb(self.paths[i])
        views = [self.plain(image)]
        views += [self.augment(image) for _ in range(self.tta)] if self.augment else []
        return torch.stack(views)


def predict_images(
    model: Any,
    config: dict[str, Any],
    paths: Sequence[Path],
    *,
    batch_size: int = 32,
    tta: int = 0,
    seed: int = 0,
) -> Iterator[Prediction]:
    """Yield a `Prediction` per image, running `model` (eval mode) one batch at a time.

    With `tta` > 0, each image also goes through `tta` training augmentations (seeded by
    `seed`); the result is fast.ai's ``lerp(mean of augmented, plain, 0.25)``.
    """
    import torch
    from torch.utils.data import DataLoader

    from xl_lesson3.pets.learner import seed_everything

    dataset = _Images(paths, ImageConfig.from_json(config), tta)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    categories = tuple(config["categories"])
    device = next(model.parameters()).device
    model.eval()
    seed_everything(seed)
    start = 0
    with torch.inference_mode():
        for views in loader:  # (batch, copies, 3, size, size)
            n, copies = views.shape[:2]
            flat = views.flatten(0, 1).to(device)
            probs = model(flat).float().softmax(dim=1).reshape(n, copies, -1).cpu()
            if copies > 1:
                probs = torch.lerp(probs[:, 1:].mean(dim=1), probs[:, 0], TTA_BETA)
            else:
                probs = probs[:, 0]  # (batch, n_categories)
            for offset, row in enumerate(probs.tolist()):
                yield Prediction(Path(paths[start + offset]), categories, tuple(row))
            start += n


def predict_dir(
    model_dir: Path,
    paths: Sequence[Path],
    *,
    device: str = "auto",
    batch_size: int = 32,
    tta: int = 0,
) -> Iterator[Prediction]:
    """Load an exported model and yield predictions for `paths` (files or folders)."""
    from xl_lesson3.pets.distributed import resolve_device
    from xl_lesson3.pets.export import load_model, read_config

    read_config(model_dir)  # a broken config.json fails before the images are listed
    images = expand_inputs(paths)
    model, config = load_model(model_dir, resolve_device(device))
    return predict_images(model, config, images, batch_size=batch_size, tta=tta)
