"""fast.ai's learning-rate finder: an exponential sweep, the loss curve and the valley suggestion.

The rate grows from `start_lr` to `end_lr` over `num_it` mini-batches (all layer groups alike)
while the smoothed training loss is recorded; the sweep stops early once that loss passes four
times its minimum. The weights are put back afterwards, so the sweep leaves the model untouched.
`valley` is fast.ai's default suggestion: the middle of the longest stretch where the loss keeps
falling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from xl_lesson3.pets.learner import Callback, CancelFit, Learner


@dataclass(frozen=True)
class LRFindResult:
    """The sweep: learning rates, smoothed losses, and the suggested rate (`lrs[index]`)."""

    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    suggestion: float
    index: int

    def to_json(self) -> dict[str, Any]:
        """JSON form, for ``--json`` and tests."""
        return {
            "suggestion": self.suggestion,
            "lrs": list(self.lrs),
            "losses": list(self.losses),
        }


class LRFinder(Callback):
    """Sets an exponentially growing rate each batch, records the loss, stops on divergence."""

    order = -10

    def __init__(
        self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100, beta: float = 0.98
    ) -> None:
        self.start_lr, self.end_lr, self.num_it, self.beta = start_lr, end_lr, num_it, beta
        self.lrs: list[float] = []
        self.losses: list[float] = []

    def before_fit(self, learn: Learner) -> None:
        self.saved = {k: v.detach().clone() for k, v in learn.model.state_dict().items()}
        self.average, self.best, self.step = 0.0, math.inf, 0

    def before_batch(self, learn: Learner) -> None:
        lr = self.start_lr * (self.end_lr / self.start_lr) ** (self.step / self.num_it)
        for group in learn.opt.param_groups:
            group["lr"] = lr
        self.lr = lr

    def after_batch(self, learn: Learner) -> None:
        # Every rank sees the same mean loss, so all stop at the same batch.
        total = torch.tensor([float(learn.loss.detach())], dtype=torch.float64)
        loss = float(learn.dist.all_reduce_sum(total, learn.device)[0]) / learn.dist.world_size
        self.average = self.beta * self.average + (1 - self.beta) * loss
        smoothed = self.average / (1 - self.beta ** (self.step + 1))
        self.lrs.append(self.lr)
        self.losses.append(smoothed)
        self.step += 1
        if not math.isfinite(smoothed) or smoothed > 4 * self.best or self.step >= self.num_it:
            raise CancelFit
        self.best = min(self.best, smoothed)

    def after_fit(self, learn: Learner) -> None:
        learn.model.load_state_dict(self.saved)


def valley(lrs: list[float], losses: list[float]) -> int:
    """fast.ai's ``valley``: index a third and a half into the longest decreasing run."""
    n = len(losses)
    max_start, max_end = 0, 0
    run = [1] * n  # length of the longest decreasing subsequence ending at i
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and run[i] < run[j] + 1:
                run[i] = run[j] + 1
            if run[max_end] < run[i]:
                max_end = i
                max_start = max_end - run[max_end]
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def lr_find(
    learn: Learner, *, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100
) -> LRFindResult:
    """Run the sweep on `learn` (its trainable parameters) and return an `LRFindResult`."""
    finder = LRFinder(start_lr, end_lr, num_it)
    saved = learn.callbacks, learn.validate_each_epoch, learn.epochs_done
    learn.callbacks, learn.validate_each_epoch = [], False
    try:
        n_epochs = num_it // max(1, len(learn.train_loader)) + 1
        learn.fit(n_epochs, start_lr, schedule=finder, phase="lr_find")
    finally:
        learn.callbacks, learn.validate_each_epoch, learn.epochs_done = saved
    # fast.ai leaves out the first tenth and the last 5 points (noise at both ends).
    lrs, losses = finder.lrs, finder.losses
    lo, hi = num_it // 10, max(num_it // 10 + 1, len(lrs) - 5)
    window_lrs, window_losses = lrs[lo:hi] or lrs, losses[lo:hi] or losses
    index = valley(window_lrs, window_losses)
    return LRFindResult(tuple(lrs), tuple(losses), window_lrs[index], lrs.index(window_lrs[index]))


def plot_lr_find(result: LRFindResult, out: Path, title: str) -> Path:
    """The loss-against-rate curve (log x) with the suggestion marked, as PNG or SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    try:
        ax.plot(result.lrs, result.losses, color="tab:blue")
        ax.plot(
            [result.suggestion],
            [result.losses[result.index]],
            "o",
            color="tab:red",
            label=f"valley: {result.suggestion:.2e}",
        )
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("training loss (smoothed)")
        ax.set_title(title, fontsize=10)
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out)
    finally:
        plt.close(fig)
    return Path(out)
