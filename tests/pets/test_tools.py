"""What fast.ai users reach for: lr-find (+ train --lr auto), show-batch, predict with TTA, and a
hub check that goes through the proxy."""

from __future__ import annotations

import itertools
import json
import math
import shutil
import socket

import pytest

from tests.pets.conftest import ARCH, CLASSES, train_argv
from xl_lesson3.cli import main


def test_lr_find_sweeps_exponentially_and_suggests_a_valley(pet_images, tmp_path, capsys):
    plot = tmp_path / "lr.png"
    argv = [
        "pets", "lr-find", "--data", str(pet_images), "--arch", ARCH, "--size", "48",
        "--no-pretrained", "--batch-size", "8", "--workers", "0", "--threads", "1",
        "--num-it", "20", "--out", str(plot), "--json",
    ]  # fmt: skip
    assert main(argv) == 0
    sweep = json.loads(capsys.readouterr().out)
    lrs, losses = sweep["lrs"], sweep["losses"]
    assert 2 <= len(lrs) <= 20 and len(losses) == len(lrs)
    assert lrs[0] == pytest.approx(1e-7)
    ratios = [b / a for a, b in itertools.pairwise(lrs)]
    assert ratios == pytest.approx([(10 / 1e-7) ** (1 / 20)] * len(ratios))  # exponential
    assert sweep["suggestion"] in lrs and all(math.isfinite(v) for v in losses)
    from PIL import Image

    with Image.open(plot) as image:
        assert image.format == "PNG"


def test_valley_is_fastais() -> None:
    from xl_lesson3.pets.lr_find import valley

    # The longest decreasing subsequence (5, 4, 3.5, ... 1) ends at index 8 with length 8, so
    # fast.ai's start is 8 - 8 = 0, and it picks 0 + int(8 / 3) + int(8 / 6) = 3.
    losses = [5.0, 6.0, 4.0, 3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 3.0, 9.0]
    assert valley(list(range(len(losses))), losses) == 3
    assert valley([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0]) == 0  # never falls: the first point


def test_lr_find_leaves_the_weights_untouched(pet_images) -> None:
    import torch
    from rich.console import Console

    from xl_lesson3.pets.distributed import DistInfo
    from xl_lesson3.pets.learner import Learner
    from xl_lesson3.pets.lr_find import lr_find
    from xl_lesson3.pets.train import TrainOptions, prepare

    options = TrainOptions(
        data=pet_images, arch=ARCH, size=48, batch_size=8, pretrained=False, workers=0
    )
    ready = prepare(options, DistInfo(), torch.device("cpu"), Console(quiet=True))
    before = {k: v.clone() for k, v in ready.model.state_dict().items()}
    learn = Learner(ready.model, ready.train_loader, ready.valid_loader, device=torch.device("cpu"))
    lr_find(learn, num_it=10)
    for name, value in ready.model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_train_lr_auto_uses_the_suggestion(pet_images, tmp_path, capsys) -> None:
    argv = train_argv(pet_images, tmp_path / "m", ARCH, "--size", "48", "--lr", "auto")
    assert main([*argv, "--epochs", "1", "--freeze-epochs", "0", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["training"]["lr_auto"] is True
    assert config["training"]["lr"] == pytest.approx(printed["lr"])
    assert 1e-7 < printed["lr"] < 10


def test_show_batch_names_layout_counts_and_skipped(pet_images, tmp_path, capsys) -> None:
    data = tmp_path / "images"
    shutil.copytree(pet_images, data)
    (data / "rocket_77.jpg").write_text("broken")
    grid = tmp_path / "grid.png"
    argv = ["pets", "show-batch", "--data", str(data), "--arch", ARCH, "--size", "48"]
    assert main([*argv, "--n", "6", "--out", str(grid)]) == 0
    out = capsys.readouterr().out
    assert "layout: pet-names" in out
    assert "skipped (unreadable): " in out and "rocket_77.jpg" in out
    for name in CLASSES:
        assert name in out and "16" in out
    from PIL import Image

    with Image.open(grid) as image:
        assert image.format == "PNG" and image.size[0] > 300


def test_predict_tta(trained, pet_images, capsys) -> None:
    _, out = trained
    files = sorted(pet_images.glob("rocket_*.jpg"))[:4]
    assert main(["pets", "predict", str(out), *map(str, files), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["pets", "predict", str(out), *map(str, files), "--json", "--tta", "3"]) == 0
    tta = json.loads(capsys.readouterr().out)
    assert main(["pets", "predict", str(out), *map(str, files), "--json", "--tta", "3"]) == 0
    again = json.loads(capsys.readouterr().out)
    differs = False
    for p, t, a in zip(plain, tta, again):
        assert sum(t["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert list(t["probabilities"].values()) == pytest.approx(list(a["probabilities"].values()))
        differs |= list(t["probabilities"].values()) != pytest.approx(
            list(p["probabilities"].values()), abs=1e-4
        )
    assert differs  # augmented copies change the answer a little


def test_predict_title_is_not_wrapped_inside_a_file_name(trained, tmp_path, pet_images, capsys):
    _, out = trained
    long_name = tmp_path / ("a_very_long_folder_name_" * 6) / "Chelsea_1.jpg"
    long_name.parent.mkdir()
    shutil.copy(pet_images / "Chelsea_1.jpg", long_name)
    assert main(["pets", "predict", str(out), str(long_name)]) == 0
    assert f"{long_name}: " in capsys.readouterr().out


@pytest.fixture
def listening_port():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    yield server.getsockname()[1]
    server.close()


def test_hub_check_goes_through_the_https_proxy(monkeypatch, listening_port) -> None:
    from xl_lesson3.pets.model import hub_reachable

    for name in ("HF_HUB_OFFLINE", "NO_PROXY", "no_proxy", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    # The hub itself is unreachable here (a reserved TEST-NET address); the proxy answers.
    monkeypatch.setenv("HF_ENDPOINT", "https://192.0.2.1")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{listening_port}")
    assert hub_reachable(timeout_s=2.0)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    assert not hub_reachable(timeout_s=2.0)
