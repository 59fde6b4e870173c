"""Pet images as timm-ready tensors: the seeded split, preprocessing, datasets and loaders.

Finding and labelling the images is `xl_lesson3.pets.layouts`; opening them safely is
`xl_lesson3.pets.images`. Here the found images become a train/valid split (the layout's own split
when it gives one) and DataLoaders whose shuffling and augmentation depend only on the seed, the
rank and the epoch, so two runs with the same ``--seed`` see the same batches.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xl_lesson3.pets.errors import PetsDataError
from xl_lesson3.pets.images import load_rgb
from xl_lesson3.pets.layouts import ImageSet

MIN_SIZE = 16
MAX_SIZE = 1024  # the largest timm models take 448-896 px; more only costs memory


def check_size(size: int, where: str = "--size") -> int:
    """`size` if it is a usable square image size in pixels, else one clear line."""
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise PetsDataError(f"{where}: {size!r} px is not between {MIN_SIZE} and {MAX_SIZE}")
    return size


def dataset_split(images: ImageSet, valid_pct: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, valid) indices: the layout's own split if it has one, else a seeded random one."""
    if not images.has_split:
        return split_indices(len(images), valid_pct, seed)
    train = [i for i, split in enumerate(images.splits) if split == "train"]
    valid = [i for i, split in enumerate(images.splits) if split == "valid"]
    if not train or not valid:
        raise PetsDataError(
            f"--data {images.root}: the train/ and valid/ folders need readable images in "
            f"category folders (found {len(train)} train, {len(valid)} valid)"
        )
    return train, valid


def split_indices(n_items: int, valid_pct: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded random split into (train, valid) indices; both sides keep at least one item."""
    if not 0.0 < valid_pct < 1.0:
        raise PetsDataError(f"--valid-pct: {valid_pct} is not between 0 and 1 (exclusive)")
    if n_items < 2:
        raise PetsDataError(f"--data: {n_items} image(s) cannot be split into train and valid")
    order = list(range(n_items))
    random.Random(seed).shuffle(order)
    n_valid = min(max(1, round(n_items * valid_pct)), n_items - 1)
    return sorted(order[n_valid:]), sorted(order[:n_valid])


@dataclass(frozen=True)
class ImageConfig:
    """How images become model input: square `size` px, normalisation, eval resize/crop."""

    size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: str = "bicubic"
    crop_pct: float = 0.875
    augment: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_model(cls, model: Any, size: int | None = None) -> ImageConfig:
        """timm's data config for `model` (mean, std, interpolation, crop_pct) at `size` px."""
        from timm.data import resolve_model_data_config

        cfg = resolve_model_data_config(model)
        return cls(
            size=int(size or cfg["input_size"][-1]),
            mean=tuple(float(v) for v in cfg["mean"]),
            std=tuple(float(v) for v in cfg["std"]),
            interpolation=str(cfg.get("interpolation") or "bicubic"),
            crop_pct=float(cfg.get("crop_pct") or 0.875),
        )

    def to_json(self) -> dict[str, Any]:
        """The fields config.json stores (augmentation is a training detail, left out)."""
        return {
            "image_size": self.size,
            "mean": list(self.mean),
            "std": list(self.std),
            "interpolation": self.interpolation,
            "crop_pct": self.crop_pct,
        }

    @classmethod
    def from_json(cls, cfg: dict[str, Any]) -> ImageConfig:
        """Inverse of `to_json`."""
        return cls(
            size=int(cfg["image_size"]),
            mean=tuple(float(v) for v in cfg["mean"]),
            std=tuple(float(v) for v in cfg["std"]),
            interpolation=str(cfg.get("interpolation", "bicubic")),
            crop_pct=float(cfg.get("crop_pct", 0.875)),
        )

    def eval_transform(self) -> Any:
        """timm's eval transform: resize to size/crop_pct, centre crop, tensor, normalise."""
        from timm.data import create_transform

        return create_transform(
            input_size=(3, self.size, self.size),
            is_training=False,
            interpolation=self.interpolation,
            mean=self.mean,
            std=self.std,
            crop_pct=self.crop_pct,
        )

    def train_transform(self) -> Any:
        """timm's training transform: random resized crop, flip, colour jitter, normalise.

        The crop keeps at least 35% of the image (timm's ImageNet default is 8%, too harsh for a
        short fine-tune; fast.ai's `aug_transforms` keep 75%).
        """
        from timm.data import create_transform

        options = {"scale": (0.35, 1.0), "hflip": 0.5, "color_jitter": 0.2, **self.augment}
        return create_transform(
            input_size=(3, self.size, self.size),
            is_training=True,
            interpolation=self.interpolation,
            mean=self.mean,
            std=self.std,
            **options,
        )


class ImageDataset:
    """A map-style dataset of (image tensor (3, size, size), label) pairs.

    A plain class (DataLoader needs only ``__len__`` and ``__getitem__``), defined at module level
    so worker processes can unpickle it under the ``spawn`` start method too.
    """

    def __init__(self, paths: Sequence[Path], labels: Sequence[int], transform: Any) -> None:
        self.paths = list(paths)
        self.labels = list(labels)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        return self.transform(load_rgb(self.paths[i])), self.labels[i]


def make_loaders(
    images: ImageSet,
    train_idx: Sequence[int],
    valid_idx: Sequence[int],
    image_config: ImageConfig,
    *,
    batch_size: int,
    workers: int,
    pin_memory: bool = False,
    rank: int = 0,
    world_size: int = 1,
    seed: int = 0,
) -> tuple[Any, Any]:
    """Train and valid DataLoaders; under DDP each rank gets its shard of both.

    Training shuffles (a DistributedSampler under DDP; both reseeded each epoch by the learner) and
    drops a last partial batch when there is more than one. Validation is split rank by rank
    without padding, so summing over ranks counts every valid image exactly once.
    """
    import torch
    from torch.utils.data import DataLoader, DistributedSampler

    train_set = ImageDataset(
        [images.paths[i] for i in train_idx],
        [images.labels[i] for i in train_idx],
        image_config.train_transform(),
    )
    valid_shard = list(valid_idx)[rank::world_size]
    valid_set = ImageDataset(
        [images.paths[i] for i in valid_shard],
        [images.labels[i] for i in valid_shard],
        image_config.eval_transform(),
    )
    common = {
        "batch_size": batch_size,
        "num_workers": workers,
        "pin_memory": pin_memory,
        "persistent_workers": workers > 0,
    }
    per_rank = -(-len(train_set) // world_size)
    if per_rank < 2:
        raise PetsDataError(
            f"--data: {len(train_set)} training image(s) for {world_size} process(es); each "
            "needs at least 2 (BatchNorm cannot train on one image)"
        )
    drop_last = per_rank > batch_size  # fast.ai drops a last partial batch too
    if world_size > 1:
        sampler = DistributedSampler(train_set, world_size, rank, shuffle=True, seed=seed)
        train_loader = DataLoader(train_set, sampler=sampler, drop_last=drop_last, **common)
    else:
        generator = torch.Generator().manual_seed(seed)
        train_loader = DataLoader(
            train_set, shuffle=True, generator=generator, drop_last=drop_last, **common
        )
    valid_loader = DataLoader(valid_set, shuffle=False, **common)
    return train_loader, valid_loader
