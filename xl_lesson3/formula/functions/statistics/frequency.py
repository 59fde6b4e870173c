"""Statistics that count how often numbers occur: MODE.SNGL, MODE.MULT and FREQUENCY.

The data are read as SUM reads a range (only numbers count, the first error wins), except
that text typed directly into MODE is left out (Excel's saved values: ``MODE.SNGL(A1:B1,"")``
is the mode of A1:B1) and an empty argument is #VALUE!. MODE.SNGL and FREQUENCY compare every
pair of numbers with tensor ops; MODE.MULT's result has as many rows as there are modes, so it
is found per cell in numpy and padded with #N/A to the longest in a run, as Excel pads an
array formula's extra cells.
"""

from __future__ import annotations

import numpy as np
import torch

from xl_lesson3.errors import EvaluationError
from xl_lesson3.formula.functions.core.coercion import Action, Rule
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.core.shapes import error_where, merge_errors
from xl_lesson3.formula.functions.math.rounding import _with_errors
from xl_lesson3.formula.functions.statistics.descriptive import sample
from xl_lesson3.formula.values import Block, ErrorCode

CATEGORY = "Statistical"

_RANGE = Rule("MODE range", Action.SKIP, Action.SKIP, Action.SKIP)
_DIRECT = Rule("MODE argument", Action.KEEP, Action.PARSE_OR_SKIP, Action.VALUE_ERROR)


def _frequencies(args):
    """Values ``(b, r, K)``, include mask, how often each value occurs among the counted ones
    ``(b, r, K)`` and the first error."""
    values, include, _count, err = sample(args, _RANGE, _DIRECT)
    same = (values[..., :, None] == values[..., None, :]) & include[..., :, None]
    same = same & include[..., None, :]
    return values, include, same.sum(dim=-1), err


@register("MODE.SNGL", min_args=1, max_args=255, category=CATEGORY, aliases=("MODE",))
def mode_sngl(*args: Block) -> Block:
    """MODE.SNGL(number1, ...): the most frequent number (the first, on ties); #N/A if none
    repeats.
    """
    values, _include, freq, err = _frequencies(args)
    best = freq.amax(dim=-1, keepdim=True)
    first = (freq == best).to(torch.uint8).argmax(dim=-1, keepdim=True)
    values_ = torch.gather(values, -1, first)[..., None]
    return _with_errors(values_, err, (best[..., None] <= 1, ErrorCode.NA))


@register(
    "MODE.MULT",
    min_args=1,
    max_args=255,
    category=CATEGORY,
    differentiable=False,
    array_result=True,
)
def mode_mult(*args: Block) -> Block:
    """MODE.MULT(number1, ...): every most frequent number, in order of first appearance, as
    a column; #N/A if none repeats.
    """
    values, include, freq, err = _frequencies(args)
    best = freq.amax(dim=-1, keepdim=True)
    lead = values.shape[:-1]
    modes: list[list[float]] = []
    for v, inc, f, b in zip(
        values.detach().reshape(-1, values.shape[-1]).tolist(),
        include.expand_as(values).reshape(-1, values.shape[-1]).tolist(),
        freq.reshape(-1, values.shape[-1]).tolist(),
        best.reshape(-1).tolist(),
    ):
        found = [] if b <= 1 else [x for x, i, n in zip(v, inc, f) if i and n == b]
        modes.append(list(dict.fromkeys(found)))
    rows = max(1, max(len(m) for m in modes))
    grid = np.zeros((len(modes), rows))
    missing = np.ones((len(modes), rows), dtype=bool)
    for i, found in enumerate(modes):
        grid[i, : len(found)] = found
        missing[i, : len(found)] = False
    num = torch.as_tensor(grid, dtype=values.dtype, device=values.device)
    missing_t = torch.as_tensor(missing, device=values.device)
    num, missing_t = num.reshape(*lead, rows, 1), missing_t.reshape(*lead, rows, 1)
    errs = merge_errors(err, error_where(missing_t, ErrorCode.NA))
    return Block(torch.where(missing_t, 0.0, num), err=errs)


def _bins(bins: Block):
    """The bins' numbers ``(b, r, B)`` in the order given (text, booleans and blanks left
    out), and their first error."""
    edges, include, _count, err = sample((bins,))
    include = include.expand_as(edges)
    layout = include.reshape(-1, edges.shape[-1])
    if not bool((layout == layout[:1]).all()):
        raise EvaluationError("FREQUENCY's bins hold numbers in different cells across a run")
    keep = layout[0].nonzero().flatten()
    if keep.numel() == 0:
        # Excel's saved values: bins with no number (blank cells) act as the one bin 0
        return torch.zeros_like(edges[..., :1]), err
    return edges[..., keep], err


@register(
    "FREQUENCY",
    min_args=2,
    max_args=2,
    category=CATEGORY,
    differentiable=False,
    array_result=True,
)
def frequency(data_array: Block, bins_array: Block) -> Block:
    """FREQUENCY(data_array, bins_array): how many numbers fall in each bin, a column of one
    more row than there are bins (the last: numbers above every bin).

    A bin counts the numbers above the next smaller bin and up to itself; a repeated bin
    counts nothing the second time. Text, booleans and blanks are left out of both arrays;
    bins without any number act as the one bin 0, as in Excel.
    """
    data, data_in, _n, data_err = sample((data_array,))
    edges, bin_err = _bins(bins_array)  # (b, r, B)
    data, data_in = data.detach(), data_in.expand_as(data)
    x = data[..., None, :]  # (b, r, 1, K) against each bin (b, r, B, 1)
    upper = edges.detach()[..., :, None]
    # the next smaller bin of each bin (-inf for the smallest)
    smaller = edges.detach()[..., None, :] < upper  # (b, r, B, B)
    lower = torch.where(smaller, edges.detach()[..., None, :], float("-inf")).amax(dim=-1)
    counted = data_in[..., None, :] & (x <= upper) & (x > lower[..., None])
    counts = counted.sum(dim=-1).to(data.dtype)  # (b, r, B)
    n_bins = edges.shape[-1]
    earlier = torch.ones(n_bins, n_bins, dtype=torch.bool, device=data.device).tril(-1)
    repeated = ((edges[..., :, None] == edges[..., None, :]) & earlier).any(dim=-1)
    counts = torch.where(repeated, 0.0, counts)
    above = data_in & (data > edges.detach().amax(dim=-1, keepdim=True))
    last = above.sum(dim=-1, keepdim=True).to(data.dtype)
    values = torch.cat([counts, last], dim=-1)[..., None]  # (b, r, B + 1, 1)
    err = merge_errors(data_err, bin_err)
    return Block(values if err is None else torch.where(err != 0, 0.0, values), err=err)
