"""How many torch CPU threads a solve uses when the caller leaves it to us (``--threads auto``).

One thread, unless every call's tensors are big. An elementwise operation on a (restarts, rows)
block splits across threads only above torch's grain (32,768 numbers), and then each operation
ends at a barrier where every thread must have run: on a busy 2-core machine a descheduled
thread made each evaluation of the 712-row Titanic network ten times slower (48 ms vs 550 ms).
With a million numbers per block an operation takes milliseconds and a barrier's wait is a small
part of it: 50 steps of the 100k-row network at 16 restarts took 2.7 s on two idle cores against
4.2 s on one. But with another job on the second core the same steps took three times as long
on two threads as on one, so only cores idle when the solve starts count
(`workbook.spare_core.spare_threads`), and `ThreadGovernor` goes back to one thread while
another process takes a core during the solve (and up again once it leaves)."""

from __future__ import annotations

import time

import torch

from xl_lesson3.solver.loop import Callback, Fit
from xl_lesson3.workbook.spare_core import OtherLoad, spare_threads

# Numbers per block (batch x cells of the widest unit the parameters change) from which a
# second thread pays. Measured on 2 cores: the Titanic net at 256 restarts (182k) was faster
# on two threads on a quiet machine and ten times slower on a busy one; at 1.6M, faster on two
# idle cores (a core another process takes is `ThreadGovernor`'s business).
PARALLEL_FROM = 1 << 20
# Cores other processes take that make our second thread a loss, or leave it a gain again.
BUSY_CORE, FREE_CORE = 0.6, 0.3


def auto_threads(batch: int, widest_block: int) -> int:
    """Threads for a solve whose calls handle `batch` parameter vectors over a widest dynamic
    block of `widest_block` cells: from `PARALLEL_FROM` numbers, one per core idle now (ours
    included), else one."""
    if batch * widest_block < PARALLEL_FROM:
        return 1
    return spare_threads()


class ThreadGovernor(Callback):
    """torch's threads during a fit: `threads` while other processes leave the cores idle,
    one while they take a core (measured every `interval` seconds of steps)."""

    order = 90

    def __init__(self, threads: int, interval: float = 0.5) -> None:
        self.threads, self.interval = threads, interval
        self.load: OtherLoad | None = None
        self.last = 0.0
        self.changes = 0  # how often it switched (the tests read it)

    def before_fit(self, fit: Fit) -> None:
        self.load, self.last = OtherLoad(), time.perf_counter()

    def after_step(self, fit: Fit) -> None:
        now = time.perf_counter()
        if self.load is None or now - self.last < self.interval:
            return
        self.last = now
        others = self.load.sample()
        if others is None:
            return
        current = torch.get_num_threads()
        wanted = 1 if others >= BUSY_CORE else self.threads if others < FREE_CORE else current
        if wanted != current:
            torch.set_num_threads(wanted)
            self.changes += 1
