"""Issue 15's acceptance: a convnet and a fixed-size transformer train on every layout, and
predict, inspect and interpret work on both exports; the numbers training reports are those of
the exported model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.pets.conftest import CLASSES, LAYOUTS, train_argv
from xl_lesson3.cli import main

# (arch, extra train options, image size it must train at)
ARCHS = {
    "convnet": ("test_convnext", ("--size", "64"), 64),
    "fixed-size-vit": ("test_vit", (), 160),  # no --size: ViT trains at its own 160 px
}


@pytest.fixture(scope="module")
def layouts(pet_images: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 64 images in each of the four layouts."""
    return {name: make(pet_images, tmp_path_factory.mktemp(name)) for name, make in LAYOUTS.items()}


@pytest.fixture(scope="module")
def exports(layouts, tmp_path_factory) -> dict[str, Path]:
    """Both architectures trained on the train/ + valid/ layout (one epoch each) and exported."""
    made = {}
    for kind, (arch, extra, _) in ARCHS.items():
        out = tmp_path_factory.mktemp(kind) / "model"
        argv = train_argv(layouts["split-folders"], out, arch, *extra, "--epochs", "1")
        assert main([*argv, "--freeze-epochs", "0", "--lr", "1e-2"]) == 0
        made[kind] = out
    return made


def reevaluate(model_dir: Path, data: Path):
    """The export's validation loss and error rate, computed afresh from the files on disk."""
    from xl_lesson3.pets.export import load_model
    from xl_lesson3.pets.interpret import interpret, valid_paths

    model, config = load_model(model_dir)
    paths, labels = valid_paths(config, data)
    return interpret(model, config, paths, labels), config


def assert_reported_equals_export(model_dir: Path, data: Path) -> dict:
    result, config = reevaluate(model_dir, data)
    last = config["training"]["history"][-1]
    assert result.valid_loss == pytest.approx(last["valid_loss"], rel=1e-5)
    assert result.error_rate == pytest.approx(last["error_rate"], abs=1e-9)
    return config


@pytest.mark.parametrize("layout", ["pet-names", "folders", "oxford-pet"])
@pytest.mark.parametrize("kind", list(ARCHS))
def test_trains_in_each_layout(layouts, layout, kind, tmp_path) -> None:
    arch, extra, size = ARCHS[kind]
    out = tmp_path / "model"
    argv = train_argv(layouts[layout], out, arch, *extra, "--epochs", "1", "--freeze-epochs", "0")
    assert main(argv) == 0
    config = assert_reported_equals_export(out, layouts[layout])
    assert config["training"]["data_layout"] == layout
    assert config["categories"] == list(CLASSES)
    assert config["image_size"] == size
    assert config["training"]["n_train"] + config["training"]["n_valid"] == 64


@pytest.mark.parametrize("kind", list(ARCHS))
def test_train_valid_folders_use_the_given_split(layouts, exports, kind) -> None:
    data = layouts["split-folders"]
    config = assert_reported_equals_export(exports[kind], data)
    assert config["training"]["data_layout"] == "split-folders"
    assert config["categories"] == list(CLASSES)  # not ("train", "valid")
    valid = sorted(p.relative_to(data).as_posix() for p in (data / "valid").rglob("*.jpg"))
    assert sorted(config["training"]["valid_images"]) == valid
    assert config["image_size"] == ARCHS[kind][2]


@pytest.mark.parametrize("kind", list(ARCHS))
def test_predict_a_folder_streams_every_image(layouts, exports, kind, capsys) -> None:
    folder = layouts["split-folders"] / "valid"
    files = sorted(folder.rglob("*.jpg"))
    assert (
        main(["pets", "predict", str(exports[kind]), str(folder), "--json", "--batch-size", "3"])
        == 0
    )
    from_folder = json.loads(capsys.readouterr().out)
    assert main(["pets", "predict", str(exports[kind]), *map(str, files), "--json"]) == 0
    from_files = json.loads(capsys.readouterr().out)
    assert [a["image"] for a in from_folder] == [str(p) for p in files]
    for a, b in zip(from_folder, from_files):
        assert list(a["probabilities"]) == list(CLASSES)
        assert sum(a["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert list(a["probabilities"].values()) == pytest.approx(
            list(b["probabilities"].values()), abs=1e-5
        )


@pytest.mark.parametrize("kind", list(ARCHS))
def test_inspect_an_export(exports, kind, capsys) -> None:
    arch = ARCHS[kind][0]
    assert main(["pets", "inspect", str(exports[kind]), "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert arch in out and "4 categories" in out


@pytest.mark.parametrize("kind", list(ARCHS))
def test_interpret_an_export(layouts, exports, kind, tmp_path, capsys) -> None:
    data = layouts["split-folders"]
    report = tmp_path / "report"
    assert (
        main(["pets", "interpret", str(exports[kind]), "--data", str(data), "--out", str(report)])
        == 0
    )
    assert "validation images" in capsys.readouterr().out
    with open(report / "confusion_matrix.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][1:] == list(CLASSES)
    # Each row (actual category) sums to the images of that category in valid/.
    for row in rows[1:]:
        assert sum(map(int, row[1:])) == len(list((data / "valid" / row[0]).glob("*.jpg")))
    with open(report / "most_confused.csv", newline="") as handle:
        pairs = list(csv.DictReader(handle))
    matrix = {(r[0], c): int(v) for r in rows[1:] for c, v in zip(CLASSES, r[1:])}
    for pair in pairs:
        assert pair["actual"] != pair["predicted"]
        assert int(pair["count"]) == matrix[(pair["actual"], pair["predicted"])]
    off_diagonal = sum(v for (a, p), v in matrix.items() if a != p)
    assert sum(int(p["count"]) for p in pairs) == off_diagonal
    from PIL import Image

    for name in ("confusion_matrix.png", "top_losses.png"):
        with Image.open(report / name) as image:
            assert image.format == "PNG" and image.size[0] > 200
