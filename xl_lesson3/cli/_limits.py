"""Option types that refuse bad numbers at parse time, the file-size limit options, and a
memory check for allocations whose size the user chooses (restarts, evaluated ranges).

argparse's own ``type=float`` takes ``nan`` and ``-1`` happily; a NaN tolerance or target then
makes a run that "converges" on garbage. These types make such options a one-line error
(exit status 2) before anything is read.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from typing import Any

from xl_lesson3.errors import BadInputError
from xl_lesson3.workbook.archive import ArchiveLimits

_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:i?[bB])?")
_SCALE = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def finite_float(text: str) -> float:
    """A finite number (``nan``/``inf`` refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number")
    return value


def non_negative_float(text: str) -> float:
    """A finite number ≥ 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 0 or more")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return value


def positive_int(text: str) -> int:
    """A whole number ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return value


def byte_size(text: str) -> int:
    """A size in bytes: ``3000000``, ``500M``, ``4G`` or ``4GiB`` (powers of 1024)."""
    match = _SIZE_RE.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 500M, 4G)")
    value = int(float(match.group(1)) * _SCALE[match.group(2).lower()])
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return value


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """``--max-bytes``, ``--max-ratio``, ``--max-cells``: what a workbook file may hold."""
    default = ArchiveLimits()
    group = parser.add_argument_group("file limits (refuse zip bombs and huge sheets)")
    group.add_argument(
        "--max-bytes",
        type=byte_size,
        default=default.max_bytes,
        metavar="SIZE",
        help="largest inflated size of the workbook's parts together (default 4G)",
    )
    group.add_argument(
        "--max-ratio",
        type=positive_float,
        default=default.max_ratio,
        metavar="R",
        help=f"largest compression ratio of one part over 4M (default {default.max_ratio:g})",
    )
    group.add_argument(
        "--max-cells",
        type=positive_int,
        default=default.max_cells,
        metavar="N",
        help=f"most cells in all worksheets together (default {default.max_cells:,})",
    )


def limits_from(args: Any) -> ArchiveLimits | None:
    """The limits the options ask for, or None when the command has no such options."""
    if not hasattr(args, "max_bytes"):
        return None
    return ArchiveLimits(
        max_bytes=args.max_bytes, max_ratio=args.max_ratio, max_cells=args.max_cells
    )


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation, or None when the OS does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(option: str, need: float, what: str) -> None:
    """Refuse (one line, exit 2) an allocation of about `need` bytes the machine cannot hold.

    `option` names what to change (``--restarts``), `what` says what the bytes are for.
    """
    free = available_memory()
    if free is None or need <= free:
        return
    raise BadInputError(
        f"{option}: {what} needs about {need / 2**30:,.1f} GiB, "
        f"{free / 2**30:,.1f} GiB of memory is available"
    )
