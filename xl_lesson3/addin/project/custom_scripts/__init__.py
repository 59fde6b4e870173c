"""The scripts the ribbon's buttons run: the project's macros from `udfs.macros`."""

from udfs.macros import build_titanic_sheets, evaluate, loss_chart, reset_parameters, solve

__all__ = ["build_titanic_sheets", "evaluate", "loss_chart", "reset_parameters", "solve"]
