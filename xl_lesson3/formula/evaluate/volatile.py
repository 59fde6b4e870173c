"""Volatile functions (RAND, RANDBETWEEN, RANDARRAY, NOW, TODAY): drawn once, from a seed.

Excel recomputes them on every recalculation, which would make a solve chase a moving target
and a test flaky. Here one evaluation (an `eval`, or the compilation of a solve's program, which
folds everything that does not depend on the changing cells once) draws all its random numbers
from one generator seeded by `volatile_scope` (seed 0 unless the caller gives one) and sees one
fixed "now". The function library asks `generator()` and `now()`; nothing else keeps state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

DEFAULT_SEED = 0


@dataclass
class _Scope:
    generator: np.random.Generator
    now: dt.datetime


_SCOPE: ContextVar[_Scope | None] = ContextVar("xl_lesson3_volatile", default=None)


@contextmanager
def volatile_scope(seed: int | None = None) -> Iterator[None]:
    """Within the block, volatile functions draw from one generator seeded with `seed` and see
    one time. Nested scopes keep the outer one (one evaluation, one draw)."""
    if _SCOPE.get() is not None:
        yield
        return
    token = _SCOPE.set(
        _Scope(np.random.default_rng(DEFAULT_SEED if seed is None else seed), dt.datetime.now())
    )
    try:
        yield
    finally:
        _SCOPE.reset(token)


def generator() -> np.random.Generator:
    """The current evaluation's generator (a fresh seed-0 one outside any scope)."""
    scope = _SCOPE.get()
    return scope.generator if scope is not None else np.random.default_rng(DEFAULT_SEED)


def now() -> dt.datetime:
    """The current evaluation's fixed time (the wall clock outside any scope)."""
    scope = _SCOPE.get()
    return scope.now if scope is not None else dt.datetime.now()
