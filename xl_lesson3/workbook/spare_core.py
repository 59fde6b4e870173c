"""Whether other cores are idle now: the write-back's check and torch's threads use them only then.

The write-back's check of a big sheet runs expat in a process of its own (`xlsx_verify_fast`,
~2 s of a 100k-row sheet) beside the comparison. On a quiet 2-core machine the two overlap; on a
busy one they share one core and the process only adds its start. The load average cannot
tell: our own solve keeps it near 1 for a minute after it ends. So on Linux the idle time of all
cores is sampled over a short window (/proc/stat); elsewhere, every usable core but ours counts
as idle. The same goes for torch's threads on big tensors (`solver.threads`): with the other
core busy, two threads made 50 steps of a 100k-row network three times slower. `OtherLoad`
tells, while a solve runs, how many cores other processes take."""

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
    return usable_cores() >= 2 and idle_cores() >= _IDLE_CORES


def idle_cores() -> float:
    """About how many cores sit idle now (all of them but ours where it cannot be measured)."""
    first = _cpu_times()
    if first is None:
        return usable_cores() - 1.0
    time.sleep(_WINDOW)
    second = _cpu_times()
    if second is None:
        return usable_cores() - 1.0
    idle, total = second[0] - first[0], second[1] - first[1]
    if total <= 0:
        return usable_cores() - 1.0
    return idle / total * (os.cpu_count() or 1)


def spare_threads() -> int:
    """Threads a parallel computation of ours can run now: ours, plus one per idle core."""
    return threads_for(idle_cores(), usable_cores())


def threads_for(idle: float, usable: int) -> int:
    """Ours plus one per idle core (`_IDLE_CORES` of idle time counts as a core), at most
    `usable`."""
    return max(1, min(usable, 1 + int(idle + 1.0 - _IDLE_CORES)))


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


class OtherLoad:
    """Cores other processes kept busy between two calls of `sample` (Linux; else None).

    The machine's busy time less this process's own (/proc/self/stat), so a solve can tell its
    own threads' work from someone else's while it runs.
    """

    def __init__(self) -> None:
        self._last = _busy_and_own()

    def sample(self) -> float | None:
        now = _busy_and_own()
        last, self._last = self._last, now
        if now is None or last is None or now[2] <= last[2]:
            return None
        busy, own, total = (a - b for a, b in zip(now, last, strict=True))
        return max(0.0, (busy - own) / total * (os.cpu_count() or 1))


def _busy_and_own() -> tuple[int, int, int] | None:
    """(busy jiffies of all cores, this process's jiffies, all jiffies), or None."""
    times = _cpu_times()
    if times is None:
        return None
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        own = int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)
    except (OSError, IndexError, ValueError):
        return None
    idle, total = times
    return total - idle, own, total
