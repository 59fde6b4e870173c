"""Inflating and deflating on a second thread while the main one works on the bytes.

zlib releases the GIL while it (de)compresses, so the write-back's inflating of the source
sheet, deflating of the new one and inflating it again for the check can run beside the
patching and the XML check (~1 s of a 100k-row write-back). Bounded queues keep at most a few
chunks in memory; an exception on either side reaches the main thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(items: Iterable[T], depth: int = 2) -> Generator[T, None, None]:
    """The items of `items`, produced on a thread up to `depth` ahead of the consumer."""
    found: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(entry: tuple[object, BaseException | None]) -> bool:
        while not stop.is_set():  # the consumer may have gone: never block for good
            try:
                found.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            put((_DONE, exc))

    thread = threading.Thread(target=produce, name="xl3-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = found.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()


class WriteBehind:
    """`write(data)` done on a thread, at most `depth` pieces behind; `close` waits for it."""

    def __init__(self, write: Callable[[bytes], object], depth: int = 2) -> None:
        self._pending: queue.Queue = queue.Queue(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(write,), daemon=True)
        self._thread.start()

    def _run(self, write: Callable[[bytes], object]) -> None:
        while (data := self._pending.get()) is not _DONE:
            if self._error is None:
                try:
                    write(data)
                except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
                    self._error = exc

    def write(self, data: bytes) -> None:
        """Queue `data` (raises what an earlier write raised)."""
        if self._error is not None:
            raise self._error
        self._pending.put(data)

    def close(self) -> None:
        """Wait until everything queued is written; raise what a write raised."""
        self._pending.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error
