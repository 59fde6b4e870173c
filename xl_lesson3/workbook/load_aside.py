"""Read a workbook in a second process while this one imports torch.

A command-line solve of a 100k-row workbook spent ~2.5 s importing torch, then ~3.5 s reading
the file, on one core, though neither needs the other. Threads cannot overlap them (both hold
the GIL: measured, no gain). So, before torch is imported, the command forks: the child reads
the workbook (`load_sheets`) and sends the model back as bytes (`model_wire`, no pickle); the
parent imports torch meanwhile and takes the model when it needs it.

Only where it is safe and can pay: Linux (fork without exec), torch not imported yet and no other
thread running (nothing half-held is copied into the child), two usable cores, and no
``XL_LESSON3_LOAD_ASIDE=0`` in the environment. If the child fails in any way (a bad workbook, a
value the wire format cannot carry, a crash), the parent loads the workbook itself, so errors
and their messages are exactly those of a plain load.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Self

from xl_lesson3.workbook.model import WorkbookModel
from xl_lesson3.workbook.spare_core import usable_cores

ENV_SWITCH = "XL_LESSON3_LOAD_ASIDE"  # "0": always load in this process
_OK = b"+"  # the child's first byte: a model follows; anything else: load here


def start_load(path: Path, sheets: list[str] | None, *, layout: bool = False) -> PendingLoad:
    """Start loading `path` (`load_sheets(path, sheets, layout=layout)`), in a child process
    when that can pay; `PendingLoad.model()` returns the model either way."""
    pending = PendingLoad(Path(path), sheets, layout)
    if can_load_aside():
        pending.fork()
    return pending


def can_load_aside() -> bool:
    """Whether a load in a forked child is safe and can overlap this process's work."""
    return (
        sys.platform.startswith("linux")
        and os.environ.get(ENV_SWITCH, "1") != "0"
        and "torch" not in sys.modules
        and threading.active_count() == 1
        and usable_cores() >= 2
    )


class PendingLoad:
    """A load started by `start_load`: call `model()` once, and `close()` when done (a context
    manager does it), which stops a child whose model is no longer wanted."""

    def __init__(self, path: Path, sheets: list[str] | None, layout: bool = False) -> None:
        self.path, self.sheets, self.layout = path, sheets, layout
        self.pid: int | None = None
        self.fd: int | None = None
        self.forked = False  # for tests and benchmarks: whether a child did the reading
        self.exit_code: int | None = None  # the child's, once reaped (-9: stopped by `close`)

    def fork(self) -> None:
        """Start the child; when the system refuses a process (limits), `model` loads here."""
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:  # the child: never returns
            os.close(read_end)
            _child(self.path, self.sheets, self.layout, write_end)
        os.close(write_end)
        self.pid, self.fd, self.forked = pid, read_end, True

    def model(self) -> WorkbookModel:
        """The loaded model (raises what a plain load would raise)."""
        from xl_lesson3.workbook.load import load_sheets

        data = self._receive()
        if data is not None:
            from xl_lesson3.workbook.model_wire import WireError, decode

            try:
                return decode(memoryview(data)[len(_OK) :])
            except WireError:
                pass
        return load_sheets(self.path, self.sheets, layout=self.layout)

    def _receive(self) -> bytes | None:
        """The child's model bytes, or None when there is no child or it did not send one."""
        if self.fd is None:
            return None
        with open(self.fd, "rb", closefd=True) as pipe:
            self.fd = None
            data = pipe.read()
        ok = self._reap() == 0
        return data if ok and data.startswith(_OK) else None

    def _reap(self) -> int | None:
        if self.pid is None:
            return None
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        self.exit_code = os.waitstatus_to_exitcode(status)
        return self.exit_code

    def close(self) -> None:
        """Stop and reap the child if it is still there; close the pipe."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child(path: Path, sheets: list[str] | None, layout: bool, fd: int) -> None:
    """Load, send the model down `fd`, and leave without running the parent's exit handlers or
    flushing its copied output buffers."""
    status = 1
    try:
        from xl_lesson3.workbook.load import load_sheets
        from xl_lesson3.workbook.model_wire import encode

        parts = encode(load_sheets(path, sheets, layout=layout))
        with open(fd, "wb", closefd=True) as pipe:
            pipe.write(_OK)
            pipe.writelines(parts)
        status = 0
    except BaseException:  # noqa: BLE001 - the parent loads again and reports it
        status = 1
    finally:
        os._exit(status)
