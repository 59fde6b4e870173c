"""`spare_core`: a machine whose every core is busy has no core to spare."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from xl_lesson3.workbook.spare_core import core_free, spare_threads

SPIN = "import time\nend = time.time() + 3\nwhile time.time() < end: pass"


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="samples Linux's /proc/stat")
@pytest.mark.skipif((os.cpu_count() or 1) > 8, reason="would start a process per core")
def test_no_core_is_free_while_every_core_spins():
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.5)  # the spinners are past their start-up
        assert not core_free()
        assert spare_threads() == 1  # torch would wait for descheduled threads
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
