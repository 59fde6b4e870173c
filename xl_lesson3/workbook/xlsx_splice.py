"""Set numbers in a worksheet part at the offsets its read noted: the write-back's fastest path.

When the columnar reader read the part (`sheet_layout`), every cell's start tag, formula and
value are known by offset. If the part is unchanged since (same CRC-32 and sizes in the zip
directory), every target cell is in the layout and every new value is a finite number, the new
part is the old one with each target cell's value replaced: the bytes before its start tag's
attributes, the attributes with ``t`` set as the bulk patcher sets it for a number (removed),
its ``<f>`` element as it was, then ``<v>text</v></c>``. These are the bytes `BulkPatcher` and
`SheetPatcher` write (the tests compare all three); no regular expression or parser runs, and
the cost is a slice per target. Otherwise `splice_plan` says no and the bulk patcher runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from xl_lesson3.workbook.sheet_layout import KEY_COLS, SheetLayout
from xl_lesson3.workbook.xlsx_bulk_patch import start_tag_rest
from xl_lesson3.workbook.xlsx_bulk_values import Targets, number_texts, value_ends
from xl_lesson3.workbook.xlsx_fastscan import NotCanonical


@dataclass(frozen=True)
class SplicePlan:
    """Per target cell, in file order: where to copy from and to, and its new start tag."""

    copy_from: np.ndarray  # the end of the previous target (0 for the first)
    attrs_at: np.ndarray  # the reference's closing quote: the new start tag's rest goes here
    f_from: np.ndarray  # the end of the start tag: the formula element runs from here...
    f_to: np.ndarray  # ...to here; the old value and </c> from here to `cell_end`
    cell_end: np.ndarray
    opener: list[bytes]  # per target: '"' + attributes + '>' as the patched cell has them
    plain: np.ndarray  # per target: its start tag stays as it was (the common case)
    ends: list[bytes]  # per target: <v>text</v></c>
    size: int  # the part's bytes before the splice


def splice_plan(
    layout: SheetLayout, crc: int, file_size: int, compress_size: int, targets: Targets
) -> SplicePlan | None:
    """How to splice `targets` into the part `layout` describes, or None when it cannot: the
    part is not the one read, a target cell is not in it, or a value is not a finite number."""
    if (layout.crc, layout.file_size, layout.compress_size) != (crc, file_size, compress_size):
        return None
    if not bool(targets.numeric.all()):
        return None
    keys = layout.keys()
    wanted = targets.rows * KEY_COLS + targets.cols
    at = np.searchsorted(keys, wanted)
    if len(at) and (int(at.max()) >= len(keys) or not bool((keys[at] == wanted).all())):
        return None  # a cell to create: the bulk patcher inserts it
    openers = [start_tag_rest(b'"' + text, None) for text in layout.attr_texts]
    plain_attr = [o == b'"' + t + b">" for o, t in zip(openers, layout.attr_texts, strict=True)]
    attr = layout.attr[at]
    f_from = layout.body_at(at)
    f_to = f_from + layout.f_len[at]
    cell_end = f_to + layout.v_len[at]
    copy_from = np.concatenate([[0], cell_end[:-1]]).astype(np.int64)
    return SplicePlan(
        copy_from=copy_from,
        attrs_at=layout.tail_at[at] - 1,
        f_from=f_from,
        f_to=f_to,
        cell_end=cell_end,
        opener=[openers[k] for k in attr.tolist()],
        plain=np.array(plain_attr, bool)[attr] & ~layout.empty[at],
        ends=value_ends(number_texts(targets.numbers)),
        size=layout.file_size,
    )


def splice_sheet(chunks: Iterable[bytes], plan: SplicePlan, write: Callable[[bytes], None]) -> None:
    """Write the part read from `chunks` with `plan`'s targets set. Holds at most a chunk and
    what is left of the one before (the bytes before the next target are written on)."""
    held, base = b"", 0  # bytes not written yet, from offset `base` of the part
    done, n = 0, len(plan.cell_end)  # targets written, targets
    for chunk in chunks:
        if done == n:
            write(chunk)
            continue
        held += chunk
        top = base + len(held)
        ready = int(np.searchsorted(plan.cell_end, top, side="right"))
        if ready > done:
            write(b"".join(_pieces(plan, held, base, done, ready)))
            cut = int(plan.cell_end[ready - 1]) - base
            held, base, done = held[cut:], base + cut, ready
        if done < n:  # what comes before the next target's attributes is final
            cut = min(int(plan.attrs_at[done]) - base, len(held))
            if cut > 0:
                write(held[:cut])
                held, base = held[cut:], base + cut
        else:
            write(held)
            held = b""
    if done != n:  # cannot happen for the part read; the caller starts the part again
        raise NotCanonical


def _pieces(plan: SplicePlan, held: bytes, base: int, lo: int, hi: int) -> list:
    """The output for targets `lo` to `hi`: the bytes before each and the cell as set (bytes
    slices: a memoryview's cost three times as much to make)."""
    copy_from = (plan.copy_from[lo:hi] - base).tolist()
    copy_from[0] = max(copy_from[0], 0)  # the bytes before the first were written on
    f_to = (plan.f_to[lo:hi] - base).tolist()
    ends = plan.ends[lo:hi]
    if bool(plan.plain[lo:hi].all()):  # start tags unchanged: one slice up to the value
        out: list = [b""] * (2 * (hi - lo))
        out[0::2] = [held[a:b] for a, b in zip(copy_from, f_to, strict=True)]
        out[1::2] = ends
        return out
    attrs_at = (plan.attrs_at[lo:hi] - base).tolist()
    f_from = (plan.f_from[lo:hi] - base).tolist()
    out = [b""] * (4 * (hi - lo))
    out[0::4] = [held[a:b] for a, b in zip(copy_from, attrs_at, strict=True)]
    out[1::4] = plan.opener[lo:hi]
    out[2::4] = [held[a:b] for a, b in zip(f_from, f_to, strict=True)]
    out[3::4] = ends
    return out
