"""DDP under torchrun: two CPU processes (gloo) train on the tiny set; rank 0 exports.

The model has BatchNorm (test_efficientnet): each rank's running statistics come from its own
batches, so the reported validation numbers equal the export's only if they are synchronised.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pets.conftest import CLASSES

BN_ARCH = "test_efficientnet"


def torchrun() -> list[str]:
    found = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "torch.distributed.run"]


@pytest.mark.slow
def test_torchrun_two_cpu_processes(pet_images: Path, tmp_path: Path) -> None:
    from xl_lesson3.pets.export import load_model
    from xl_lesson3.pets.interpret import interpret, valid_paths

    out = tmp_path / "ddp-model"
    command = [
        *torchrun(),
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "xl_lesson3.pets",
        "train",
        "--data",
        str(pet_images),
        "--out",
        str(out),
        "--arch",
        BN_ARCH,
        "--no-pretrained",
        "--size",
        "64",
        "--batch-size",
        "8",
        "--epochs",
        "1",
        "--freeze-epochs",
        "1",
        "--workers",
        "0",
        "--device",
        "cpu",
        "--json",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]

    printed = json.loads(done.stdout)  # rank 0 alone prints the JSON summary
    assert [row["phase"] for row in printed["history"]] == [
        "head only, body frozen",
        "whole network",
    ]
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["world_size"] == 2
    assert config["categories"] == list(CLASSES)
    # Each rank trained full batches of 8 from its half (DistributedSampler pads to equal
    # halves); the recorded train loss counts both ranks' images.
    per_rank = -(-config["training"]["n_train"] // 2)
    assert printed["history"][-1]["train_images"] == 2 * (per_rank // 8) * 8
    model, config = load_model(out)
    assert model.get_classifier().out_features == len(CLASSES)
    # The table's numbers are the exported model's: re-evaluate the export on the same images.
    paths, labels = valid_paths(config, pet_images)
    again = interpret(model, config, paths, labels)
    last = printed["history"][-1]
    assert again.valid_loss == pytest.approx(last["valid_loss"], rel=1e-5)
    assert again.error_rate == pytest.approx(last["error_rate"], abs=1e-9)


@pytest.mark.slow
def test_bad_input_in_two_processes_is_one_line_and_exit_2(pet_images: Path, tmp_path: Path):
    command = [
        sys.executable, "-m", "xl_lesson3", "pets", "train", "--data", str(pet_images),
        "--out", str(tmp_path / "m"), "--arch", "test_vit", "--size", "50", "--no-pretrained",
        "--device", "cpu", "--nproc-per-node", "2",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--size 50: test_vit" in lines[0], done.stderr[-3000:]
    assert "Traceback" not in done.stderr
