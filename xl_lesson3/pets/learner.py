"""A small fast.ai-style training loop: tiny steps, named events, ordered callbacks.

`Learner.fit` runs epochs of ``train`` then ``validate``. At each named event (``before_fit``,
``before_batch``, ``after_step``, ``after_epoch``, ...) every callback with a method of that name is
called in `order`. The learning-rate schedule, the metrics and the progress display are callbacks;
raising `CancelFit` from one ends the fit cleanly. Under DDP the model is wrapped for training
steps and metrics are summed over ranks, so every rank sees the same numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from xl_lesson3.pets.distributed import DistInfo
from xl_lesson3.pets.model import param_groups

EVENTS = (
    "before_fit",
    "before_epoch",
    "before_train",
    "before_batch",
    "after_loss",
    "after_step",
    "after_batch",
    "after_train",
    "before_validate",
    "after_validate",
    "after_epoch",
    "after_fit",
)


class CancelFit(Exception):
    """Raised by a callback to end `Learner.fit` early; ``after_fit`` still runs."""


class Callback:
    """Base class: define methods named after `EVENTS`; lower `order` runs first."""

    order = 0


class Learner:
    """Model, data, optimiser and callbacks; `fit` trains, `history` keeps one row per epoch.

    `model` is the plain module (never the DDP wrapper); `dist` says which rank this is. With a
    `seed`, every epoch's shuffle and augmentation depend only on (seed, rank, epoch), so two runs
    agree and a resumed run continues as the interrupted one would have.
    """

    def __init__(
        self,
        model: nn.Module,
        train_loader: Any,
        valid_loader: Any,
        *,
        device: torch.device,
        dist: DistInfo | None = None,
        callbacks: Iterable[Callback] = (),
        seed: int | None = None,
    ) -> None:
        self.model = model
        self.train_loader = train_loader
        self.valid_loader = valid_loader
        self.device = device
        self.dist = dist or DistInfo()
        self.callbacks = list(callbacks)
        self.loss_fn = nn.CrossEntropyLoss()
        self.history: list[dict[str, Any]] = []
        self.phase = ""
        self.epochs_done = 0  # over all fits; seeds the shuffle and the augmentation
        self.seed = seed
        self.validate_each_epoch = True
        # Mixed precision on CUDA: bfloat16 where supported (no loss scaling), else float16.
        self.amp_dtype: torch.dtype | None = None
        if device.type == "cuda":
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

    # -- events ---------------------------------------------------------------------------------
    def event(self, name: str) -> None:
        """Call every callback's `name` method, in `order`."""
        for callback in sorted(self.callbacks, key=lambda cb: cb.order):
            method = getattr(callback, name, None)
            if method is not None:
                method(self)

    # -- fitting --------------------------------------------------------------------------------
    def fit(
        self,
        n_epochs: int,
        lr: float,
        *,
        lr_mult: float = 1.0,
        schedule: Callback | None = None,
        weight_decay: float = 0.01,
        phase: str = "",
        start_epoch: int = 0,
        opt_state: dict[str, Any] | None = None,
    ) -> None:
        """Train the parameters that require grad for `n_epochs` with AdamW.

        `lr` is the peak rate of the last layer group, ``lr / lr_mult`` that of the first.
        `schedule` (e.g. `OneCycle`) is a callback for this fit only. A resumed fit starts at
        `start_epoch` with the optimiser state `opt_state` of a checkpoint.
        """
        groups = param_groups(self.model, lr, lr_mult=lr_mult, weight_decay=weight_decay)
        # fast.ai's Adam defaults (beta2 0.99, eps 1e-5) suit short fine-tunes better than 0.999.
        self.opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99), eps=1e-5)
        if opt_state is not None:
            self.opt.load_state_dict(opt_state)
        self.train_model = self._wrap_for_training()
        self.n_epochs, self.phase = n_epochs, phase
        extra = [schedule] if schedule is not None else []
        self.callbacks += extra
        try:
            self.event("before_fit")
            for self.epoch in range(start_epoch, n_epochs):
                self._one_epoch()
        except CancelFit:
            pass
        finally:
            self.event("after_fit")
            for callback in extra:
                self.callbacks.remove(callback)

    def _wrap_for_training(self) -> nn.Module:
        # A new DDP wrapper per fit: DDP records which parameters require grad when built, and
        # freezing or unfreezing changes that.
        if self.dist.world_size == 1:
            return self.model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(self.model, device_ids=ids)

    def _one_epoch(self) -> None:
        self.event("before_epoch")
        self._train()
        if self.validate_each_epoch:
            self._validate()
        self.event("after_epoch")
        self.epochs_done += 1

    def _to_device(self, images: torch.Tensor, targets: torch.Tensor) -> tuple[Any, Any]:
        images = images.to(self.device, non_blocking=True)
        if self.device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        return images, targets.to(self.device, non_blocking=True)

    def _autocast(self) -> Any:
        return torch.autocast(
            self.device.type,
            dtype=self.amp_dtype or torch.float32,
            enabled=self.amp_dtype is not None,
        )

    def _train(self) -> None:
        self.train_model.train()
        sampler = getattr(self.train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.epochs_done)
        if self.seed is not None:
            generator = getattr(self.train_loader, "generator", None)
            if generator is not None:
                generator.manual_seed(self.seed + self.epochs_done)
            seed_everything(self.seed + 1000 * self.dist.rank + self.epochs_done)
        self.n_iter = len(self.train_loader)
        self.event("before_train")
        for i, (images, targets) in enumerate(self.train_loader):
            self.iter = i
            self.pct_train = (self.epoch + self.iter / max(1, self.n_iter)) / self.n_epochs
            self.images, self.targets = self._to_device(images, targets)
            self.event("before_batch")
            self._step()
            self.event("after_batch")
        self.event("after_train")

    def _step(self) -> None:
        with self._autocast():
            self.loss = self.loss_fn(self.train_model(self.images), self.targets)
        self.event("after_loss")
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(self.loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        self.event("after_step")

    def _validate(self) -> None:
        # Ranks validate (and rank 0 exports) the same weights: DDP keeps parameters equal, but
        # each rank's BatchNorm running statistics come from its own batches.
        self.dist.average_buffers(self.model)
        self.model.eval()
        self.event("before_validate")
        # (loss sum, wrong, count) over this rank, kept on the device: no sync per batch.
        sums = torch.zeros(3, dtype=sum_dtype(self.device), device=self.device)
        with torch.inference_mode(), self._autocast():
            for images, targets in self.valid_loader:
                images, targets = self._to_device(images, targets)
                logits = self.model(images).float()
                sums[0] += nn.functional.cross_entropy(logits, targets, reduction="sum")
                sums[1] += (logits.argmax(dim=1) != targets).sum()
                sums[2] += len(targets)
                self.event("after_valid_batch")
        loss_sum, wrong, count = self.dist.all_reduce_sum(sums.cpu(), self.device).tolist()
        self.valid_loss = loss_sum / count if count else math.nan
        self.error_rate = wrong / count if count else math.nan
        self.event("after_validate")


class OneCycle(Callback):
    """fast.ai's one-cycle policy: learning rate up then down (cosine), momentum the other way.

    Each optimiser group goes from ``max_lr / div`` to ``max_lr`` over the first `pct_start` of
    training, then down to ``max_lr / div_final``; beta1 goes 0.95 -> 0.85 -> 0.95.
    """

    order = -10

    def __init__(self, pct_start: float = 0.25, div: float = 25.0, div_final: float = 1e5):
        self.pct_start, self.div, self.div_final = pct_start, div, div_final

    def before_batch(self, learn: Learner) -> None:
        pct = learn.pct_train
        if pct < self.pct_start:
            ramp = _cos_ramp(pct / self.pct_start)
            lr_scale = 1 / self.div + (1 - 1 / self.div) * ramp
            beta1 = 0.95 - 0.10 * ramp
        else:
            ramp = _cos_ramp((pct - self.pct_start) / (1 - self.pct_start))
            lr_scale = 1 - (1 - 1 / self.div_final) * ramp
            beta1 = 0.85 + 0.10 * ramp
        for group in learn.opt.param_groups:
            group["lr"] = group["max_lr"] * lr_scale
            group["betas"] = (beta1, group["betas"][1])


class Cosine(Callback):
    """Cosine annealing from each group's ``max_lr`` down to ``max_lr / div_final``."""

    order = -10

    def __init__(self, div_final: float = 1e5):
        self.div_final = div_final

    def before_batch(self, learn: Learner) -> None:
        lr_scale = 1 - (1 - 1 / self.div_final) * _cos_ramp(learn.pct_train)
        for group in learn.opt.param_groups:
            group["lr"] = group["max_lr"] * lr_scale


def seed_everything(seed: int) -> None:
    """Seed Python's `random` (timm's RandomResizedCrop uses it), numpy and torch."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def sum_dtype(device: torch.device) -> torch.dtype:
    """Accumulate metrics in float64, except where the device has none (Apple's MPS)."""
    return torch.float32 if device.type == "mps" else torch.float64


def _cos_ramp(pct: float) -> float:
    """0 -> 1 along half a cosine, for pct in [0, 1]."""
    return (1 - math.cos(math.pi * min(max(pct, 0.0), 1.0))) / 2


class Recorder(Callback):
    """One history row per epoch: losses, error rate, time, training images and seconds.

    The train loss is the mean over the epoch's batches, summed over ranks under DDP.
    `train_seconds` covers only the training batches (the throughput benchmark reads it).
    """

    order = 10

    def before_epoch(self, learn: Learner) -> None:
        self.epoch_start = time.perf_counter()

    def before_train(self, learn: Learner) -> None:
        self.train_start = time.perf_counter()
        self.loss_sum = torch.zeros((), dtype=sum_dtype(learn.device), device=learn.device)
        self.seen = 0

    def after_batch(self, learn: Learner) -> None:
        # Accumulate on the device: reading .item() here would sync the GPU every batch.
        self.loss_sum += learn.loss.detach() * len(learn.targets)
        self.seen += len(learn.targets)

    def after_train(self, learn: Learner) -> None:
        if learn.device.type == "cuda":
            torch.cuda.synchronize(learn.device)  # the clock must include queued GPU work
        self.train_seconds = time.perf_counter() - self.train_start
        sums = torch.tensor([self.loss_sum.item(), float(self.seen)], dtype=torch.float64)
        loss_sum, seen = learn.dist.all_reduce_sum(sums, learn.device).tolist()
        self.train_loss = loss_sum / seen if seen else math.nan
        self.train_images = int(seen)

    def after_epoch(self, learn: Learner) -> None:
        learn.history.append(
            {
                "phase": learn.phase,
                "epoch": learn.epoch,
                "train_loss": self.train_loss,
                "valid_loss": learn.valid_loss,
                "error_rate": learn.error_rate,
                "seconds": time.perf_counter() - self.epoch_start,
                "train_images": self.train_images,
                "train_seconds": self.train_seconds,
            }
        )
