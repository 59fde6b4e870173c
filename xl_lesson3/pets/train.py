"""`pets train`: find the images, build the model, fine-tune it the fast.ai way, export it.

`fine_tune` follows fast.ai's ``Learner.fine_tune``: first the new head alone with the body frozen
(one-cycle, long warm-up), then the whole network at half that rate with a one-cycle (or cosine)
schedule and discriminative learning rates, the stem training `lr_mult` times slower than the head.
Under ``torchrun`` every rank trains its shard with DDP; rank 0 alone prints and exports.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from xl_lesson3.errors import BadInputError
from xl_lesson3.pets import distributed
from xl_lesson3.pets.data import ImageConfig, check_size, dataset_split, make_loaders
from xl_lesson3.pets.layouts import ImageSet, scan_images, species_of
from xl_lesson3.pets.model import (
    DEFAULT_ARCH,
    build_for_size,
    check_runs,
    count_params,
    find_weights,
    freeze_body,
    unfreeze,
)

SCHEDULES = ("one_cycle", "cosine")
HEAD_PHASE = "head only, body frozen"
BODY_PHASE = "whole network"


@dataclass(frozen=True)
class TrainOptions:
    """Everything `pets train` takes; see the CLI help for each field."""

    data: Path
    out: Path | None = None
    arch: str = DEFAULT_ARCH
    epochs: int = 3
    freeze_epochs: int = 1
    size: int | None = None  # None: the model's own input size
    batch_size: int = 64  # per process under torchrun
    lr: float | str = 2e-3  # or "auto": the lr_find valley
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
    threads: int | None = None  # torch CPU threads; None leaves torch's default
    resume: bool = False


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
    lr: float = 0.0  # the learning rate used (the lr_find suggestion with --lr auto)


@dataclass
class Prepared:
    """A model built and checked, images found and split, loaders made: ready to train."""

    model: Any
    weights_label: str
    size: int
    model_args: dict[str, Any]
    images: ImageSet
    train_idx: list[int]
    valid_idx: list[int]
    image_config: ImageConfig
    train_loader: Any
    valid_loader: Any


def check_options(options: TrainOptions) -> None:
    """Reject impossible numbers and unwritable outputs before any slow work starts."""
    from xl_lesson3.pets.export import check_writable

    lr_ok = options.lr == "auto" or (
        isinstance(options.lr, (int, float)) and math.isfinite(options.lr) and options.lr > 0
    )
    checks = [
        (options.epochs >= 0, "--epochs", "must be 0 or more"),
        (options.freeze_epochs >= 0, "--freeze-epochs", "must be 0 or more"),
        (options.batch_size >= 1, "--batch-size", "must be at least 1"),
        (lr_ok, "--lr", "must be a positive number or auto"),
        (options.lr_mult >= 1, "--lr-mult", "must be at least 1"),
        (options.workers is None or options.workers >= 0, "--workers", "must be 0 or more"),
        (options.threads is None or options.threads >= 1, "--threads", "must be at least 1"),
        (options.schedule in SCHEDULES, "--schedule", f"must be one of {', '.join(SCHEDULES)}"),
    ]
    for ok, option, message in checks:
        if not ok:
            raise BadInputError(f"{option}: {message}")
    if options.size is not None:
        check_size(options.size)
    if options.resume and options.out is None:
        raise BadInputError("--resume: needs --out, the folder of the interrupted run")
    if options.out is not None:
        check_writable(Path(options.out))


def default_workers(world_size: int = 1) -> int:
    """DataLoader workers per process: its share of the cores, less one for the training loop."""
    return max(0, min(8, (os.cpu_count() or 1) // world_size - 1))


def set_threads(threads: int | None) -> None:
    """Use `threads` CPU threads (on a busy 2-core machine 1 is 3-5x faster than torch's 2)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def fine_tune(
    learn: Any,
    epochs: int,
    *,
    freeze_epochs: int = 1,
    lr: float = 2e-3,
    lr_mult: float = 100.0,
    schedule: str = "one_cycle",
    resume: Any = None,
) -> None:
    """fast.ai's ``fine_tune``: head alone, then everything with discriminative rates.

    `resume` (a `ResumePoint`) skips the epochs a checkpoint already holds.
    """
    from xl_lesson3.pets.learner import Cosine, OneCycle

    start = {HEAD_PHASE: 0, BODY_PHASE: 0}
    opt_state = {HEAD_PHASE: None, BODY_PHASE: None}
    if resume is not None:
        start[resume.phase], opt_state[resume.phase] = resume.epoch, resume.opt_state
        if resume.phase == BODY_PHASE:
            start[HEAD_PHASE] = freeze_epochs
    if freeze_epochs:
        freeze_body(learn.model)
        if start[HEAD_PHASE] < freeze_epochs:
            learn.fit(
                freeze_epochs,
                lr,
                schedule=OneCycle(pct_start=0.99),
                phase=HEAD_PHASE,
                start_epoch=start[HEAD_PHASE],
                opt_state=opt_state[HEAD_PHASE],
            )
        lr /= 2
    unfreeze(learn.model)
    if epochs and start[BODY_PHASE] < epochs:
        chosen = OneCycle(pct_start=0.3, div=5.0) if schedule == "one_cycle" else Cosine()
        learn.fit(
            epochs,
            lr,
            lr_mult=lr_mult,
            schedule=chosen,
            phase=BODY_PHASE,
            start_epoch=start[BODY_PHASE],
            opt_state=opt_state[BODY_PHASE],
        )


