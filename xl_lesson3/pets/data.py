"""Labelled pet images: find them in a folder, split them, load them as timm-ready tensors.

Three layouts are understood (checked in this order):

- ``oxford-pet``: torchvision's ``OxfordIIITPet`` layout, ``oxford-iiit-pet/images/*.jpg`` plus
  ``annotations/{trainval,test}.txt`` (lines ``Abyssinian_100 1 1 1``: id, class, species, breed);
- ``pet-names``: a folder of images named like the Oxford-IIIT Pet files, ``great_pyrenees_173.jpg``;
  the label is the name before ``_<number>`` and capitalised names are cats (fast.ai's labelling);
- ``folders``: one sub-folder per category (``cats/``, ``dogs/``), like torchvision's ``ImageFolder``.

Categories are always sorted (fast.ai's ``CategoryMap``), so the same images give the same output
order whatever the layout. Unreadable images are left out and counted, never a crash mid-epoch.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xl_lesson3.pets.errors import PetsDataError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
PET_NAME = re.compile(r"^(.+)_\d+\.jpe?g$", re.IGNORECASE)
LABELS = ("breed", "species")


@dataclass(frozen=True)
class ImageSet:
    """Labelled images found under `root`; `labels[i]` indexes `categories` for `paths[i]`."""

    root: Path
    layout: str
    paths: tuple[Path, ...]
    labels: tuple[int, ...]
    categories: tuple[str, ...]
    skipped: tuple[Path, ...] = ()  # unreadable images that were left out
    unlabelled: int = 0  # image files whose name or place gives no label

    def __len__(self) -> int:
        return len(self.paths)


def species_of(breed: str) -> str:
    """Oxford-IIIT Pet convention: capitalised breed names are cats, lower-case ones are dogs."""
    return "cat" if breed[:1].isupper() else "dog"


def scan_images(data_dir: Path, *, label: str = "breed", check: bool = True) -> ImageSet:
    """Find labelled images under `data_dir` in any known layout.

    `label` is ``breed`` (the category) or ``species`` (cat/dog, pet layouts only). With `check`,
    every image is decoded once (at reduced size) and unreadable ones are left out.
    """
    data_dir = Path(data_dir)
    where = f"--data {data_dir}"
    if label not in LABELS:
        raise PetsDataError(f"--label: {label!r} is not one of {', '.join(LABELS)}")
    if not data_dir.exists():
        raise PetsDataError(f"{where}: no such folder")
    if not data_dir.is_dir():
        raise PetsDataError(f"{where}: not a folder")
    found = _find_oxford_pet(data_dir) or _find_pet_names(data_dir) or _find_folders(data_dir)
    if found is None:
        raise PetsDataError(_describe_unlabelled(data_dir))
    layout, root, pairs, unlabelled = found
    if label == "species":
        if layout == "folders":
            raise PetsDataError(f"{where}: --label species needs Pet-style file names")
        pairs = [(path, species_of(name)) for path, name in pairs]
    skipped: list[Path] = []
    if check:
        readable = _readable_all([path for path, _ in pairs])
        skipped = [path for (path, _), ok in zip(pairs, readable) if not ok]
        pairs = [pair for pair, ok in zip(pairs, readable) if ok]
    categories = tuple(sorted({name for _, name in pairs}))
    if len(categories) < 2:
        raise PetsDataError(
            f"{where}: found {len(pairs)} readable labelled image(s) in {len(categories)} "
            "category; training needs at least 2 categories"
        )
    index = {name: i for i, name in enumerate(categories)}
    return ImageSet(
        root=root,
        layout=layout,
        paths=tuple(path for path, _ in pairs),
        labels=tuple(index[name] for _, name in pairs),
        categories=categories,
        skipped=tuple(skipped),
        unlabelled=unlabelled,
    )


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def _find_oxford_pet(data_dir: Path) -> tuple[str, Path, list[tuple[Path, str]], int] | None:
    for root in (data_dir, data_dir / "oxford-iiit-pet"):
        lists = [root / "annotations" / f"{part}.txt" for part in ("trainval", "test")]
        lists = [p for p in lists if p.is_file()]
        if not lists or not (root / "images").is_dir():
            continue
        pairs: list[tuple[Path, str]] = []
        missing = 0
        for list_path in lists:
            for line in list_path.read_text(encoding="utf-8").splitlines():
                if not line.strip() or line.startswith("#"):
                    continue
                image_id = line.split()[0]
                path = root / "images" / f"{image_id}.jpg"
                if path.is_file():
                    pairs.append((path, image_id.rsplit("_", 1)[0]))
                else:
                    missing += 1
        listed = {p for p, _ in pairs}
        unlabelled = sum(1 for p in _image_files(root / "images") if p not in listed)
        return "oxford-pet", root, pairs, unlabelled + missing
    return None


def _find_pet_names(data_dir: Path) -> tuple[str, Path, list[tuple[Path, str]], int] | None:
    for root in (data_dir, data_dir / "images"):
        if not root.is_dir():
            continue
        files = _image_files(root)
        pairs = [(p, m.group(1)) for p in files if (m := PET_NAME.match(p.name))]
        if pairs:
            return "pet-names", root, pairs, len(files) - len(pairs)
    return None


def _find_folders(data_dir: Path) -> tuple[str, Path, list[tuple[Path, str]], int] | None:
    pairs: list[tuple[Path, str]] = []
    for folder in sorted(
        p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
    ):
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if Path(name).suffix.lower() in IMAGE_SUFFIXES and not name.startswith("."):
                    pairs.append((Path(dirpath) / name, folder.name))
    if not pairs:
        return None
    return "folders", data_dir, pairs, len(_image_files(data_dir))


def _describe_unlabelled(data_dir: Path) -> str:
    n_images = len(_image_files(data_dir))
    if n_images == 0:
        return (
            f"--data {data_dir}: no images found (expected Pet-style names like "
            "Abyssinian_12.jpg, an oxford-iiit-pet folder, or one sub-folder per category)"
        )
    return (
        f"--data {data_dir}: {n_images} image(s) but no labels: names do not look like "
        "BREED_123.jpg and there are no category sub-folders"
    )


def _readable(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.draft("RGB", (64, 64))  # JPEG: decode at 1/8 scale, still reads every byte
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    return True


def _readable_all(paths: Sequence[Path]) -> list[bool]:
    # Pillow releases the GIL while decoding, so threads check a 7,000-image folder in seconds.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(pool.map(_readable, paths))


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


def load_rgb(path: Path) -> Any:
    """Open an image as an RGB PIL image (CMYK, palette and grey files are converted)."""
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


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

    Training shuffles (a DistributedSampler under DDP) and drops a last partial batch when there is
    more than one batch (BatchNorm cannot train on a batch of one). Validation is split rank by rank
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
    drop_last = per_rank > batch_size
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
