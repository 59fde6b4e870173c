"""What every benchmark module shares: the run's configuration and small timing helpers."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE_DIR = Path(__file__).resolve().parent / ".cache"  # generated workbooks; ignored by git


@dataclass(frozen=True)
class BenchConfig:
    """quick: the small sizes (`--quick`); devices: where the device-dependent runs go ("cpu"
    first, then "cuda" when asked for and present); tiny: the smallest sizes, for the smoke test;
    threads: torch's intra-op CPU threads (None: torch's default), also in worker processes;
    million: also the 1M-row .xlsx in `big_xlsx` (slow)."""

    quick: bool = False
    devices: tuple[str, ...] = ("cpu",)
    cache_dir: Path = CACHE_DIR
    tiny: bool = False
    threads: int | None = None
    million: bool = False

    @property
    def mode(self) -> str:
        return "tiny" if self.tiny else ("quick" if self.quick else "full")


def best_of(fn: Callable[[], object], repeats: int, min_seconds: float = 0.0) -> float:
    """The fastest of `repeats` timed calls (more calls while their total is under min_seconds)."""
    best, total, calls = math.inf, 0.0, 0
    while calls < repeats or total < min_seconds:
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best, total, calls = min(best, elapsed), total + elapsed, calls + 1
        if calls >= 1000:
            break
    return best


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of log(y) on log(x): the growth exponent (None for < 2 points)."""
    pairs = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y and y > 0]
    if len(pairs) < 2:
        return None
    mean_x = sum(p[0] for p in pairs) / len(pairs)
    mean_y = sum(p[1] for p in pairs) / len(pairs)
    sxx = sum((p[0] - mean_x) ** 2 for p in pairs)
    sxy = sum((p[0] - mean_x) * (p[1] - mean_y) for p in pairs)
    return sxy / sxx if sxx else None
