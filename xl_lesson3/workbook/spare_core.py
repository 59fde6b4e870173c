"""Whether a second core is idle now: the write-back's checks run there only when one is.

The checks of a big sheet (`xlsx_verify_stream`, `xlsx_verify_fast`'s expat process) move ~4 s of
work to another process. On a quiet 2-core machine that work overlaps the patching; on a busy
one the two processes share one core and the write-back gets slower than doing it all here
(measured: 6.3-7.2 s against 5.6-6.2 s with another job on the second core). The load average
cannot tell: our own solve keeps it near 1 for a minute after it ends. So on Linux the idle time
of all cores is sampled over a short window (/proc/stat); elsewhere, two usable cores count as
a free one.
"""

from __future__ import annotations

import os
import time

_WINDOW = 0.05  # seconds sampled
_IDLE_CORES = 0.6  # idle capacity (in cores) that counts as a free core


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def core_free() -> bool:
    """Whether another process would find a core idle now."""
    if usable_cores() < 2:
        return False
    first = _cpu_times()
    if first is None:
        return True
    time.sleep(_WINDOW)
    second = _cpu_times()
    if second is None:
        return True
    idle, total = second[0] - first[0], second[1] - first[1]
    if total <= 0:
        return True
    cores = os.cpu_count() or 1
    return idle / total * cores >= _IDLE_CORES


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies of all cores together, or None where /proc/stat is not there."""
    try:
        with open("/proc/stat", "rb") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != b"cpu":
        return None
    times = [int(x) for x in fields[1:]]
    idle = times[3] + (times[4] if len(times) > 4 else 0)  # idle + iowait
    return idle, sum(times[:8])  # guest time is already inside user
