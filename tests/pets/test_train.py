"""Fine-tuning, export and predict on the tiny photo set."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import torch

from tests.pets.conftest import ARCH, CLASSES
from xl_lesson3.cli import main
from xl_lesson3.pets.data import ImageConfig
from xl_lesson3.pets.export import current_umask
from xl_lesson3.pets.images import load_rgb


def test_validation_error_falls_below_chance(trained) -> None:
    result, _ = trained
    chance_error = 1 - 1 / len(CLASSES)
    assert [row["phase"] for row in result.history] == ["head only, body frozen"] + [
        "whole network"
    ] * 4
    assert result.history[-1]["error_rate"] < chance_error
    assert result.history[-1]["valid_loss"] < result.history[0]["valid_loss"]


def test_export_holds_safetensors_and_config(trained) -> None:
    from safetensors.torch import load_file

    result, out = trained
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoints",
        "config.json",
        "model.safetensors",
    ]
    # A finished run keeps the best epoch as a model folder and nothing to resume.
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["best"]
    # Files follow the umask like any file the user writes (mkstemp alone would give 0600).
    for path in [p for p in out.rglob("*") if p.is_file()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~current_umask(), path
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == ARCH
    assert config["categories"] == list(CLASSES)
    assert config["image_size"] == 64
    assert config["species"]["Chelsea"] == "cat"
    tensors = load_file(out / "model.safetensors")
    for name, value in result.model.state_dict().items():
        assert torch.equal(tensors[name], value.cpu()), name


def test_predict_matches_the_in_memory_model(trained, pet_images: Path, capsys) -> None:
    result, out = trained
    paths = [result.images.paths[i] for i in result.valid_idx]
    transform = ImageConfig.from_json(result.config).eval_transform()
    with torch.inference_mode():
        batch = torch.stack([transform(load_rgb(p)) for p in paths])
        expected = result.model.eval()(batch).softmax(dim=1)  # (n_images, n_classes)

    assert main(["pets", "predict", str(out), *map(str, paths), "--json", "--top", "2"]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert [a["image"] for a in answers] == [str(p) for p in paths]
    for answer, probs in zip(answers, expected.tolist()):
        assert list(answer["probabilities"]) == list(CLASSES)
        assert list(answer["probabilities"].values()) == pytest.approx(probs, abs=1e-5)
        assert answer["prediction"] == CLASSES[max(range(len(probs)), key=probs.__getitem__)]
        assert len(answer["top"]) == 2


def test_predict_table_and_bad_image(trained, tmp_path: Path, capsys) -> None:
    _, out = trained
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photo")
    assert main(["pets", "predict", str(out), str(bad)]) == 2
    assert "bad.jpg" in capsys.readouterr().err


def test_model_dir_without_config(tmp_path: Path, pet_images: Path, capsys) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert main(["pets", "predict", str(tmp_path), str(next(pet_images.glob("*.jpg")))]) == 2
    assert "config.json" in capsys.readouterr().err


def test_frozen_phase_trains_head_and_batchnorm_only() -> None:
    import timm

    from xl_lesson3.pets.model import freeze_body, param_groups

    model = timm.create_model("test_efficientnet", pretrained=False, num_classes=3)
    freeze_body(model)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    norms = {
        f"{name}.{leaf}"
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.BatchNorm2d)
        for leaf in ("weight", "bias")
    }
    assert trainable == {"classifier.weight", "classifier.bias"} | norms
    assert sum(len(g["params"]) for g in param_groups(model, 1e-3)) == len(trainable)


def test_discriminative_learning_rates() -> None:
    import timm

    from xl_lesson3.pets.model import param_groups

    model = timm.create_model(ARCH, pretrained=False, num_classes=3)
    groups = param_groups(model, 1e-2, lr_mult=100)
    lr_of = {id(p): g["max_lr"] for g in groups for p in g["params"]}
    named = dict(model.named_parameters())
    assert lr_of[id(named["head.fc.weight"])] == pytest.approx(1e-2)
    assert lr_of[id(named["stem.0.weight"])] == pytest.approx(1e-4)
    stage_lrs = [lr_of[id(named[f"stages.{i}.downsample.1.weight"])] for i in (1, 2, 3)]
    assert stage_lrs == sorted(stage_lrs) and 1e-4 < stage_lrs[0] < stage_lrs[-1] < 1e-2
    assert all(g["weight_decay"] == 0 for g in groups if g["params"][0].ndim == 1)
