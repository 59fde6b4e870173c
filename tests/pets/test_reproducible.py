"""--seed gives the same run twice; --resume continues an interrupted run as if never stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from xl_lesson3.pets.train import TrainOptions, train

BN_ARCH = "test_efficientnet"  # BatchNorm, and timm's RandomResizedCrop (Python's `random`)


def options(data: Path, out: Path | None, seed: int = 7, **changes) -> TrainOptions:
    fields = {
        "data": data,
        "out": out,
        "arch": BN_ARCH,
        "epochs": 2,
        "freeze_epochs": 1,
        "size": 48,
        "batch_size": 8,
        "lr": 5e-3,
        "pretrained": False,
        "device": "cpu",
        "workers": 0,
        "seed": seed,
        "threads": 1,
        **changes,
    }
    return TrainOptions(**fields)


def losses(history: list[dict]) -> list[float]:
    return [value for row in history for value in (row["train_loss"], row["valid_loss"])]


def test_same_seed_same_losses(pet_images: Path) -> None:
    first = train(options(pet_images, None))
    second = train(options(pet_images, None))
    assert losses(second.history) == pytest.approx(losses(first.history), rel=1e-9, abs=1e-12)
    other = train(options(pet_images, None, seed=8))
    assert losses(other.history) != pytest.approx(losses(first.history), rel=1e-6)


def test_resume_continues_an_interrupted_run(pet_images: Path, tmp_path: Path, monkeypatch) -> None:
    from safetensors.torch import load_file

    from xl_lesson3.pets.checkpoint import Checkpoints
    from xl_lesson3.pets.errors import ModelDirError

    whole = train(options(pet_images, tmp_path / "whole"))

    saved = Checkpoints.after_epoch

    def stop_after_two(self, learn) -> None:
        saved(self, learn)
        if len(learn.history) == 2:  # head epoch and the first whole-network epoch are saved
            raise KeyboardInterrupt

    monkeypatch.setattr(Checkpoints, "after_epoch", stop_after_two)
    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        train(options(pet_images, out))
    monkeypatch.setattr(Checkpoints, "after_epoch", saved)
    assert (out / "checkpoints" / "last.safetensors").is_file()
    assert not (out / "model.safetensors").exists()

    with pytest.raises(ModelDirError, match="seed was 7"):
        train(options(pet_images, out, seed=99, resume=True))
    resumed = train(options(pet_images, out, resume=True))
    assert [row["phase"] for row in resumed.history] == [row["phase"] for row in whole.history]
    assert losses(resumed.history) == pytest.approx(losses(whole.history), rel=1e-6, abs=1e-9)
    ours, theirs = (
        load_file(out / "model.safetensors"),
        load_file(tmp_path / "whole" / "model.safetensors"),
    )
    for name, value in theirs.items():
        assert ours[name].float().allclose(value.float(), rtol=1e-5, atol=1e-6), name
    assert not (out / "checkpoints" / "last.json").exists()  # nothing left to resume


def test_resume_refuses_other_options(pet_images: Path, tmp_path: Path, capsys) -> None:
    from tests.pets.conftest import train_argv
    from xl_lesson3.cli import main

    out = tmp_path / "m"
    argv = train_argv(
        pet_images, out, BN_ARCH, "--size", "48", "--epochs", "0", "--freeze-epochs", "1"
    )
    assert main(argv) == 0
    # Finished runs keep no resume point.
    assert main([*argv, "--resume"]) == 2
    assert "no checkpoint to resume" in capsys.readouterr().err
