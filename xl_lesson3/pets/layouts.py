"""Find labelled pet images in a folder: which layout it is, which label each image gets.

Four layouts are understood (checked in this order):

- ``oxford-pet``: torchvision's ``OxfordIIITPet`` layout, ``oxford-iiit-pet/images/*.jpg`` plus
  ``annotations/{trainval,test}.txt`` (lines ``Abyssinian_100 1 1 1``: id, class, species, breed);
- ``split-folders``: ``train/<class>/`` and ``valid/<class>/`` (or ``val/``), the Imagenette and
  MNIST_SAMPLE shape (fast.ai's ``GrandparentSplitter``); the given split is used as is;
- ``pet-names``: a folder of images named like the Oxford-IIIT Pet files, ``great_pyrenees_173.jpg``;
  the label is the name before ``_<number>`` and capitalised names are cats (fast.ai's labelling);
- ``folders``: one sub-folder per category (``cats/``, ``dogs/``), like torchvision's ``ImageFolder``.

Categories are always sorted (fast.ai's ``CategoryMap``), so the same images give the same output
order whatever the layout. Labels that look wrong (a category per split folder, one image per
category) are refused here, before any training. Unreadable images are left out and named.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from xl_lesson3.pets.errors import ImageError, PetsDataError
from xl_lesson3.pets.images import check_image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
PET_NAME = re.compile(r"^(.+)_\d+\.jpe?g$", re.IGNORECASE)
LABELS = ("breed", "species")
TRAIN_NAMES = ("train", "training")
VALID_NAMES = ("valid", "val", "validation")
SPLIT_NAMES = frozenset(TRAIN_NAMES + VALID_NAMES + ("test", "testing"))

# (path, category name, split: "train", "valid" or "" when the layout gives none)
Found = list[tuple[Path, str, str]]


@dataclass(frozen=True)
class ImageSet:
    """Labelled images found under `root`; `labels[i]` indexes `categories` for `paths[i]`.

    `splits[i]` is ``train`` or ``valid`` where the layout gives the split (``split-folders``),
    else empty.
    """

    root: Path
    layout: str
    paths: tuple[Path, ...]
    labels: tuple[int, ...]
    categories: tuple[str, ...]
    splits: tuple[str, ...] = ()
    skipped: tuple[Path, ...] = ()  # unreadable images that were left out
    unlabelled: int = 0  # image files whose name or place gives no label

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def has_split(self) -> bool:
        """True when the layout says which images are for validation."""
        return any(self.splits)

    def counts(self) -> dict[str, int]:
        """Images per category, in category order."""
        counted = Counter(self.labels)
        return {name: counted[i] for i, name in enumerate(self.categories)}


def species_of(breed: str) -> str:
    """Oxford-IIIT Pet convention: capitalised breed names are cats, lower-case ones are dogs."""
    return "cat" if breed[:1].isupper() else "dog"


def scan_images(data_dir: Path, *, label: str = "breed", check: bool = True) -> ImageSet:
    """Find labelled images under `data_dir` in any known layout.

    `label` is ``breed`` (the category) or ``species`` (cat/dog, pet layouts only). With `check`,
    every image's header is read and unreadable ones (or decompression bombs) are left out.
    """
    data_dir = Path(data_dir)
    where = f"--data {data_dir}"
    if label not in LABELS:
        raise PetsDataError(f"--label: {label!r} is not one of {', '.join(LABELS)}")
    if not data_dir.exists():
        raise PetsDataError(f"{where}: no such folder")
    if not data_dir.is_dir():
        raise PetsDataError(f"{where}: not a folder")
    found = (
        _find_oxford_pet(data_dir)
        or _find_split_folders(data_dir)
        or _find_pet_names(data_dir)
        or _find_folders(data_dir)
    )
    if found is None:
        raise PetsDataError(_describe_unlabelled(data_dir))
    layout, root, triples, unlabelled = found
    if label == "species":
        if layout in ("folders", "split-folders"):
            raise PetsDataError(f"{where}: --label species needs Pet-style file names")
        triples = [(path, species_of(name), split) for path, name, split in triples]
    skipped: list[Path] = []
    if check:
        readable = _readable_all([path for path, _, _ in triples])
        skipped = [path for (path, _, _), ok in zip(triples, readable) if not ok]
        triples = [triple for triple, ok in zip(triples, readable) if ok]
    categories = tuple(sorted({name for _, name, _ in triples}))
    check_labels(where, layout, categories, [name for _, name, _ in triples])
    index = {name: i for i, name in enumerate(categories)}
    return ImageSet(
        root=root,
        layout=layout,
        paths=tuple(path for path, _, _ in triples),
        labels=tuple(index[name] for _, name, _ in triples),
        categories=categories,
        splits=tuple(split for _, _, split in triples) if layout == "split-folders" else (),
        skipped=tuple(skipped),
        unlabelled=unlabelled,
    )


def check_labels(where: str, layout: str, categories: Sequence[str], names: Sequence[str]) -> None:
    """Refuse labels that cannot be what the user meant, before any training."""
    if len(categories) < 2:
        raise PetsDataError(
            f"{where}: found {len(names)} readable labelled image(s) in {len(categories)} "
            "category; training needs at least 2 categories"
        )
    split_like = sorted(c for c in categories if c.lower() in SPLIT_NAMES)
    if split_like:
        raise PetsDataError(
            f"{where}: categories {', '.join(split_like)} look like split folders, not labels "
            f"({layout} layout); put images in train/<category>/ and valid/<category>/"
        )
    singles = sum(1 for n in Counter(names).values() if n == 1)
    if singles * 2 > len(categories):
        raise PetsDataError(
            f"{where}: {singles} of {len(categories)} categories have a single image "
            f"({layout} layout): the labels found look wrong (file names or folders that are not "
            "categories?)"
        )


def image_files(folder: Path) -> list[Path]:
    """Image files directly in `folder` (not hidden), sorted."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def _find_oxford_pet(data_dir: Path) -> tuple[str, Path, Found, int] | None:
    for root in (data_dir, data_dir / "oxford-iiit-pet"):
        lists = [root / "annotations" / f"{part}.txt" for part in ("trainval", "test")]
        lists = [p for p in lists if p.is_file()]
        if not lists or not (root / "images").is_dir():
            continue
        triples: Found = []
        missing = 0
        for list_path in lists:
            for line in list_path.read_text(encoding="utf-8").splitlines():
                if not line.strip() or line.startswith("#"):
                    continue
                image_id = line.split()[0]
                path = root / "images" / f"{image_id}.jpg"
                if path.is_file():
                    triples.append((path, image_id.rsplit("_", 1)[0], ""))
                else:
                    missing += 1
        listed = {p for p, _, _ in triples}
        unlabelled = sum(1 for p in image_files(root / "images") if p not in listed)
        return "oxford-pet", root, triples, unlabelled + missing
    return None


