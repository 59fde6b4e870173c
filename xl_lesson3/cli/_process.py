"""Process hygiene for the command line: the garbage collector and a fast exit.

Why: after ``import torch`` the interpreter holds ~180k container objects, and reading a
workbook and compiling it allocate hundreds of thousands more, none of them cyclic garbage.
CPython's collector is triggered by allocation counts, so it runs over and over while we build,
each time scanning everything alive (on a 100k-row sheet it cost 40% of the load). So a command
that reads and compiles runs with the collector off; when its long phase starts (the solver's
first step) `resume_collector` moves everything alive into the permanent generation
(``gc.freeze``), which later collections skip, and turns the collector back on, so a long
optimisation still frees reference cycles.

At exit, tearing down torch and millions of objects one by one takes most of a second; the CLI
entry point flushes its output and leaves with ``os._exit`` instead. Library code never does.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_paused = False


@contextmanager
def collector_paused(pause: bool = True) -> Iterator[None]:
    """The collector off inside (when `pause` and it was on); `resume_collector` at the end."""
    global _paused
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    _paused = True
    try:
        yield
    finally:
        resume_collector()


def resume_collector() -> None:
    """Freeze what is alive now and turn the collector back on (once; no-op when not paused)."""
    global _paused
    if not _paused:
        return
    _paused = False
    gc.freeze()
    gc.enable()


def flush_and_exit(status: int) -> None:
    """Flush stdout and stderr, then end the process now with `status`, skipping teardown.

    Only for the CLI's entry point: nothing after it runs (no atexit handlers, no finalisers),
    so every command must have closed its files by the time it returns.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream
            status = status or 1
    os._exit(status)
