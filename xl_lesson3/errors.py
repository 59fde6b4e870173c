"""One exception hierarchy for the whole project.

Every message starts with the place it is about (``nnet!AC4: ...``, ``--lr: ...``) so a user can
find it. The CLI maps `BadInputError` subclasses to exit status 2 and every other `XlLesson3Error`
to exit status 1.
"""

from __future__ import annotations


class XlLesson3Error(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1


class BadInputError(XlLesson3Error):
    """The user's input (a file, a cell, an option) is wrong; exit status 2."""

    exit_code = 2


class WorkbookIOError(BadInputError):
    """A workbook or data file cannot be read or written."""


class FormulaSyntaxError(BadInputError):
    """A formula cannot be parsed. The message shows the formula with a caret."""


class UnknownReferenceError(BadInputError):
    """A reference, defined name or table name that does not resolve."""


class UnsupportedFunctionError(BadInputError):
    """A formula calls a function the engine does not implement."""


class CircularReferenceError(BadInputError):
    """Formulas depend on themselves; the message names the cycle."""


class EvaluationError(XlLesson3Error):
    """An error value (``#DIV/0!`` ...) or text reached a place that needs a number."""


class SolverError(XlLesson3Error):
    """The solver could not run or could not finish (divergence, bad model)."""


class SolverModelError(BadInputError):
    """The Solver model (objective, changing cells, constraints) is malformed or unsupported."""


class DeviceError(BadInputError):
    """A requested device (``cuda``) is not available."""


def located(where: str, message: str) -> str:
    """Format a message that starts with its location, e.g. ``nnet!AC4: IF needs 2 or 3 arguments``."""
    return f"{where}: {message}" if where else message