def _find_split_folders(data_dir: Path) -> tuple[str, Path, Found, int] | None:
    children = {p.name.lower(): p for p in data_dir.iterdir() if p.is_dir()}
    train = next((children[n] for n in TRAIN_NAMES if n in children), None)
    valid = next((children[n] for n in VALID_NAMES if n in children), None)
    if train is None or valid is None:
        return None
    triples: Found = []
    loose = 0
    for split, folder in (("train", train), ("valid", valid)):
        loose += len(image_files(folder))  # images beside the class folders have no label
        triples += [(path, name, split) for path, name in _walk_class_folders(folder)]
    if not triples:
        return None
    return "split-folders", data_dir, triples, loose


def _find_pet_names(data_dir: Path) -> tuple[str, Path, Found, int] | None:
    for root in (data_dir, data_dir / "images"):
        if not root.is_dir():
            continue
        files = image_files(root)
        triples = [(p, m.group(1), "") for p in files if (m := PET_NAME.match(p.name))]
        if triples:
            return "pet-names", root, triples, len(files) - len(triples)
    return None


def _walk_class_folders(data_dir: Path) -> list[tuple[Path, str]]:
    pairs: list[tuple[Path, str]] = []
    for folder in sorted(
        p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
    ):
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if Path(name).suffix.lower() in IMAGE_SUFFIXES and not name.startswith("."):
                    pairs.append((Path(dirpath) / name, folder.name))
    return pairs


def _find_folders(data_dir: Path) -> tuple[str, Path, Found, int] | None:
    pairs = _walk_class_folders(data_dir)
    if not pairs:
        return None
    triples = [(path, name, "") for path, name in pairs]
    return "folders", data_dir, triples, len(image_files(data_dir))


def _describe_unlabelled(data_dir: Path) -> str:
    n_images = len(image_files(data_dir))
    if n_images == 0:
        return (
            f"--data {data_dir}: no images found (expected Pet-style names like "
            "Abyssinian_12.jpg, an oxford-iiit-pet folder, train/ + valid/ class folders, or one "
            "sub-folder per category)"
        )
    return (
        f"--data {data_dir}: {n_images} image(s) but no labels: names do not look like "
        "BREED_123.jpg and there are no category sub-folders"
    )


def _readable(path: Path) -> bool:
    try:
        check_image(path, decode=True)
    except ImageError:
        return False
    return True


def _readable_all(paths: Sequence[Path]) -> list[bool]:
    # Pillow releases the GIL while decoding, so threads check a 7,000-image folder in seconds.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(pool.map(_readable, paths))
