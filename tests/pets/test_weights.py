"""Pretrained weights: --weights (safetensors, state dict), the Hugging Face cache, the errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.pets.conftest import ARCH, TRAIN_ARGS
from xl_lesson3.cli import main

HUB_ID = "timm/test_convnext.r160_in1k"  # test_convnext's default pretrained tag


@pytest.fixture(scope="module")
def imagenet_like_state() -> dict[str, torch.Tensor]:
    """A 1000-class test_convnext state dict standing in for downloaded weights."""
    import timm

    torch.manual_seed(7)
    model = timm.create_model(ARCH, pretrained=False)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.5)  # unlike any fresh initialisation
    return {k: v.clone() for k, v in model.state_dict().items()}


def export_only(pet_images: Path, out: Path, *extra: str) -> int:
    """`pets train` with no epochs: loads the weights, adds the head, exports."""
    return main(
        [
            "pets",
            "train",
            "--data",
            str(pet_images),
            "--out",
            str(out),
            *TRAIN_ARGS,
            "--epochs",
            "0",
            "--freeze-epochs",
            "0",
            *extra,
        ]
    )


def assert_body_loaded(out: Path, state: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import load_file

    exported = load_file(out / "model.safetensors")
    assert exported["head.fc.weight"].shape == (4, state["head.fc.weight"].shape[1])
    body = [k for k in state if not k.startswith("head.fc.")]
    assert body and all(torch.equal(exported[k], state[k]) for k in body)


def test_weights_safetensors(pet_images, imagenet_like_state, tmp_path) -> None:
    from safetensors.torch import save_file

    save_file(imagenet_like_state, tmp_path / "weights.safetensors")
    assert (
        export_only(pet_images, tmp_path / "m", "--weights", str(tmp_path / "weights.safetensors"))
        == 0
    )
    assert_body_loaded(tmp_path / "m", imagenet_like_state)


def test_weights_state_dict_pth(pet_images, imagenet_like_state, tmp_path) -> None:
    torch.save({"state_dict": imagenet_like_state}, tmp_path / "weights.pth")
    assert export_only(pet_images, tmp_path / "m", "--weights", str(tmp_path / "weights.pth")) == 0
    assert_body_loaded(tmp_path / "m", imagenet_like_state)


def test_weights_with_another_head_load_then_reset(imagenet_like_state, tmp_path) -> None:
    from xl_lesson3.pets.model import create_model

    state = dict(imagenet_like_state)
    state["head.fc.weight"], state["head.fc.bias"] = torch.zeros(5, 64), torch.zeros(5)
    torch.save(state, tmp_path / "five.pth")
    # timm's strict load into the pretrained config's 1000-class head fails on the file's
    # 5-class head; the fallback loads the file with 5 classes, then resets the classifier.
    model, _ = create_model(ARCH, 3, weights=tmp_path / "five.pth")
    assert model.head.fc.out_features == 3
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items() if not k.startswith("head.fc"))


def test_hugging_face_cache_offline(pet_images, imagenet_like_state, tmp_path, monkeypatch):
    from safetensors.torch import save_file

    repo = tmp_path / "hub" / f"models--{HUB_ID.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    save_file(imagenet_like_state, repo / "snapshots" / "0123abcd" / "model.safetensors")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert export_only(pet_images, tmp_path / "m", "--pretrained") == 0
    assert_body_loaded(tmp_path / "m", imagenet_like_state)


def test_pretrained_without_weights_names_the_way_out(pet_images, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert export_only(pet_images, tmp_path / "m", "--pretrained") == 2
    err = capsys.readouterr().err
    assert "--weights" in err and HUB_ID.split("/")[1] in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "make_file, message",
    [
        (lambda p: torch.save(torch.nn.Linear(2, 2), p), "refusing a pickled file"),
        (lambda p: torch.save({"conv.weight": torch.zeros(3)}, p), "does not fit"),
        (lambda p: None, "no such file"),
    ],
    ids=["pickled-module", "wrong-architecture", "missing"],
)
def test_bad_weights(pet_images, tmp_path, capsys, make_file, message) -> None:
    make_file(tmp_path / "w.pth")
    assert export_only(pet_images, tmp_path / "m", "--weights", str(tmp_path / "w.pth")) == 2
    assert message in capsys.readouterr().err


def test_unknown_architecture_suggests_names(pet_images, tmp_path, capsys) -> None:
    status = main(
        [
            "pets",
            "train",
            "--data",
            str(pet_images),
            "--out",
            str(tmp_path / "m"),
            "--arch",
            "convnext_tni",
            "--no-pretrained",
        ]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "convnext_tni" in err and "convnext_tiny" in err


def test_fixed_size_model_with_weights_at_another_size(pet_images, tmp_path, capsys) -> None:
    """A ViT's 160 px weights at 64 px: timm resamples the position embedding; predict rebuilds
    the model at 64 px from config.json."""
    import json

    import timm
    from safetensors.torch import save_file

    torch.manual_seed(3)
    save_file(timm.create_model("test_vit").state_dict(), tmp_path / "vit.safetensors")
    out = tmp_path / "m"
    argv = [
        "pets", "train", "--data", str(pet_images), "--out", str(out), "--arch", "test_vit",
        "--size", "64", "--weights", str(tmp_path / "vit.safetensors"), "--epochs", "0",
        "--freeze-epochs", "0", "--workers", "0", "--device", "cpu",
    ]  # fmt: skip
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["image_size"] == 64 and config["model_args"] == {"img_size": 64}
    capsys.readouterr()
    assert main(["pets", "predict", str(out), str(next(pet_images.glob("*.jpg"))), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)[0]
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
