"""The write-back check of a spliced part (`xlsx_splice`): each target cell looked for where the
splice put it, in the new file.

The bulk check (`xlsx_verify_fast`) finds the target cells again with a regular expression,
~2 s for a 100k-row sheet. A spliced part says where each target cell must now be, so here the
written part is inflated from the new file and, at those offsets, every target cell must be a
start tag naming its own reference, with the attributes of a number (no ``t``, or ``t="n"``),
and, after its formula, a ``<v>`` whose text reads back as exactly the value, then ``</c>``; the
part must have the expected length, and expat must find it well-formed (in a process of its own
on the other core when one is idle, as the bulk check does). Anything else answers False and the
bulk check decides, naming the cell.
"""

from __future__ import annotations

import zipfile

import numpy as np
from openpyxl.utils.cell import get_column_letter

from xl_lesson3.workbook.xlsx_bulk_values import Targets
from xl_lesson3.workbook.xlsx_splice import SplicePlan
from xl_lesson3.workbook.xlsx_tokens import Chunk, masked
from xl_lesson3.workbook.xlsx_verify_fast import TagKinds, checked_read, same_joined_numbers

_C_R = b'<c r="'
_C_R_WORD = np.uint64(int.from_bytes(_C_R, "little"))
_V_WORD = np.uint64(int.from_bytes(b"<v>", "little"))
_CELL_END_WORD = np.uint64(int.from_bytes(b"</c>", "little"))


def verify_spliced(
    package: zipfile.ZipFile, part: str, sheet: str, plan: SplicePlan, targets: Targets
) -> bool:
    """Whether `part` of `package` holds every target of `plan` as set (see the module
    docstring); raises WorkbookIOError when the part is not well-formed XML."""
    if not _number_openers(plan):
        return False
    expected = _Expected(plan, targets)
    return checked_read(
        package, part, f"{sheet} (written)", lambda chunks: _compare(chunks, expected)
    )


def _number_openers(plan: SplicePlan) -> bool:
    """Whether every start tag the splice wrote is a number's (no ``t`` but ``t="n"``), read
    as the bulk check reads them."""
    kinds = TagKinds()
    return all(kinds[opener[:-1]] is None for opener in set(plan.opener))


class _Expected:
    """Where each target cell must be in the written part, and the words its start tag holds:
    ``<c r="``, the column's letters, the row's digits (each read as a little-endian integer),
    a closing quote, then the attributes the splice wrote (`SplicePlan.opener`)."""

    def __init__(self, plan: SplicePlan, targets: Targets) -> None:
        opener_len = np.fromiter(map(len, plan.opener), np.int64, len(plan.opener))
        ends_len = np.fromiter(map(len, plan.ends), np.int64, len(plan.ends))
        growth = (opener_len - (plan.f_from - plan.attrs_at)) + (
            ends_len - (plan.cell_end - plan.f_to)
        )
        before = np.concatenate([[0], np.cumsum(growth)[:-1]]).astype(np.int64)
        self.quote_at = plan.attrs_at + before  # the reference's closing quote
        self.digits, self.digit_words = _text_words(targets.rows)
        letters = {c: get_column_letter(c).encode() for c in np.unique(targets.cols).tolist()}
        self.letter_len = np.zeros(len(targets.cols), np.int64)
        self.letter_words = np.zeros(len(targets.cols), np.uint64)
        for col, text in letters.items():
            at = targets.cols == col
            self.letter_len[at] = len(text)
            self.letter_words[at] = int.from_bytes(text, "little")
        self.head_at = self.quote_at - self.digits - self.letter_len - len(_C_R)
        self.openers = {o: i for i, o in enumerate(dict.fromkeys(plan.opener))}
        self.opener_id = np.array([self.openers[o] for o in plan.opener], np.int64)
        self.value_at = plan.f_to + before + opener_len - (plan.f_from - plan.attrs_at)
        self.value_end = self.value_at + ends_len - 4  # <v>text</v>, then </c>
        self.numbers = targets.numbers
        self.size = int(plan.size + growth.sum())
        self.n = len(self.head_at)


def _text_words(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(digit count, the decimal digits as a little-endian uint64) of each positive integer
    below 10**8."""
    numbers = numbers.astype(np.int64)
    count = np.ones(len(numbers), np.int64)
    for power in range(1, 8):
        count += numbers >= 10**power
    words = np.zeros(len(numbers), np.uint64)
    for k in range(8):  # the k-th digit from the left, where there is one
        has = count > k
        digit = (numbers // 10 ** np.maximum(count - 1 - k, 0)) % 10 + 48
        words |= np.where(has, digit.astype(np.uint64) << np.uint64(8 * k), np.uint64(0))
    return count, words


def _compare(chunks, expected: _Expected) -> bool:
    """Walk the written part's chunks, comparing the targets each one completes."""
    held, base, done, size, same = b"", 0, 0, 0, True
    for chunk in chunks:
        size += len(chunk)
        if done == expected.n:
            continue
        held += chunk
        ready = int(np.searchsorted(expected.value_end + 4, base + len(held), side="right"))
        if ready > done:
            same = same and _targets_hold(Chunk(held), base, expected, done, ready)
            done = ready
        keep = int(expected.head_at[done]) - base if done < expected.n else len(held)
        keep = max(0, min(keep, len(held)))
        held, base = held[keep:], base + keep
    return same and done == expected.n and size == expected.size


def _targets_hold(chunk: Chunk, base: int, expected: _Expected, lo: int, hi: int) -> bool:
    """Whether targets `lo` to `hi`, all inside `chunk` (at offset `base`), read as set."""
    head_at = expected.head_at[lo:hi] - base
    quote_at = expected.quote_at[lo:hi] - base
    digits = expected.digits[lo:hi]
    value_at = expected.value_at[lo:hi] - base
    value_end = expected.value_end[lo:hi] - base
    if int(head_at.min()) < 0 or int(value_end.max()) + 4 > chunk.size:
        return False
    data = chunk.bytes
    ok = masked(chunk.word(head_at), 6) == _C_R_WORD
    ok &= (
        masked(chunk.word(head_at + 6), expected.letter_len[lo:hi]) == expected.letter_words[lo:hi]
    )
    ok &= masked(chunk.word(quote_at - digits), digits) == expected.digit_words[lo:hi]
    ok &= data[quote_at] == ord('"')
    ok &= masked(chunk.word(value_at), 3) == _V_WORD
    ok &= masked(chunk.word(value_end), 4) == _CELL_END_WORD
    if not bool(ok.all()):
        return False
    ids = expected.opener_id[lo:hi]
    for opener, k in expected.openers.items():
        at = quote_at[ids == k]
        if len(at):
            found = data[at[:, None] + np.arange(len(opener))]
            if not bool((found == np.frombuffer(opener, np.uint8)).all()):
                return False
    return _same_numbers_at(chunk, value_at, value_end, expected.numbers[lo:hi])


def _same_numbers_at(chunk: Chunk, start: np.ndarray, end: np.ndarray, numbers: np.ndarray) -> bool:
    """`same_numbers` for the ``<v>`` elements at [start, end) of `chunk`, gathered at once."""
    lengths = end - start
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    index = np.repeat(start - offsets, lengths) + np.arange(int(lengths.sum()))
    return same_joined_numbers(chunk.bytes[index].tobytes(), numbers)
