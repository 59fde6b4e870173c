"""`pets train`: find the images, build the model, fine-tune it the fast.ai way, export it.

`fine_tune` follows fast.ai's ``Learner.fine_tune``: first the new head alone with the body frozen
(one-cycle, long warm-up), then the whole network at half that rate with a one-cycle (or cosine)
schedule and discriminative learning rates, the stem training `lr_mult` times slower than the head.
Under ``torchrun`` every rank trains its shard with DDP; rank 0 alone prints and exports.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from xl_lesson3.errors import BadInputError
from xl_lesson3.pets import distributed
from xl_lesson3.pets.data import (
    ImageConfig,
    ImageSet,
    make_loaders,
    scan_images,
    species_of,
    split_indices,
)
from xl_lesson3.pets.model import (
    DEFAULT_ARCH,
    count_params,
    create_model,
    find_weights,
    freeze_body,
    unfreeze,
)

SCHEDULES = ("one_cycle", "cosine")


@dataclass(frozen=True)
class TrainOptions:
    """Everything `pets train` takes; see the CLI help for each field."""

    data: Path
    out: Path | None = None
    arch: str = DEFAULT_ARCH
    epochs: int = 3
    freeze_epochs: int = 1
    size: int = 224
    batch_size: int = 64  # per process under torchrun
    lr: float = 2e-3
    lr_mult: float = 100.0
    valid_pct: float = 0.2
    seed: int = 42
    pretrained: bool = True
    weights: Path | None = None
    device: str = "auto"
    workers: int | None = None  # None: one fewer than this process's share of the CPU cores
    label: str = "breed"
    schedule: str = "one_cycle"
    augment: dict[str, Any] = field(default_factory=dict)  # extra timm create_transform options


@dataclass
class TrainResult:
    """The trained model (on the training device, eval mode) and what was exported with it."""

    model: Any
    config: dict[str, Any]
    history: list[dict[str, Any]]
    images: ImageSet
    train_idx: list[int]
    valid_idx: list[int]
    is_main: bool = True  # False on torchrun ranks other than 0, which neither print nor export


def check_options(options: TrainOptions) -> None:
    """Reject impossible numbers before any slow work starts."""
    checks = [
        (options.epochs >= 0, "--epochs", "must be 0 or more"),
        (options.freeze_epochs >= 0, "--freeze-epochs", "must be 0 or more"),
        (options.size >= 16, "--size", "must be at least 16 pixels"),
        (options.batch_size >= 1, "--batch-size", "must be at least 1"),
        (options.lr > 0, "--lr", "must be positive"),
        (options.lr_mult >= 1, "--lr-mult", "must be at least 1"),
        (options.workers is None or options.workers >= 0, "--workers", "must be 0 or more"),
        (options.schedule in SCHEDULES, "--schedule", f"must be one of {', '.join(SCHEDULES)}"),
    ]
    for ok, option, message in checks:
        if not ok:
            raise BadInputError(f"{option}: {message}")


def default_workers(world_size: int = 1) -> int:
    """DataLoader workers per process: its share of the cores, less one for the training loop."""
    return max(0, min(8, (os.cpu_count() or 1) // world_size - 1))


def fine_tune(
    learn: Any,
    epochs: int,
    *,
    freeze_epochs: int = 1,
    lr: float = 2e-3,
    lr_mult: float = 100.0,
    schedule: str = "one_cycle",
) -> None:
    """fast.ai's ``fine_tune``: head alone, then everything with discriminative rates."""
    from xl_lesson3.pets.learner import Cosine, OneCycle

    if freeze_epochs:
        freeze_body(learn.model)
        learn.fit(
            freeze_epochs, lr, schedule=OneCycle(pct_start=0.99), phase="head only, body frozen"
        )
        lr /= 2
    unfreeze(learn.model)
    if epochs:
        chosen = OneCycle(pct_start=0.3, div=5.0) if schedule == "one_cycle" else Cosine()
        learn.fit(epochs, lr, lr_mult=lr_mult, schedule=chosen, phase="whole network")


def train(options: TrainOptions, console: Console | None = None) -> TrainResult:
    """Run `pets train`: returns the trained model; writes ``options.out`` on rank 0."""
    check_options(options)
    dist, device = distributed.start(options.device)
    finished = False
    try:
        result = _train(options, dist, device, console or Console(highlight=False))
        finished = True
        return result
    finally:
        distributed.stop(dist, wait=finished)


