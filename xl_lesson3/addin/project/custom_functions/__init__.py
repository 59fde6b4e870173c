"""The UDFs xlwings Server publishes: the project's worksheet functions from `udfs.functions`."""

from udfs.functions import (
    relu,
    sigmoid,
    torch_logloss,
    torch_mmult,
    torch_mse,
    torch_solve,
    torch_sumproduct,
)

__all__ = [
    "relu",
    "sigmoid",
    "torch_logloss",
    "torch_mmult",
    "torch_mse",
    "torch_solve",
    "torch_sumproduct",
]
