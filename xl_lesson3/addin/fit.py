"""The numeric core of the TORCH_SOLVE worksheet function: fit a small model to a data range.

TORCH_SOLVE is a formula, so it must be a pure function of its arguments: same inputs and seed,
same parameters out, nothing written anywhere else. It fits one of the lesson's two models by
full-batch gradient descent (Adam) on the mean squared error, the loss the lesson's sheets use:

- ``linear``: ``pred = data @ w``; `w` has one weight per data column (add a column of ones to
  the data for a constant term, as the lesson's sheets do);
- ``relu``: ``pred = sum_j relu(data @ W[j])``: `hidden` units, each a linear combination of the
  data columns followed by ReLU, added up as the lesson's ``nnet`` sheet does. `W` is laid out
  one row per hidden unit, as the sheet lays out its parameter rows.

Everything runs in float64 with a private `torch.Generator`, so the global RNG is untouched and
a CPU result is bit-for-bit reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from xl_lesson3.addin.jobs import JobCancelled, current_job
from xl_lesson3.errors import BadInputError, DeviceError

MODEL_KINDS = ("linear", "relu")
DEFAULT_STEPS = 1000
DEFAULT_LR = 0.05
DEFAULT_SEED = 0
MAX_STEPS = 1_000_000
# Below this many data values one torch thread is faster: on a busy 2-core machine two threads
# made TORCH_SOLVE five times slower (each small op waits at a barrier for the other thread).
SMALL_PROBLEM = 1_000_000


@dataclass(frozen=True)
class FitOptions:
    """How to fit: model kind, hidden units (relu only), Adam steps and learning rate, seed."""

    model_kind: str = "linear"
    hidden: int | None = None
    steps: int = DEFAULT_STEPS
    lr: float = DEFAULT_LR
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if self.model_kind not in MODEL_KINDS:
            raise BadInputError(
                f"TORCH_SOLVE: model_kind must be one of {', '.join(MODEL_KINDS)}, "
                f"got {self.model_kind!r}"
            )
        if self.hidden is not None and self.hidden < 1:
            raise BadInputError(f"TORCH_SOLVE: hidden must be at least 1, got {self.hidden}")
        if not 0 <= self.steps <= MAX_STEPS:
            raise BadInputError(f"TORCH_SOLVE: steps must be in 0..{MAX_STEPS}, got {self.steps}")
        if not self.lr > 0:
            raise BadInputError(f"TORCH_SOLVE: lr must be positive, got {self.lr}")


@dataclass(frozen=True)
class FitResult:
    """Trained parameters (flat, in the order of the initial parameters) and the loss per step."""

    params: torch.Tensor  # (n_params,)
    losses: tuple[float, ...]  # loss before each step, then the final loss


def n_params(options: FitOptions, n_features: int) -> int:
    """How many parameters the model has for data with `n_features` columns."""
    if options.model_kind == "linear":
        return n_features
    if options.hidden is None:
        raise BadInputError("TORCH_SOLVE: a relu model needs hidden units (hidden or init_params)")
    return options.hidden * n_features


def predict(options: FitOptions, params: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
    """Model output for every data row. params (n_params,), data (n_rows, n_features) → (n_rows,)."""
    if options.model_kind == "linear":
        return data @ params
    weights = params.reshape(options.hidden, data.shape[1])  # (hidden, n_features)
    return torch.relu(data @ weights.T).sum(dim=1)


def mse(options: FitOptions, params: torch.Tensor, data: torch.Tensor, target: torch.Tensor):
    """Mean squared error of the model's predictions against `target` (n_rows,)."""
    return ((predict(options, params, data) - target) ** 2).mean()


def resolve_device(device: str | None) -> torch.device:
    """``cpu`` (default), ``cuda`` (an error without CUDA) or ``auto`` (cuda when present)."""
    name = (device or "cpu").strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name not in ("cpu", "cuda"):
        raise BadInputError(f"device: expected cpu, cuda or auto, got {device!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device: cuda was asked for but no CUDA device is available")
    return torch.device(name)


def initial_params(options: FitOptions, n_features: int, device=None) -> torch.Tensor:
    """RAND()-0.5 for every parameter, from `options.seed`, as the lesson initialises them."""
    generator = torch.Generator().manual_seed(int(options.seed))
    values = torch.rand(n_params(options, n_features), generator=generator, dtype=torch.float64)
    return (values - 0.5).to(device)


def fit(
    data: torch.Tensor,
    target: torch.Tensor,
    init: torch.Tensor | None,
    options: FitOptions,
    *,
    device: str | None = "cpu",
) -> FitResult:
    """Fit the model; data (n_rows, n_features), target (n_rows,), init (n_params,) or None.

    None for `init` draws RAND()-0.5 from the seed. The seed also fixes everything else that
    could vary, so the result depends on the arguments alone.
    """
    dev = resolve_device(device)
    data = data.to(dev, torch.float64)
    target = target.to(dev, torch.float64).reshape(-1)
    if data.ndim != 2 or data.shape[0] != target.shape[0]:
        raise BadInputError(
            f"TORCH_SOLVE: data has {data.shape[0]} rows but target has {target.shape[0]} values"
        )
    expected = n_params(options, data.shape[1])
    if init is None:
        init = initial_params(options, data.shape[1], dev)
    init = init.to(dev, torch.float64).reshape(-1)
    if init.numel() != expected:
        raise BadInputError(
            f"TORCH_SOLVE: a {options.model_kind} model on {data.shape[1]} data columns needs "
            f"{expected} parameters, init_params has {init.numel()}"
        )
    params = init.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([params], lr=options.lr)
    losses = []
    job = current_job()  # set when the add-in server runs this call: cancel and time limit
    with torch.enable_grad():
        for _ in range(options.steps):
            if job is not None:
                job.check()
                if job.timed_out():
                    raise JobCancelled(f"TORCH_SOLVE: time limit reached after {job.elapsed:.0f} s")
            optimizer.zero_grad(set_to_none=True)
            loss = mse(options, params, data, target)
            loss.backward()
            losses.append(loss.item())
            optimizer.step()
    with torch.no_grad():
        losses.append(mse(options, params, data, target).item())
    return FitResult(params=params.detach(), losses=tuple(losses))


@contextmanager
def one_thread_when_small(n_values: int) -> Iterator[None]:
    """Run torch on one intra-op thread while the problem has fewer than `SMALL_PROBLEM` values."""
    if n_values >= SMALL_PROBLEM:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
