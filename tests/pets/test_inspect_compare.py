"""`pets models`, `pets inspect` and `pets compare`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from xl_lesson3.cli import main


def test_models_lists_the_convnext_family(capsys) -> None:
    assert main(["pets", "models", "convnext*", "--json"]) == 0
    names = json.loads(capsys.readouterr().out)
    assert {"convnext_tiny", "convnext_small", "convnext_base", "convnext_atto"} <= set(names)
    assert all(name.startswith("convnext") for name in names)


def test_models_pretrained_names_carry_tags(capsys) -> None:
    assert main(["pets", "models", "convnext_tiny*", "--pretrained"]) == 0
    assert "convnext_tiny.fb_in22k" in capsys.readouterr().out.split()


def test_inspect_finds_a_convnext_submodule(capsys) -> None:
    from xl_lesson3.pets.inspect import find_submodule, load_target, parameter_infos

    model, _ = load_target("test_convnext")
    fc1 = find_submodule(model, "stages.1.blocks.0.mlp.fc1")
    assert fc1 is model.stages[1].blocks[0].mlp.fc1
    infos = parameter_infos(fc1, n_values=3)
    assert [(i.name, i.shape) for i in infos] == [
        ("weight", tuple(fc1.weight.shape)),
        ("bias", tuple(fc1.bias.shape)),
    ]
    assert infos[0].values == pytest.approx(fc1.weight.flatten()[:3].tolist())

    assert (
        main(
            [
                "pets",
                "inspect",
                "test_convnext",
                "--submodule",
                "stages.1.blocks.0.mlp.fc1",
                "--params",
            ]
        )
        == 0
    )
    assert "Linear" in capsys.readouterr().out


def test_inspect_an_exported_model(trained, capsys) -> None:
    _, out = trained
    assert main(["pets", "inspect", str(out), "--submodule", "head.fc", "--params"]) == 0
    assert "out_features=4" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["pets", "inspect", "test_convnext", "--submodule", "stages.1.blocks.0.mlp.fc7"],
            "stages.1.blocks.0.mlp.fc1",
        ),
        (["pets", "inspect", "convnext_tinyy"], "convnext_tiny"),
    ],
    ids=["unknown-submodule", "unknown-arch"],
)
def test_inspect_errors_suggest_names(argv, message, capsys) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_inspect_folder_without_config(tmp_path: Path, capsys) -> None:
    assert main(["pets", "inspect", str(tmp_path)]) == 2
    assert "config.json" in capsys.readouterr().err


def test_compare_three_models_writes_chart_and_csv(tmp_path: Path) -> None:
    from PIL import Image

    models = ["test_convnext", "test_efficientnet", "test_resnet"]
    chart = tmp_path / "speed.png"
    assert (
        main(
            [
                "pets",
                "compare",
                *models,
                "--batch-size",
                "2",
                "--repeats",
                "1",
                "--out",
                str(chart),
            ]
        )
        == 0
    )
    with Image.open(chart) as image:
        assert image.format == "PNG" and image.size[0] > 300
    with open(tmp_path / "speed.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["model"] for row in rows) == sorted(models)
    for row in rows:
        assert float(row["seconds_per_image"]) > 0
        assert row["img_size"] == "160"  # each model's own size, where timm publishes top-1
        assert 30 < float(row["top1"]) < 60  # published top-1 of timm's test_* models


def test_compare_published_svg(tmp_path: Path) -> None:
    out = tmp_path / "published.svg"
    assert main(["pets", "compare", "--published", "--out", str(out)]) == 0
    page = out.read_text()
    assert "<svg" in page and "convnext" in page and "<script" not in page
    with open(tmp_path / "published.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 500
    assert {"convnext", "resnet", "vit", "efficientnet"} <= {row["family"] for row in rows}


def test_compare_needs_models_or_published(capsys) -> None:
    assert main(["pets", "compare"]) == 2
    assert "--published" in capsys.readouterr().err
