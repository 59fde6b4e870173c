"""The project's worksheet functions (UDFs) for Excel, through xlwings.

Each UDF converts its arguments to `Block`s, calls the formula engine's own implementation from
the function registry (so a cell computes exactly what the engine computes when it compiles the
same formula), and converts the result back. Excel names are the upper-cased Python names:
RELU, SIGMOID, TORCH_SUMPRODUCT, TORCH_MMULT, TORCH_MSE, TORCH_LOGLOSS, TORCH_SOLVE.

Arguments arrive as xlwings delivers them: ``ndim=2`` makes every range a list of rows, blank
cells are None, ``err_to_str`` turns error cells into their text. Array results spill (dynamic
arrays; xlwings Server always spills). ``device`` is optional everywhere: ``cpu`` (default),
``cuda`` or ``auto``. TORCH_SUMPRODUCT takes any number of arrays, so its device, if any, is a
trailing ``"cpu"``/``"cuda"``/``"auto"`` argument.

Every function goes through `udfs.excel.excel_call`: the project's errors reach Excel as a
readable message (HTTP 400 on xlwings Server: the ``#VALUE!`` tooltip, no retries), and on the
server the work runs in the worker pool, off the event loop. TORCH_SOLVE is cached on its
arguments (a hash of them): Excel recalculates it whenever anything upstream changes, and
training again from the same inputs gives the same parameters. In classic desktop Excel it is
not run inside the Function Wizard and runs in a thread (``async_mode="threading"``).

Importing this module needs no Excel: on Linux the xlwings decorators return the function
unchanged; in xlwings Server (``XLWINGS_ON_SERVER=true`` before xlwings is imported) they
record the metadata the server publishes; on Windows they register classic xlwings UDFs.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

import torch
import xlwings as xw

from udfs.convert import Cell, Rows, as_rows, from_block, scalar_number, scalar_text, to_block
from udfs.excel import excel_call, on_server
from xl_lesson3.addin.fit import (
    DEFAULT_LR,
    DEFAULT_SEED,
    DEFAULT_STEPS,
    FitOptions,
    one_thread_when_small,
    resolve_device,
)
from xl_lesson3.errors import BadInputError
from xl_lesson3.formula.functions.core.registry import lookup
from xl_lesson3.formula.values import Block

DEVICES = ("cpu", "cuda", "auto")
_RANGE = {"ndim": 2, "err_to_str": True}  # every range as a list of rows, errors as text
_DEVICE_DOC = 'Optional: "cpu" (default), "cuda" or "auto".'
SOLVE_CACHE_SIZE = 32
_solve_cache: OrderedDict[str, Rows | Cell] = OrderedDict()
_solve_cache_lock = threading.Lock()


def _run(name: str, args: list, device: object = None) -> Rows | Cell:
    """Convert `args`, call the registered implementation of `name`, convert the result back."""
    dev = resolve_device(scalar_text(device, "cpu"))
    blocks = [arg if isinstance(arg, Block) else to_block(arg, device=dev) for arg in args]
    with torch.no_grad():
        result = lookup(name).impl(*blocks)
    return from_block(result)


@xw.func
@xw.arg("x", doc="A number, a cell or a range.", **_RANGE)
@xw.arg("device", doc=_DEVICE_DOC)
@excel_call
def relu(x, device=None):
    """Rectified linear unit, max(x, 0), of every value; a range spills."""
    return _run("RELU", [x], device)


@xw.func
@xw.arg("x", doc="A number, a cell or a range.", **_RANGE)
@xw.arg("device", doc=_DEVICE_DOC)
@excel_call
def sigmoid(x, device=None):
    """Logistic sigmoid, 1/(1+EXP(-x)), of every value; a range spills."""
    return _run("SIGMOID", [x], device)


@xw.func
@xw.arg("arrays", doc="Two or more ranges of the same shape.", **_RANGE)
@excel_call
def torch_sumproduct(*arrays):
    """SUMPRODUCT computed with PyTorch; a last argument "cpu"/"cuda"/"auto" picks the device."""
    arrays = list(arrays)
    device = None
    if len(arrays) > 1 and scalar_text(arrays[-1], "") in DEVICES and _is_scalar(arrays[-1]):
        device = arrays.pop()
    return _run("TORCH_SUMPRODUCT", arrays, device)


@xw.func
@xw.arg("array1", doc="The left matrix (n × k).", **_RANGE)
@xw.arg("array2", doc="The right matrix (k × m).", **_RANGE)
@xw.arg("device", doc=_DEVICE_DOC)
@excel_call
def torch_mmult(array1, array2, device=None):
    """MMULT computed with PyTorch: the n × m matrix product; spills."""
    return _run("TORCH_MMULT", [array1, array2], device)


@xw.func
@xw.arg("predictions", doc="Predicted values.", **_RANGE)
@xw.arg("targets", doc="True values, same shape as predictions.", **_RANGE)
@xw.arg("device", doc=_DEVICE_DOC)
@excel_call
def torch_mse(predictions, targets, device=None):
    """Mean squared error of two ranges of the same shape."""
    return _run("TORCH_MSE", [predictions, targets], device)


@xw.func
@xw.arg("predictions", doc="Predicted probabilities in (0, 1).", **_RANGE)
@xw.arg("targets", doc="0/1 targets, same shape as predictions.", **_RANGE)
@xw.arg("device", doc=_DEVICE_DOC)
@excel_call
def torch_logloss(predictions, targets, device=None):
    """Mean binary log loss (cross-entropy) of probabilities against 0/1 targets."""
    return _run("TORCH_LOGLOSS", [predictions, targets], device)


# Classic desktop Excel: not in the Function Wizard, and in a thread (xlwings Server ignores
# both; there the worker pool of `excel_call` does that job).
@xw.func(call_in_wizard=False, **({} if on_server() else {"async_mode": "threading"}))
@xw.arg("data", doc="Input rows, one column per feature (add a column of 1s for a bias).", **_RANGE)
@xw.arg("target", doc="One target value per data row.", **_RANGE)
@xw.arg("init_params", doc="Starting parameters; blank draws RAND()-0.5 from seed.", **_RANGE)
@xw.arg("model_kind", doc='"linear" (default) or "relu".')
@xw.arg("hidden", doc="relu: hidden units (default: rows of init_params).")
@xw.arg("steps", doc=f"Adam steps (default {DEFAULT_STEPS}).")
@xw.arg("lr", doc=f"Learning rate (default {DEFAULT_LR}).")
@xw.arg("seed", doc=f"Random seed (default {DEFAULT_SEED}).")
@xw.arg("device", doc=_DEVICE_DOC)
@excel_call
def torch_solve(
    data,
    target,
    init_params=None,
    model_kind="linear",
    hidden=None,
    steps=DEFAULT_STEPS,
    lr=DEFAULT_LR,
    seed=DEFAULT_SEED,
    device=None,
):
    """Train a linear or ReLU model on data/target (MSE); returns the trained parameters."""
    key = _solve_key(data, target, init_params, model_kind, hidden, steps, lr, seed, device)
    with _solve_cache_lock:
        if key in _solve_cache:
            _solve_cache.move_to_end(key)
            return _solve_cache[key]
    result = _torch_solve(data, target, init_params, model_kind, hidden, steps, lr, seed, device)
    with _solve_cache_lock:
        _solve_cache[key] = result
        while len(_solve_cache) > SOLVE_CACHE_SIZE:
            _solve_cache.popitem(last=False)
    return result


def _solve_key(*args) -> str:
    """A hash of TORCH_SOLVE's arguments as Excel sent them (numbers, text, None)."""
    text = json.dumps(args, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _torch_solve(data, target, init_params, model_kind, hidden, steps, lr, seed, device):
    dev = resolve_device(scalar_text(device, "cpu"))
    options = [
        scalar_text(model_kind, "linear"),
        scalar_number(hidden, None),
        scalar_number(steps, DEFAULT_STEPS),
        scalar_number(lr, DEFAULT_LR),
        scalar_number(seed, DEFAULT_SEED),
    ]
    _check_solve_arguments(data, target, options)
    blocks = [to_block(data, device=dev), to_block(target, device=dev)]
    blocks.append(to_block(init_params, device=dev))
    blocks += [to_block(value, device=dev, reference=False) for value in options]
    with one_thread_when_small(blocks[0].num.numel()):
        result = lookup("TORCH_SOLVE").impl(*blocks)
    return from_block(result)


def _check_solve_arguments(data, target, options: list) -> None:
    """Say what is wrong, where the engine's TORCH_SOLVE would only return #VALUE!.

    The message reaches Excel as the error's tooltip (xlwings Server) or error box (desktop).
    """
    model_kind, hidden, steps, lr, seed = options
    for name, value in (("hidden", hidden), ("steps", steps), ("seed", seed)):
        if value is not None and value != int(value):
            raise BadInputError(f"TORCH_SOLVE: {name} must be a whole number, got {value}")
    FitOptions(  # raises BadInputError naming the option
        model_kind=model_kind,
        hidden=None if hidden is None else int(hidden),
        steps=int(steps),
        lr=lr,
        seed=int(seed),
    )
    n_rows, n_targets = len(as_rows(data)), sum(len(row) for row in as_rows(target))
    if n_rows != n_targets:
        raise BadInputError(
            f"TORCH_SOLVE: data has {n_rows} rows but target has {n_targets} values"
        )


def _is_scalar(value: object) -> bool:
    if not isinstance(value, (list, tuple)):
        return True
    return len(value) == 1 and (not isinstance(value[0], (list, tuple)) or len(value[0]) == 1)
