"""How every UDF and macro meets xlwings: readable errors, and work off the server's event loop.

`excel_call` wraps a function before xlwings' decorators see it:

- the project's exceptions (`XlLesson3Error`: "press Solve first", "select the parameter
  cells", "no CUDA device" ...) become `xlwings.XlwingsError`. xlwings Server answers those
  with HTTP 400 and the message, which the add-in shows (the ribbon's alert, the task pane, the
  ``#VALUE!`` tooltip of a function) and does not retry; any other exception is a bug and stays
  a 500. Classic desktop xlwings shows the same message in its error box.
- on xlwings Server (``XLWINGS_ON_SERVER`` set before xlwings is imported), the wrapper is an
  ``async`` function that runs the work in the worker pool (`xl_lesson3.addin.jobs.offload`),
  so one long solve never blocks other calls. A ``job_id`` argument, when the function has
  one, names the job the task pane polls and cancels.

`functools.wraps` keeps the signature, type hints and docstring, which xlwings reads to build
the function's metadata.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any, TypeVar

import xlwings as xw

from xl_lesson3.errors import XlLesson3Error

F = TypeVar("F", bound=Callable[..., Any])


def on_server() -> bool:
    """Whether this process serves the add-in (xlwings Server's decorators are bound)."""
    return os.environ.get("XLWINGS_ON_SERVER", "").strip().lower() in ("1", "true", "yes")


def excel_call(func: F) -> F:
    """`func` with project errors as xlwings errors; async and pooled on xlwings Server."""

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except XlLesson3Error as exc:
            raise xw.XlwingsError(str(exc)) from exc

    if not on_server():
        return guarded  # type: ignore[return-value]

    from xl_lesson3.addin.jobs import offload

    signature = inspect.signature(func)

    @functools.wraps(func)
    async def pooled(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        job_id = bound.arguments.get("job_id")
        return await offload(
            functools.partial(guarded, *args, **kwargs),
            job_id=job_id if isinstance(job_id, str) else None,
        )

    return pooled  # type: ignore[return-value]