def train(options: TrainOptions, console: Console | None = None) -> TrainResult:
    """Run `pets train`: returns the trained model; writes ``options.out`` on rank 0."""
    check_options(options)
    set_threads(options.threads)
    dist, device = distributed.start(options.device)
    finished = False
    try:
        result = _train(options, dist, device, console or Console(highlight=False))
        finished = True
        return result
    finally:
        distributed.stop(dist, wait=finished)


def prepare(options: TrainOptions, dist: Any, device: Any, say: Console) -> Prepared:
    """Weights, model (checked at its size), images, split and loaders, in that order.

    Everything that can be wrong with the options is found before the images are read.
    """
    import torch

    from xl_lesson3.pets.learner import seed_everything

    source = find_weights(options.arch, pretrained=options.pretrained, weights=options.weights)
    seed_everything(options.seed)  # the same random weights (without pretrained) on every rank
    model, label, size, model_args = build_for_size(options.arch, options.size, source)
    check_runs(model, options.arch, size, options.batch_size)
    images = scan_images(Path(options.data), label=options.label)
    train_idx, valid_idx = dataset_split(images, options.valid_pct, options.seed)
    say.print(_describe_data(images, train_idx, valid_idx, options.seed), soft_wrap=True)
    seed_everything(options.seed)  # the same new head on every rank
    model.reset_classifier(len(images.categories))
    image_config = ImageConfig.for_model(model, size)
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
    return Prepared(
        model,
        label,
        size,
        model_args,
        images,
        train_idx,
        valid_idx,
        image_config,
        train_loader,
        valid_loader,
    )


def _train(options: TrainOptions, dist: Any, device: Any, console: Console) -> TrainResult:
    from xl_lesson3.pets.checkpoint import Checkpoints, load_resume_point
    from xl_lesson3.pets.export import save_model
    from xl_lesson3.pets.learner import Learner, Recorder, seed_everything
    from xl_lesson3.pets.lr_find import lr_find
    from xl_lesson3.pets.progress import ProgressTable

    say = console if dist.is_main else Console(quiet=True)
    ready = prepare(options, dist, device, say)
    model = ready.model
    say.print(
        f"model: {options.arch}, {count_params(model) / 1e6:.2f} M parameters, "
        f"weights: {ready.weights_label}; "
        f"{ready.size} px, batch {options.batch_size}, device {device}"
        + (f" x {dist.world_size} processes (DDP)" if dist.world_size > 1 else ""),
        soft_wrap=True,
    )
    learn = Learner(
        model,
        ready.train_loader,
        ready.valid_loader,
        device=device,
        dist=dist,
        callbacks=[Recorder()] + ([ProgressTable(console)] if dist.is_main else []),
        seed=options.seed,
    )
    lr = options.lr
    if lr == "auto":
        freeze_body(model)
        found = lr_find(learn)
        lr = dist.broadcast_float(found.suggestion, device)
        say.print(f"--lr auto: lr_find suggests {lr:.3g} (valley)")
    seed_everything(options.seed + dist.rank)

    def make_config(history: list[dict[str, Any]]) -> dict[str, Any]:
        return _config(options, ready, dist, history, float(lr))

    resume = None
    fingerprint = {**_fingerprint(options, ready, dist), "lr": float(lr)}
    if options.resume:
        resume = load_resume_point(Path(options.out), fingerprint)
        model.load_state_dict(resume.model_state)
        learn.history, learn.epochs_done = list(resume.history), resume.epochs_done
        say.print(f"resuming after {resume.phase} epoch {resume.epoch}", soft_wrap=True)
    checkpoints = None
    if options.out is not None:
        checkpoints = Checkpoints(Path(options.out), fingerprint, make_config)
        learn.callbacks.append(checkpoints)
    fine_tune(
        learn,
        options.epochs,
        freeze_epochs=options.freeze_epochs,
        lr=float(lr),
        lr_mult=options.lr_mult,
        schedule=options.schedule,
        resume=resume,
    )
    model.eval()
    dist.average_buffers(model)  # every rank, and what rank 0 exports, has the same statistics
    config = make_config(learn.history)
    if dist.is_main and options.out is not None:
        save_model(Path(options.out), model, config)
        if checkpoints is not None:
            checkpoints.finish()
        say.print(f"saved {options.out} (model.safetensors + config.json)", soft_wrap=True)
    return TrainResult(
        model,
        config,
        learn.history,
        ready.images,
        ready.train_idx,
        ready.valid_idx,
        is_main=dist.is_main,
        lr=float(lr),
    )