def _train(options: TrainOptions, dist: Any, device: Any, console: Console) -> TrainResult:
    import torch

    from xl_lesson3.pets.export import make_config, save_model
    from xl_lesson3.pets.learner import Learner, Recorder
    from xl_lesson3.pets.progress import ProgressTable

    say = console if dist.is_main else Console(quiet=True)
    source = find_weights(options.arch, pretrained=options.pretrained, weights=options.weights)
    images = scan_images(Path(options.data), label=options.label)
    train_idx, valid_idx = split_indices(len(images), options.valid_pct, options.seed)
    say.print(_describe_data(images, train_idx, valid_idx, options.seed), soft_wrap=True)

    torch.manual_seed(options.seed)  # the same new head on every rank
    model, source_label = create_model(options.arch, len(images.categories), source=source)
    image_config = ImageConfig.for_model(model, options.size)
    if options.augment:
        image_config = dataclasses.replace(image_config, augment=dict(options.augment))
    if device.type == "cuda":
        model = model.to(device, memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    else:
        model = model.to(device)
    workers = default_workers(dist.world_size) if options.workers is None else options.workers
    train_loader, valid_loader = make_loaders(
        images,
        train_idx,
        valid_idx,
        image_config,
        batch_size=options.batch_size,
        workers=workers,
        pin_memory=device.type == "cuda",
        rank=dist.rank,
        world_size=dist.world_size,
        seed=options.seed,
    )
    say.print(
        f"model: {options.arch}, {count_params(model) / 1e6:.2f} M parameters, "
        f"weights: {source_label}; "
        f"{options.size} px, batch {options.batch_size}, device {device}"
        + (f" x {dist.world_size} processes (DDP)" if dist.world_size > 1 else ""),
        soft_wrap=True,
    )
    torch.manual_seed(options.seed + dist.rank)  # different augmentation on each rank
    callbacks = [Recorder()] + ([ProgressTable(console)] if dist.is_main else [])
    learn = Learner(
        model, train_loader, valid_loader, device=device, dist=dist, callbacks=callbacks
    )
    fine_tune(
        learn,
        options.epochs,
        freeze_epochs=options.freeze_epochs,
        lr=options.lr,
        lr_mult=options.lr_mult,
        schedule=options.schedule,
    )
    model.eval()

    config = make_config(
        options.arch,
        images.categories,
        image_config.to_json(),
        label=options.label,
        **(
            {"species": {c: species_of(c) for c in images.categories}}
            if options.label == "breed" and images.layout != "folders"
            else {}
        ),
        weights_source=source_label,
        training=_training_record(options, images, train_idx, valid_idx, learn.history, dist),
    )
    if dist.is_main and options.out is not None:
        save_model(Path(options.out), model, config)
        say.print(f"saved {options.out} (model.safetensors + config.json)", soft_wrap=True)
    return TrainResult(
        model, config, learn.history, images, train_idx, valid_idx, is_main=dist.is_main
    )


def _describe_data(images: ImageSet, train_idx: list[int], valid_idx: list[int], seed: int) -> str:
    notes = []
    if images.skipped:
        notes.append(f"skipped {len(images.skipped)} unreadable image(s)")
    if images.unlabelled:
        notes.append(f"ignored {images.unlabelled} unlabelled file(s)")
    extra = f"; {'; '.join(notes)}" if notes else ""
    return (
        f"data: {len(images)} images in {len(images.categories)} categories "
        f"({images.layout} layout, {images.root}){extra}; "
        f"{len(train_idx)} train / {len(valid_idx)} valid (seed {seed})"
    )


def _training_record(
    options: TrainOptions,
    images: ImageSet,
    train_idx: list[int],
    valid_idx: list[int],
    history: list[dict[str, Any]],
    dist: Any,
) -> dict[str, Any]:
    return {
        "data_layout": images.layout,
        "n_train": len(train_idx),
        "n_valid": len(valid_idx),
        "skipped_unreadable": len(images.skipped),
        "valid_pct": options.valid_pct,
        "seed": options.seed,
        "epochs": options.epochs,
        "freeze_epochs": options.freeze_epochs,
        "lr": options.lr,
        "lr_mult": options.lr_mult,
        "schedule": options.schedule,
        "batch_size": options.batch_size,
        "world_size": dist.world_size,
        "history": history,
    }
