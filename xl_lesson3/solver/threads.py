"""How many torch CPU threads a solve uses when the caller leaves it to us (``--threads auto``).

One thread, unless every call's tensors are big. An elementwise operation on a (restarts, rows)
block splits across threads only above torch's grain (32,768 numbers), and then each operation
ends at a barrier where every thread must have run: on a busy 2-core machine a descheduled
thread made each evaluation of the 712-row Titanic network ten times slower (48 ms vs 550 ms).
With a million numbers per block an operation takes milliseconds and a barrier's wait is a small
part of it: 50 steps of the 100k-row network at 16 restarts took 2.7 s on two idle cores against
4.2 s on one. But with another job on the second core the same steps took three times as long
on two threads as on one, so only cores idle when the solve starts count
(`workbook.spare_core.spare_threads`)."""

from __future__ import annotations

from xl_lesson3.workbook.spare_core import spare_threads

# Numbers per block (batch x cells of the widest unit the parameters change) from which a
# second thread pays. Measured on 2 cores: the Titanic net at 256 restarts (182k) was faster
# on two threads on a quiet machine and ten times slower on a busy one; at 1.6M, faster on both.
PARALLEL_FROM = 1 << 20


def auto_threads(batch: int, widest_block: int) -> int:
    """Threads for a solve whose calls handle `batch` parameter vectors over a widest dynamic
    block of `widest_block` cells: from `PARALLEL_FROM` numbers, one per core idle now (ours
    included), else one."""
    if batch * widest_block < PARALLEL_FROM:
        return 1
    return spare_threads()