def _config(
    options: TrainOptions, ready: Prepared, dist: Any, history: list[dict[str, Any]], lr: float
) -> dict[str, Any]:
    from xl_lesson3.pets.export import make_config

    images = ready.images
    species = (
        {"species": {c: species_of(c) for c in images.categories}}
        if options.label == "breed" and images.layout in ("pet-names", "oxford-pet")
        else {}
    )
    return make_config(
        options.arch,
        images.categories,
        ready.image_config.to_json(),
        model_args=ready.model_args,
        label=options.label,
        **species,
        weights_source=ready.weights_label,
        training=_training_record(options, ready, history, dist, lr),
    )


def _fingerprint(options: TrainOptions, ready: Prepared, dist: Any) -> dict[str, Any]:
    """The options a resumed run must share with the interrupted one."""
    return {
        "arch": options.arch,
        "data": str(Path(options.data).resolve()),
        "n_images": len(ready.images),
        "size": ready.size,
        "batch_size": options.batch_size,
        "seed": options.seed,
        "epochs": options.epochs,
        "freeze_epochs": options.freeze_epochs,
        "lr_mult": options.lr_mult,
        "schedule": options.schedule,
        "valid_pct": options.valid_pct,
        "label": options.label,
        "world_size": dist.world_size,
    }


def _describe_data(images: ImageSet, train_idx: list[int], valid_idx: list[int], seed: int) -> str:
    notes = []
    if images.skipped:
        names = ", ".join(p.name for p in images.skipped[:5])
        more = f" and {len(images.skipped) - 5} more" if len(images.skipped) > 5 else ""
        notes.append(f"skipped {len(images.skipped)} unreadable image(s): {names}{more}")
    if images.unlabelled:
        notes.append(f"ignored {images.unlabelled} unlabelled file(s)")
    extra = f"; {'; '.join(notes)}" if notes else ""
    split = "the layout's own split" if images.has_split else f"seed {seed}"
    return (
        f"data: {len(images)} images in {len(images.categories)} categories "
        f"({images.layout} layout, {images.root}){extra}; "
        f"{len(train_idx)} train / {len(valid_idx)} valid ({split})"
    )


def _training_record(
    options: TrainOptions,
    ready: Prepared,
    history: list[dict[str, Any]],
    dist: Any,
    lr: float,
) -> dict[str, Any]:
    images = ready.images
    return {
        "data": str(Path(options.data).resolve()),
        "data_layout": images.layout,
        "n_train": len(ready.train_idx),
        "n_valid": len(ready.valid_idx),
        # The exact validation images, relative to the data root: `pets interpret` uses them.
        "valid_images": [
            images.paths[i].relative_to(images.root).as_posix() for i in ready.valid_idx
        ],
        "skipped_unreadable": len(images.skipped),
        "valid_pct": options.valid_pct,
        "seed": options.seed,
        "epochs": options.epochs,
        "freeze_epochs": options.freeze_epochs,
        "lr": lr,
        "lr_auto": options.lr == "auto",
        "lr_mult": options.lr_mult,
        "schedule": options.schedule,
        "batch_size": options.batch_size,
        "world_size": dist.world_size,
        "history": history,
    }
