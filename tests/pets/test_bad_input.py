"""Bad input to the pets commands: one line on stderr naming what is wrong, exit status 2.

Covers issue 11 (config.json checked against a schema, decompression bombs, absurd sizes) and
issue 15 (fixed-size models at a foreign size, --out checked first, labels that look wrong).
"""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from tests.pets.conftest import train_argv
from xl_lesson3.cli import main


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


CONFIG_CASES = [
    ("image-size-string", {"image_size": "224"}, "image_size"),
    ("image-size-30000", {"image_size": 30000}, "image_size"),
    ("categories-not-list", {"categories": "Chelsea"}, "categories"),
    ("category-not-string", {"categories": ["Chelsea", 2, "flower", "rocket"]}, "categories.1"),
    ("mean-too-short", {"mean": [0.5]}, "mean"),
    ("std-zero", {"std": [0.2, 0.0, 0.2]}, "std.1"),
    ("architecture-number", {"architecture": 42}, "architecture"),
    ("architecture-unknown", {"architecture": "convnext_tinyy"}, "not a timm model"),
    ("num-classes-mismatch", {"num_classes": 7}, "num_classes"),
    ("img-size-arg-huge", {"model_args": {"img_size": 99999}}, "model_args.img_size"),
    ("crop-pct-text", {"crop_pct": "most"}, "crop_pct"),
]


@pytest.mark.parametrize(
    "changes, message", [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES]
)
def test_predict_with_a_bad_config(trained, pet_images, tmp_path, capsys, changes, message):
    _, out = trained
    model_dir = tmp_path / "model"
    shutil.copytree(out, model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps({**config, **changes}))
    image = next(pet_images.glob("*.jpg"))
    assert main(["pets", "predict", str(model_dir), str(image)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "config.json" in line and message in line


def test_predict_with_a_config_that_is_not_an_object(trained, pet_images, tmp_path, capsys):
    _, out = trained
    shutil.copytree(out, tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text("[1, 2]")
    assert main(["pets", "predict", str(tmp_path / "m"), str(next(pet_images.glob("*.jpg")))]) == 2
    assert "not a JSON object" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: (d / "huge.png").write_bytes(png_claiming(40000, 40000)), "refusing an image"),
        (lambda d: (d / "text.jpg").write_text("not an image"), "cannot read"),
        (lambda d: (d / "empty").mkdir(), "no image files"),
    ],
    ids=["40000x40000-png", "not-an-image", "empty-folder"],
)
def test_predict_bad_images(trained, tmp_path, capsys, make, message) -> None:
    _, out = trained
    make(tmp_path)
    target = next(tmp_path.iterdir())
    assert main(["pets", "predict", str(out), str(target)]) == 2
    line = one_line(capsys.readouterr().err)
    assert message in line and target.name in line


def test_bomb_in_training_data_is_skipped_and_named(pet_images, tmp_path, capsys) -> None:
    data = tmp_path / "images"
    shutil.copytree(pet_images, data)
    (data / "rocket_99.jpg").write_bytes(png_claiming(40000, 40000))
    assert main(["pets", "show-batch", "--data", str(data), "--arch", "test_convnext"]) == 0
    assert "skipped (unreadable): " in capsys.readouterr().out


def _split_folders_without_classes(data: Path, pet_images: Path) -> None:
    for split in ("train", "valid"):
        (data / split).mkdir(parents=True)
        for path in sorted(pet_images.glob("*.jpg"))[:8]:
            shutil.copy(path, data / split / path.name)


def _one_image_per_folder(data: Path, pet_images: Path) -> None:
    for path in sorted(pet_images.glob("*.jpg"))[:10]:
        (data / path.stem).mkdir(parents=True)
        shutil.copy(path, data / path.stem / path.name)


# (id, extra train arguments, data setup or None for a missing folder, message)
TRAIN_CASES = [
    ("size-30000", ["--size", "30000"], None, "--size: 30000 px"),
    ("vit-at-50px", ["--arch", "test_vit", "--size", "50"], None, "--size 50: test_vit"),
    (
        "batch-1-batchnorm",
        ["--arch", "test_efficientnet", "--batch-size", "1"],
        None,
        "--batch-size 1",
    ),
    ("conv-at-16px", ["--arch", "test_convnext", "--size", "16"], None, "--size 16"),
    ("threads-0", ["--threads", "0"], None, "--threads"),
    ("lr-negative", ["--lr", "-1"], None, "--lr"),
    ("split-names-as-labels", [], _split_folders_without_classes, "look like split folders"),
    ("one-image-per-category", [], _one_image_per_folder, "single image"),
]


@pytest.mark.parametrize(
    "extra, setup, message", [c[1:] for c in TRAIN_CASES], ids=[c[0] for c in TRAIN_CASES]
)
def test_train_refuses_before_reading_data(pet_images, tmp_path, capsys, extra, setup, message):
    data = tmp_path / "data"
    if setup is not None:
        setup(data, pet_images)
    # Without a setup the data folder does not exist: the error must come before it is read.
    argv = train_argv(data, tmp_path / "out", "test_convnext", "--size", "64", *extra)
    assert main(argv) == 2
    line = one_line(capsys.readouterr().err)
    assert message in line and "no such folder" not in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "make_out, message",
    [
        (lambda p: (p.write_text("a file, not a folder"), p)[1], "exists and is not a folder"),
        (lambda p: (p.write_text("x"), p / "model")[1], "is not a folder"),
    ],
    ids=["out-is-a-file", "out-under-a-file"],
)
def test_out_is_checked_before_training(pet_images, tmp_path, capsys, make_out, message) -> None:
    out = make_out(tmp_path / "taken")
    assert main(train_argv(pet_images, out, "test_convnext", "--size", "64")) == 2
    line = one_line(capsys.readouterr().err)
    assert "--out" in line and message in line and "data:" not in line


def test_pickled_weights_are_refused_in_one_line(pet_images, tmp_path, capsys) -> None:
    import torch

    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pth")
    argv = train_argv(pet_images, tmp_path / "m", "test_convnext", "--size", "64")
    assert main([*argv, "--weights", str(tmp_path / "module.pth")]) == 2
    line = one_line(capsys.readouterr().err)
    assert "refusing a pickled file" in line and "weights_only" not in line
