"""`pets predict`: what an exported model says about images, as fast.ai's ``learn.predict`` does.

For each image: the predicted category and the probability of every category, in the model's
output order (``dict(zip(categories, probs))`` in the lesson).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xl_lesson3.pets.data import ImageConfig, load_rgb
from xl_lesson3.pets.errors import ImageError


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


def read_images(paths: Sequence[Path]) -> list[Any]:
    """Open every image as RGB first, so a bad path fails before any model work."""
    images = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ImageError(f"{path}: no such image file")
        try:
            images.append(load_rgb(path))
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageError(f"{path}: cannot read this image ({exc})") from exc
    return images


def predict_images(
    model: Any,
    config: dict[str, Any],
    paths: Sequence[Path],
    *,
    batch_size: int = 32,
) -> list[Prediction]:
    """Run `model` (eval mode) on images with the eval transform `config` describes."""
    import torch

    transform = ImageConfig.from_json(config).eval_transform()
    categories = tuple(config["categories"])
    device = next(model.parameters()).device
    images = read_images(paths)
    results: list[Prediction] = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            batch = torch.stack([transform(im) for im in images[start : start + batch_size]])
            probs = model(batch.to(device)).float().softmax(dim=1).cpu()  # (batch, n_categories)
            for offset, row in enumerate(probs.tolist()):
                results.append(Prediction(Path(paths[start + offset]), categories, tuple(row)))
    return results


def predict_dir(
    model_dir: Path, paths: Sequence[Path], *, device: str = "auto"
) -> list[Prediction]:
    """Load an exported model and predict `paths` with it."""
    from xl_lesson3.pets.distributed import resolve_device
    from xl_lesson3.pets.export import load_model

    read_images(paths)  # fail on a bad image before loading the model
    model, config = load_model(model_dir, resolve_device(device))
    return predict_images(model, config, paths)
