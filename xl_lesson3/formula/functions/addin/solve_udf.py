"""TORCH_SOLVE in the formula engine: the add-in's training function, usable in any workbook.

``TORCH_SOLVE(data, target, [init_params], [model_kind], [hidden], [steps], [lr], [seed])``
trains a linear or ReLU model (see `xl_lesson3.addin.fit`) and returns the trained parameters,
shaped like `init_params` (or, when that is blank, one row per hidden unit, one column per data
column). It is not differentiable: the solver treats its result as a constant of the variables.
Its arguments must be plain numbers; a text or error cell in them, or a shape that does not fit
the model, gives ``#VALUE!`` as Excel would for a bad argument.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from xl_lesson3.addin.fit import (
    DEFAULT_LR,
    DEFAULT_SEED,
    DEFAULT_STEPS,
    FitOptions,
    fit,
    n_params,
)
from xl_lesson3.errors import BadInputError
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.values import Block, ErrorCode, Kind


@register(
    "TORCH_SOLVE",
    min_args=2,
    max_args=8,
    category="xl-lesson3",
    differentiable=False,
    array_result=True,
)
def torch_solve(
    data: Block,
    target: Block,
    init_params: Block | None = None,
    model_kind: Block | None = None,
    hidden: Block | None = None,
    steps: Block | None = None,
    lr: Block | None = None,
    seed: Block | None = None,
) -> Block:
    """Train a linear or ReLU model on data/target (MSE); returns the trained parameters."""
    try:
        options = FitOptions(
            model_kind=_text(model_kind, "linear"),
            hidden=_int_or_none(hidden),
            steps=int(_number(steps, DEFAULT_STEPS)),
            lr=float(_number(lr, DEFAULT_LR)),
            seed=int(_number(seed, DEFAULT_SEED)),
        )
    except (_BadArgument, BadInputError):
        return _value_error(data)
    batch, run = _batch_run(data, target, init_params)
    results = []
    for b in range(batch):
        for r in range(run):
            results.append(_solve_one(data, target, init_params, options, b, r))
    if any(result is None for result in results):
        return _value_error(data)
    shape = results[0].shape
    if any(result.shape != shape for result in results):
        return _value_error(data)
    num = torch.stack(results).reshape(batch, run, *shape)
    return Block(num=num)


class _BadArgument(Exception):
    """An argument that makes TORCH_SOLVE return #VALUE!."""


def _solve_one(data, target, init_params, options, b, r) -> torch.Tensor | None:
    """Trained parameters for restart `b`, run cell `r`, shaped for the sheet; None for #VALUE!."""
    try:
        x = _numbers(data, b, r)  # (n_rows, n_features)
        y = _numbers(target, b, r).reshape(-1)
        init = None if _is_blank(init_params) else _numbers(init_params, b, r)
    except _BadArgument:
        return None
    n_features = x.shape[1]
    if options.model_kind == "relu" and options.hidden is None:
        if init is None or init.numel() % n_features:
            return None
        options = replace(options, hidden=init.numel() // n_features)
    try:
        flat_init = None if init is None else init.reshape(-1)
        result = fit(x, y, flat_init, options, device=x.device.type)
    except BadInputError:
        return None
    if init is not None:
        return result.params.reshape(init.shape)
    rows = 1 if options.model_kind == "linear" else options.hidden
    return result.params.reshape(rows, n_params(options, n_features) // rows)


def _batch_run(*blocks: Block | None) -> tuple[int, int]:
    batch = max(block.num.shape[0] for block in blocks if block is not None)
    run = max(block.num.shape[1] for block in blocks if block is not None)
    return batch, run


def _numbers(block: Block, b: int, r: int) -> torch.Tensor:
    """The (rows, cols) numbers of one restart and run; text, booleans, blanks or errors → #VALUE!."""
    if block.err is not None and bool(block.err.ne(0).any()):
        raise _BadArgument
    if block.kind is not None and bool(block.kind.ne(int(Kind.NUMBER)).any()):
        raise _BadArgument
    num = block.num
    return num[min(b, num.shape[0] - 1), min(r, num.shape[1] - 1)].detach().to(torch.float64)


def _is_blank(block: Block | None) -> bool:
    if block is None:
        return True
    return block.is_scalar and block.kind is not None and bool(block.kind.eq(int(Kind.BLANK)).all())


def _scalar(block: Block | None):
    """The value of a 1×1 option argument: None when blank or omitted, str for text, else float."""
    if _is_blank(block):
        return None
    if not block.is_scalar or (block.err is not None and bool(block.err.ne(0).any())):
        raise _BadArgument
    if block.kind is not None and int(block.kind.reshape(-1)[0]) == Kind.TEXT:
        return str(block.text.reshape(-1)[0])
    return float(block.num.reshape(-1)[0])


def _text(block: Block | None, default: str) -> str:
    value = _scalar(block)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _BadArgument
    return value.strip().lower()


def _number(block: Block | None, default: float) -> float:
    value = _scalar(block)
    if value is None:
        return default
    if isinstance(value, str):
        raise _BadArgument
    return value


def _int_or_none(block: Block | None) -> int | None:
    value = _scalar(block)
    if value is None:
        return None
    if isinstance(value, str) or value != int(value):
        raise _BadArgument
    return int(value)


def _value_error(like: Block) -> Block:
    return Block.error(ErrorCode.VALUE, dtype=like.num.dtype, device=like.num.device)
