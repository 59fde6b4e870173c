"""Pets: training images per second of `pets train`'s loop against a bare timm training loop.

Same run, same data (one DataLoader pair, timm's train transform), same model and initial weights:
our `Learner.fit` with the callbacks `pets train` installs (one-cycle schedule, recorder, progress
table) against the few lines every timm tutorial writes (forward, loss, backward, AdamW step). Both
are timed over the training batches only, after a warm-up epoch, in alternating rounds so that
machine load drifts hit both alike. The gap is our loop's overhead; it should be a few percent.

`python benchmarks/pets_throughput.py --quick [--device cpu|cuda]` prints a Markdown table;
`python -m benchmarks` calls `run(quick, device)`.
"""

from __future__ import annotations

import argparse
import copy
import io
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

# (arch, image px, batch size, images per class, epochs; the first epoch of each loop is warm-up)
SETTINGS = {
    ("cpu", True): ("test_convnext", 64, 16, 24, 9),
    ("cpu", False): ("resnet18", 128, 32, 64, 9),
    ("cuda", True): ("resnet18", 160, 64, 96, 7),
    ("cuda", False): ("resnet50", 224, 64, 192, 9),
}
CLASSES = 4


def _bare_epoch(
    model: Any, loader: Any, opt: Any, device: Any, amp_dtype: Any
) -> tuple[int, float, float]:
    """One epoch of the plain loop; returns (images, wall seconds, CPU seconds of this process)."""
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    seen = 0
    cpu_start = time.process_time()
    start = time.perf_counter()
    for images, targets in loader:
        images = images.to(device, non_blocking=True)
        if device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        targets = targets.to(device, non_blocking=True)
        with torch.autocast(
            device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None
        ):
            loss = loss_fn(model(images), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(targets)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return seen, time.perf_counter() - start, time.process_time() - cpu_start


def _prepare_model(model: Any, device: Any) -> Any:
    import torch

    if device.type == "cuda":
        return model.to(device, memory_format=torch.channels_last)
    return model.to(device)


class BareEpochAfterEach:
    """A Learner callback that runs one epoch of the bare loop after each of ours.

    Pairing the epochs makes load drifts on a shared machine hit both loops alike; the bare
    epoch runs outside our Recorder's timed span (training batches only).
    """

    order = 30

    def __init__(self, model: Any, loader: Any, device: Any, lr: float) -> None:
        import torch

        self.model, self.loader, self.device = model, loader, device
        self.opt = torch.optim.AdamW(model.parameters(), lr=lr)
        self.rates: list[float] = []  # images per wall-clock second, one per epoch
        self.cpu_ms: list[float] = []  # CPU milliseconds of this process per image

    def after_epoch(self, learn: Any) -> None:
        seen, seconds, cpu = _bare_epoch(
            self.model, self.loader, self.opt, self.device, learn.amp_dtype
        )
        self.rates.append(seen / seconds)
        self.cpu_ms.append(1000 * cpu / seen)


class CpuClock:
    """A Learner callback: CPU time of this process over each epoch's training batches.

    CPU time barely moves when other jobs share the machine, unlike the wall clock, so it
    resolves a small overhead where wall-clock rates cannot.
    """

    order = -100

    def __init__(self) -> None:
        self.cpu_ms: list[float] = []

    def before_train(self, learn: Any) -> None:
        self.start = time.process_time()
        self.seen = 0

    def after_batch(self, learn: Any) -> None:
        self.seen += len(learn.targets)

    def after_train(self, learn: Any) -> None:
        self.cpu_ms.append(1000 * (time.process_time() - self.start) / max(1, self.seen))


def run(quick: bool = True, device: str = "cpu") -> dict[str, Any]:
    """Measure both loops; returns a dict for `python -m benchmarks` (title, headers, rows, ...)."""
    import torch

    from xl_lesson3.pets.distributed import resolve_device
    from xl_lesson3.pets.train import default_workers

    dev = resolve_device(device)
    arch, size, batch_size, per_class, epochs = SETTINGS[(dev.type, bool(quick))]
    threads = torch.get_num_threads()
    if dev.type == "cpu":
        # One compute thread and no DataLoader workers: the process's CPU time is then the loop's
        # own work (idle OpenMP threads spin and worker processes compete, blurring it).
        workers = 0
        torch.set_num_threads(1)
    else:
        workers = default_workers()
    try:
        return _measure(dev, arch, size, batch_size, per_class, epochs, workers)
    finally:
        torch.set_num_threads(threads)


def _measure(
    dev: Any, arch: str, size: int, batch_size: int, per_class: int, epochs: int, workers: int
) -> dict[str, Any]:
    import timm
    import torch
    from rich.console import Console

    from xl_lesson3.pets.data import ImageConfig, make_loaders, split_indices
    from xl_lesson3.pets.layouts import scan_images
    from xl_lesson3.pets.learner import Learner, OneCycle, Recorder
    from xl_lesson3.pets.model import unfreeze
    from xl_lesson3.pets.progress import ProgressTable
    from xl_lesson3.pets.sample import write_sample_images

    lr = 1e-3
    with tempfile.TemporaryDirectory() as tmp:
        write_sample_images(
            Path(tmp) / "images", classes=CLASSES, per_class=per_class, size=size + size // 4
        )
        images = scan_images(Path(tmp) / "images")
        train_idx, valid_idx = split_indices(len(images), 0.2, seed=0)
        torch.manual_seed(0)
        initial = timm.create_model(arch, pretrained=False, num_classes=CLASSES)
        image_config = ImageConfig.for_model(initial, size)
        train_loader, valid_loader = make_loaders(
            images,
            train_idx,
            valid_idx,
            image_config,
            batch_size=batch_size,
            workers=workers,
            pin_memory=dev.type == "cuda",
            seed=0,
        )
        model = _prepare_model(copy.deepcopy(initial), dev)
        unfreeze(model)
        bare = BareEpochAfterEach(
            _prepare_model(copy.deepcopy(initial), dev), train_loader, dev, lr
        )
        display = Console(file=io.StringIO(), width=100)  # drawn as in `pets train`, unseen
        clock = CpuClock()
        learn = Learner(
            model,
            train_loader,
            valid_loader,
            device=dev,
            callbacks=[clock, Recorder(), ProgressTable(display), bare],
        )
        learn.fit(epochs, lr, lr_mult=100, schedule=OneCycle(pct_start=0.3, div=5.0))
    # Epoch 0 of each loop is warm-up; the rest are paired (ours, then bare, alternating).
    ours_rates = [row["train_images"] / row["train_seconds"] for row in learn.history[1:]]
    bare_rates = bare.rates[1:]
    wall_ratio = statistics.median(o / b for o, b in zip(ours_rates, bare_rates))
    ours_cpu, bare_cpu = statistics.median(clock.cpu_ms[1:]), statistics.median(bare.cpu_ms[1:])
    wall_overhead = (1 / wall_ratio - 1) * 100
    cpu_overhead = (ours_cpu / bare_cpu - 1) * 100
    precision = str(learn.amp_dtype).removeprefix("torch.") if learn.amp_dtype else "float32"
    setting = (
        f"{arch}, {size} px, batch {batch_size}, {len(train_idx)} training images, "
        f"{workers} DataLoader workers, {torch.get_num_threads()} torch threads, "
        f"{precision}, device {dev}"
    )
    return {
        "title": "Pets: training throughput of `pets train` vs a bare timm loop",
        "status": "ok",
        "headlines": [
            (
                f"`pets train` loop overhead: {wall_overhead:+.1f}% wall clock, "
                f"{cpu_overhead:+.1f}% CPU time ({setting})"
            )
        ],
        "caption": (
            f"Training throughput over {len(ours_rates)} epochs per loop (a warm-up "
            f"epoch left out), epochs alternating between the loops; {setting}:"
        ),
        "headers": [
            "loop",
            "images/s (best)",
            "images/s (median)",
            "paired wall ratio (median)",
            "CPU ms per image (median)",
        ],
        "rows": [
            [
                "bare timm loop (forward, loss, backward, AdamW step)",
                round(max(bare_rates), 1),
                round(statistics.median(bare_rates), 1),
                1.0,
                round(bare_cpu, 2),
            ],
            [
                "`pets train` Learner.fit (one-cycle, recorder, progress)",
                round(max(ours_rates), 1),
                round(statistics.median(ours_rates), 1),
                round(wall_ratio, 3),
                round(ours_cpu, 2),
            ],
        ],
        "notes": [
            (
                "Both loops share one DataLoader pair and start from the same weights; "
                "validation is not timed. On a shared, busy CPU the wall-clock spread between "
                "epochs can exceed the overhead itself; on the CPU the benchmark therefore runs "
                "one torch thread without DataLoader workers, where the process's CPU time is "
                "the loop's own work and the steadier figure. On CUDA read the wall clock."
            )
        ],
        "arch": arch,
        "device": str(dev),
        "image_size": size,
        "batch_size": batch_size,
        "train_images": len(train_idx),
        "workers": workers,
        "ours_images_per_s": max(ours_rates),
        "bare_images_per_s": max(bare_rates),
        "overhead_pct": wall_overhead,
        "cpu_overhead_pct": cpu_overhead,
        "ours_epochs": ours_rates,
        "bare_epochs": bare_rates,
        "ours_cpu_ms_per_image": clock.cpu_ms[1:],
        "bare_cpu_ms_per_image": bare.cpu_ms[1:],
    }


def markdown(result: dict[str, Any]) -> str:
    """The result as a small Markdown table."""
    lines = [
        result["caption"],
        "",
        "| " + " | ".join(result["headers"]) + " |",
        "|" + "---|" * len(result["headers"]),
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in result["rows"]]
    lines += ["", result["headlines"][0]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small model and data set")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(markdown(run(args.quick, args.device)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
