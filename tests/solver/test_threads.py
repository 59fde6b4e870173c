"""`ThreadGovernor`: a solve running on two threads drops to one while other processes keep
every core busy (their spinning is real processes, measured through /proc)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from xl_lesson3.solver.threads import ThreadGovernor
from xl_lesson3.workbook.spare_core import OtherLoad

SPIN = "import time\nend = time.time() + 4\nwhile time.time() < end: pass"
needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="Linux's /proc")
few_cores = pytest.mark.skipif((os.cpu_count() or 1) > 8, reason="a process per core")


def _spinners() -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(os.cpu_count() or 1)]


def _stop(spinners: list[subprocess.Popen]) -> None:
    for spinner in spinners:
        spinner.kill()
        spinner.wait()


@needs_proc
@few_cores
def test_other_load_counts_other_processes_not_ours():
    load = OtherLoad()
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:  # our own work: not "other"
        pass
    ours = load.sample()
    spinners = _spinners()
    try:
        time.sleep(0.5)
        load.sample()
        time.sleep(0.5)
        theirs = load.sample()
    finally:
        _stop(spinners)
    assert theirs is not None and ours is not None
    assert theirs >= 0.6 * (os.cpu_count() or 1) - 0.5
    assert theirs > ours


@needs_proc
@few_cores
def test_the_governor_drops_to_one_thread_while_the_cores_are_taken():
    before = torch.get_num_threads()
    governor = ThreadGovernor(2, interval=0.0)
    torch.set_num_threads(2)
    spinners = _spinners()
    try:
        time.sleep(0.3)
        governor.before_fit(None)  # type: ignore[arg-type]  # it reads nothing of the fit
        time.sleep(0.5)
        governor.after_step(None)  # type: ignore[arg-type]
        assert torch.get_num_threads() == 1
        assert governor.changes == 1
    finally:
        _stop(spinners)
        torch.set_num_threads(before)
