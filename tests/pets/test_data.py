"""Finding and labelling images in the three layouts, the seeded split, unreadable files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.pets.conftest import CLASSES, make_folder_layout, make_oxford_layout
from xl_lesson3.cli import main
from xl_lesson3.errors import BadInputError
from xl_lesson3.pets.data import split_indices
from xl_lesson3.pets.errors import PetsDataError
from xl_lesson3.pets.layouts import scan_images


def test_pet_names_layout(pet_images: Path) -> None:
    images = scan_images(pet_images)
    assert images.layout == "pet-names"
    assert images.categories == CLASSES
    assert len(images) == 64
    for path, label in zip(images.paths, images.labels):
        assert path.name.startswith(images.categories[label] + "_")


def test_parent_of_images_folder_is_found(pet_images: Path) -> None:
    assert scan_images(pet_images.parent).root == pet_images


def test_species_labels_from_capitals(pet_images: Path) -> None:
    images = scan_images(pet_images, label="species")
    assert images.categories == ("cat", "dog")
    cats = {p.name.split("_")[0] for p, lab in zip(images.paths, images.labels) if lab == 0}
    assert cats == {"Chelsea"}


@pytest.mark.parametrize(
    "make_layout, layout",
    [
        (make_folder_layout, "folders"),
        (make_oxford_layout, "oxford-pet"),
    ],
    ids=["one-folder-per-class", "torchvision-oxford-pet"],
)
def test_other_layouts_give_the_same_labels(pet_images, tmp_path, make_layout, layout) -> None:
    expected = scan_images(pet_images, check=False)
    images = scan_images(make_layout(pet_images, tmp_path / "data"), check=False)
    assert images.layout == layout
    assert images.categories == expected.categories
    by_name = {p.name: images.categories[lab] for p, lab in zip(images.paths, images.labels)}
    assert by_name == {
        p.name: expected.categories[lab] for p, lab in zip(expected.paths, expected.labels)
    }


def test_corrupt_images_are_skipped_and_counted(pet_images: Path, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    shutil.copytree(pet_images, folder)
    whole = (folder / "rocket_1.jpg").read_bytes()
    (folder / "rocket_1.jpg").write_bytes(whole[: len(whole) // 3])  # truncated JPEG
    (folder / "coffee_99.jpg").write_text("not an image")
    images = scan_images(folder)
    assert {p.name for p in images.skipped} == {"rocket_1.jpg", "coffee_99.jpg"}
    assert len(images) == 63


def test_seeded_split() -> None:
    train, valid = split_indices(50, 0.2, seed=3)
    assert len(valid) == 10 and sorted(train + valid) == list(range(50))
    assert split_indices(50, 0.2, seed=3) == (train, valid)
    assert split_indices(50, 0.2, seed=4) != (train, valid)
    with pytest.raises(BadInputError, match="--valid-pct"):
        split_indices(50, 1.5, seed=0)


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: None, "no images found"),
        (lambda d: (d / "holiday.jpg").write_bytes(b""), "no labels"),
        (lambda d: (d / "cats").mkdir(), "no images found"),
    ],
    ids=["empty", "unlabelled", "empty-class-folder"],
)
def test_bad_data_folders(tmp_path: Path, setup, message: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    setup(data)
    with pytest.raises(PetsDataError, match=message):
        scan_images(data)


def test_one_category_is_not_enough(pet_images: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for path in pet_images.glob("rocket_*.jpg"):
        shutil.copy(path, data)
    with pytest.raises(PetsDataError, match="at least 2 categories"):
        scan_images(data)


def test_cli_reports_missing_data_folder(tmp_path: Path, capsys) -> None:
    status = main(
        [
            "pets",
            "train",
            "--data",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "m"),
            "--no-pretrained",
        ]
    )
    assert status == 2
    assert "no such folder" in capsys.readouterr().err
