"""The write-back's check of a big sheet, run on the other core while the sheet is written.

Reading a 100k-row sheet back from the new file (`xlsx_verify_fast`: expat over 130 MB, then the
target cells compared in bulk) took ~3 s after the ~3 s of patching, one core busy and the other
mostly idle. Here the same check runs in a process of its own, fed the new sheet's bytes as the
patcher produces them, so both overlap:
- the parent sends the targets (rows, columns, numbers as float64, and the stored forms of the
  few other values) and then every byte the zip writer is given for the part;
- the worker (``python -m xl_lesson3.workbook.xlsx_verify_stream``) runs those bytes through
  expat (well-formed, no DTD) and `xlsx_verify_fast`'s bulk comparison, and answers the CRC-32
  and length of what it checked;
- the parent then reads the part back from the written file (zipfile checks its CRC-32 as it
  inflates) and accepts the sheet only when the file's CRC-32 and size equal the worker's: the
  bytes on disk are the bytes that were checked.
Any other outcome (a difference, a non-canonical sheet, a worker that could not start or
died) is not an error here: the caller then reads the sheet back in-process as before
(`xlsx_verify.verify_sheet`), which finds and names the problem. The worker's verdict can only
skip that read-back, never replace its messages.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from xl_lesson3.workbook.background import WriteBehind
from xl_lesson3.workbook.xlsx_bulk_values import Targets

_HEADER = struct.Struct("<Q")  # length of the JSON header that opens the stream
_CHUNK = 1 << 20  # bytes the worker reads from its input at a time
_PARSE = 1 << 16  # bytes given to expat at a time (its fastest size here)
_READ_BACK = 16 << 20


class StreamCheck:
    """A worker process checking one sheet part's new bytes as they are written.

    `feed` every byte given to the zip writer for the part, in order, then `confirms` after
    the package is written. Feeding never raises because of the worker: a worker that died
    simply fails to confirm.
    """

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self._feeder = WriteBehind(self._send)
        self._broken = False

    @classmethod
    def start(cls, targets: Targets, sheet: str) -> StreamCheck | None:
        """A worker for `targets` of `sheet`, or None where none can start."""
        if not sys.executable:
            return None
        root = str(Path(__file__).resolve().parents[2])  # the folder holding xl_lesson3
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "xl_lesson3.workbook.xlsx_verify_stream"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows: no console
            )
        except OSError:
            return None
        check = cls(process)
        for piece in encode_targets(targets, sheet):
            check.feed(piece)
        return check

    def _send(self, data: bytes) -> None:
        if self._broken:
            return
        try:
            self.process.stdin.write(data)  # type: ignore[union-attr]
        except (BrokenPipeError, OSError, ValueError):  # the worker has gone: it won't confirm
            self._broken = True

    def feed(self, data: bytes) -> None:
        """Queue `data` for the worker (written on a thread: a pipe write waits for it)."""
        self._feeder.write(data)

    def confirms(self, package: zipfile.ZipFile, part: str) -> bool:
        """Whether the worker checked every byte of `part` as the written file holds it."""
        self._finish_input()
        try:
            info = package.getinfo(part)
            with package.open(info) as stream:  # zipfile raises on a CRC-32 mismatch
                while stream.read(_READ_BACK):
                    pass
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError):
            self.kill()
            return False  # the in-process read-back says what is wrong
        out = self._answer()
        if self.process.returncode != 0:
            return False
        try:
            verdict = json.loads(out)
            return verdict == {"crc": info.CRC, "size": info.file_size}
        except ValueError:
            return False

    def _finish_input(self) -> None:
        try:
            self._feeder.close()
        except BaseException:  # noqa: BLE001 - _send swallows the worker's errors already
            self._broken = True
        try:
            self.process.stdin.close()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            pass

    def _answer(self) -> bytes:
        """What the worker printed, once it has ended (its input must be closed)."""
        with self.process.stdout:  # type: ignore[union-attr]
            out = self.process.stdout.read()  # type: ignore[union-attr]
        self.process.wait()
        return out

    def kill(self) -> None:
        """Stop the worker (a write-back that is abandoned or starts again)."""
        if self.process.returncode is not None:
            return
        self.process.kill()
        self._finish_input()
        self._answer()


def encode_targets(targets: Targets, sheet: str) -> Iterator[bytes]:
    """The stream's opening: a JSON header, then the sorted targets' arrays.

    Values other than finite numbers travel as their two stored forms (as a constant, as a
    formula's cached result): the worker needs no Python object of the engine's.
    """
    from xl_lesson3.workbook.xlsx_cells import stored_form

    others = np.flatnonzero(~targets.numeric).tolist()
    forms = [
        [
            i,
            stored_form(targets.value(i), formula=False),
            stored_form(targets.value(i), formula=True),
        ]
        for i in others
    ]
    header = json.dumps({"sheet": sheet, "n": targets.n, "forms": forms}).encode()
    yield _HEADER.pack(len(header)) + header
    yield targets.rows.astype("<i8").tobytes()
    yield targets.cols.astype("<i8").tobytes()
    yield targets.numbers.astype("<f8").tobytes()
    yield targets.numeric.astype(np.uint8).tobytes()


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the stream ended early")
    return data


def decode_targets(stream: BinaryIO) -> tuple[Targets, str]:
    """`encode_targets`' opening, read back into `Targets` and the sheet's name."""
    (length,) = _HEADER.unpack(_read_exactly(stream, _HEADER.size))
    header = json.loads(_read_exactly(stream, length))
    n = int(header["n"])
    rows = np.frombuffer(_read_exactly(stream, 8 * n), "<i8").astype(np.int64)
    cols = np.frombuffer(_read_exactly(stream, 8 * n), "<i8").astype(np.int64)
    numbers = np.frombuffer(_read_exactly(stream, 8 * n), "<f8").astype(np.float64)
    numeric = np.frombuffer(_read_exactly(stream, n), np.uint8).astype(bool)
    forms = {int(i): (tuple(plain), tuple(cached)) for i, plain, cached in header["forms"]}
    return Targets.from_arrays(rows, cols, numbers, numeric, forms), header["sheet"]


def _checked_input(stream: BinaryIO, tally: dict[str, int], where: str) -> Iterator[bytes]:
    """The input's chunks, each parsed by expat first (no Python call per element); `tally`
    keeps the CRC-32 and length of what was yielded."""
    from xl_lesson3.workbook.safexml import StreamParser

    def ignore(*_: object) -> None:
        return None

    parser = StreamParser(ignore, ignore, where=where)
    parser.parser.StartElementHandler = None
    parser.parser.EndElementHandler = None
    crc = size = 0
    while chunk := stream.read(_CHUNK):
        view = memoryview(chunk)
        for at in range(0, len(chunk), _PARSE):
            parser.feed(view[at : at + _PARSE])
        crc, size = zlib.crc32(chunk, crc), size + len(chunk)
        tally.update(crc=crc, size=size)
        yield chunk
    parser.close()


def main() -> int:
    """The worker: exit 0 and print the CRC-32 and size of what it checked, when every target
    is stored as sent; any other status means "read it back the usual way"."""
    from xl_lesson3.workbook.xlsx_verify_fast import check_pieces

    stream = sys.stdin.buffer
    targets, sheet = decode_targets(stream)
    tally = {"crc": 0, "size": 0}
    chunks = _checked_input(stream, tally, f"{sheet} (written)")
    check_pieces(targets, sheet, chunks)
    if next(chunks, None) is not None:  # the check ended before the input did
        return 5  # (exhausting `chunks` also ends expat's parse: the closing tags)
    sys.stdout.write(json.dumps(tally))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # noqa: BLE001 - any failure means: the parent reads the sheet back
        sys.exit(5)
