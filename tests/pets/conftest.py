"""Fixtures for the pet tests: a tiny labelled photo set and one model trained on it.

The images are crops and flips of photos scikit-image and scikit-learn ship, named like the
Oxford-IIIT Pet files (``Chelsea_3.jpg``: capitalised is the cat), 4 classes of 16. Training uses
timm's ``test_convnext`` (0.2 M parameters) at 64 px without pretrained weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xl_lesson3.pets.sample import write_sample_images

CLASSES = ("Chelsea", "coffee", "flower", "rocket")  # sorted, as the model orders them
ARCH = "test_convnext"
TRAIN_ARGS = [
    "--arch",
    ARCH,
    "--size",
    "64",
    "--batch-size",
    "16",
    "--workers",
    "0",
    "--device",
    "cpu",
]


@pytest.fixture(scope="session")
def pet_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Pet-style folder: 4 classes x 16 images of 80 px."""
    folder = tmp_path_factory.mktemp("pets") / "images"
    write_sample_images(folder, classes=len(CLASSES), per_class=16, size=80, seed=0)
    return folder


def class_of(path: Path) -> str:
    return path.stem.rsplit("_", 1)[0]


def make_folder_layout(pet_images: Path, dest: Path) -> Path:
    """The same images as one sub-folder per class."""
    for path in sorted(pet_images.glob("*.jpg")):
        (dest / class_of(path)).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / class_of(path) / path.name)
    return dest


def make_oxford_layout(pet_images: Path, dest: Path) -> Path:
    """torchvision's OxfordIIITPet layout: oxford-iiit-pet/images + annotations/*.txt."""
    root = dest / "oxford-iiit-pet"
    shutil.copytree(pet_images, root / "images")
    (root / "annotations").mkdir()
    paths = sorted(pet_images.glob("*.jpg"))
    class_ids = {name: i + 1 for i, name in enumerate(sorted({class_of(p) for p in paths}))}
    lines = [
        f"{p.stem} {class_ids[class_of(p)]} {1 if class_of(p)[0].isupper() else 2} 1" for p in paths
    ]
    (root / "annotations" / "trainval.txt").write_text("\n".join(lines[::2]) + "\n")
    (root / "annotations" / "test.txt").write_text("\n".join(lines[1::2]) + "\n")
    return dest


@pytest.fixture(scope="session")
def trained(pet_images: Path, tmp_path_factory: pytest.TempPathFactory):
    """(TrainResult, model dir): test_convnext fine-tuned 1 + 4 epochs and exported."""
    from xl_lesson3.pets.train import TrainOptions, train

    out = tmp_path_factory.mktemp("model") / "pets-model"
    options = TrainOptions(
        data=pet_images,
        out=out,
        arch=ARCH,
        epochs=4,
        freeze_epochs=1,
        size=64,
        batch_size=16,
        lr=1e-2,
        pretrained=False,
        device="cpu",
        workers=0,
        seed=42,
    )
    return train(options), out


def make_split_layout(pet_images: Path, dest: Path) -> Path:
    """fast.ai's GrandparentSplitter shape: train/<class>/ and valid/<class>/ (every 4th valid)."""
    for path in sorted(pet_images.glob("*.jpg")):
        number = int(path.stem.rsplit("_", 1)[1])
        split = "valid" if number % 4 == 0 else "train"
        folder = dest / split / class_of(path)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
    return dest


def copy_pet_names(pet_images: Path, dest: Path) -> Path:
    """The Pet-style folder itself, copied."""
    shutil.copytree(pet_images, dest / "images")
    return dest / "images"


LAYOUTS = {
    "pet-names": copy_pet_names,
    "folders": make_folder_layout,
    "oxford-pet": make_oxford_layout,
    "split-folders": make_split_layout,
}


def train_argv(data: Path, out: Path, arch: str = ARCH, *extra: str) -> list[str]:
    """`pets train` arguments for a quick CPU run: no pretrained weights, 1 thread, no workers."""
    return [
        "pets",
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--arch",
        arch,
        "--no-pretrained",
        "--batch-size",
        "16",
        "--workers",
        "0",
        "--device",
        "cpu",
        "--threads",
        "1",
        *extra,
    ]
