"""Excel's matching rules for look-ups, on cell values as plain Python data.

Look-ups compare across types as Excel sorts them: numbers, then text (case-insensitive), then
booleans. MATCH's, LOOKUP's and VLOOKUP's keys only ever match a value of their own type; XMATCH's
and XLOOKUP's "next smaller/larger" and binary searches compare across types. Exact matching may
use wildcards (``*`` any run, ``?`` one character, ``~`` escapes them) when the key is text.
Approximate matching assumes sorted data, as Excel's does: ascending finds the last value <= the
key and descending the last value >= the key, scanning until the order is broken (on sorted data
the same answer as Excel's binary search; on unsorted data Excel's answers in the conformance
workbooks). Blanks and error values in the vector never match.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from xl_lesson3.formula.functions.core.shapes import text_array
from xl_lesson3.formula.scalars import ErrorCode, ExcelError, Kind
from xl_lesson3.formula.values import Block

EXACT, WILDCARD = 0, 2
APPROX_ASCENDING, APPROX_DESCENDING = 1, -1
NEXT_SMALLER, NEXT_LARGER = 3, 4
# Added to EXACT, NEXT_SMALLER or NEXT_LARGER: found by halving (XMATCH's search modes 2, -2)
BINARY_ASCENDING, BINARY_DESCENDING = 10, 20
# XMATCH's and XLOOKUP's blank key sorts after everything: "next smaller" finds the largest
# value of any type, "next larger" nothing (Excel's answers in formulas' test.xlsx, LOOKUP!W171:W197)
_TOP = (9, 0.0)

_BOOL, _TEXT, _BLANK = int(Kind.BOOL), int(Kind.TEXT), int(Kind.BLANK)


def cell_values(block: Block) -> np.ndarray:
    """The block's cells as Python values (float, bool, str, None, ExcelError): (B, N, R, C)."""
    num = block.num.detach().cpu().numpy()
    shapes = [num.shape]
    if block.kind is not None:
        shapes.append(tuple(block.kind.shape))
    if block.err is not None:
        shapes.append(tuple(block.err.shape))
    shape = np.broadcast_shapes(*shapes)
    out = np.broadcast_to(num, shape).astype(object)
    if block.kind is not None:
        kind = np.broadcast_to(block.kind.cpu().numpy(), shape)
        out[kind == _BOOL] = np.broadcast_to(num, shape)[kind == _BOOL] != 0
        out[kind == _BLANK] = None
        if block.text is not None and (kind == _TEXT).any():
            texts = np.broadcast_to(text_array(block), shape[1:])
            texts = np.broadcast_to(texts, shape)
            out[kind == _TEXT] = texts[kind == _TEXT]
    if block.err is not None:
        err = np.broadcast_to(block.err.cpu().numpy(), shape)
        for code in np.unique(err[err != 0]).tolist():
            out[err == code] = ExcelError(ErrorCode(code))
    # numpy hands back numpy floats and bools; plain Python values compare and hash simply
    flat = out.reshape(-1)
    for i, value in enumerate(flat):
        if isinstance(value, np.floating):
            flat[i] = float(value)
        elif isinstance(value, np.bool_):
            flat[i] = bool(value)
    return flat.reshape(shape)


def block_from_values(values: np.ndarray) -> Block:
    """A (1, N, R, C) block from an object array (N, R, C) or (R, C) of Python values."""
    if values.ndim == 2:
        values = values[None]
    num = np.zeros(values.shape)
    kind = np.zeros(values.shape, dtype=np.int8)
    err = np.zeros(values.shape, dtype=np.int8)
    text = np.full(values.shape, None, dtype=object)
    for index, value in np.ndenumerate(values):
        if isinstance(value, bool):
            num[index], kind[index] = float(value), _BOOL
        elif isinstance(value, (int, float)):
            num[index] = float(value)
        elif isinstance(value, ExcelError):
            err[index] = int(value.code)
        elif isinstance(value, str):
            kind[index], text[index] = _TEXT, value
        else:
            kind[index] = _BLANK
    return Block(
        torch.from_numpy(num)[None],
        err=torch.from_numpy(err)[None] if err.any() else None,
        kind=torch.from_numpy(kind)[None] if kind.any() else None,
        text=text if (kind == _TEXT).any() else None,
    )


def sort_key(value) -> tuple[int, object] | None:
    """(type rank, comparable) in Excel's order; None for blanks and errors (never matched).

    Text compares case-folded, as Excel does (``"ß"`` equals ``"SS"``)."""
    if value is None or isinstance(value, ExcelError):
        return None
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, (int, float)):
        return (0, float(value))
    return (1, str(value).casefold())


def order_key(value) -> tuple[int, object]:
    """SORT's and UNIQUE's key: `sort_key`, then errors by code, then blanks."""
    if isinstance(value, ExcelError):
        return (3, int(value.code))
    return sort_key(value) or (4, 0)


def wildcard_pattern(text: str) -> re.Pattern | None:
    """A regex for Excel's ``*``/``?`` wildcards (``~`` escapes), or None without wildcards."""
    if not any(ch in text for ch in "*?~"):
        return None
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "~" and i + 1 < len(text):
            out.append(re.escape(text[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


class Finder:
    """Positions of keys in one lookup vector for one match mode (see the module docstring)."""

    def __init__(self, vector: np.ndarray, mode: int, reverse: bool = False) -> None:
        self.keys = [sort_key(value) for value in vector]
        self.texts = [value if isinstance(value, str) else None for value in vector]
        self.mode, self.reverse = mode, reverse
        self.first: dict[tuple[int, object], int] = {}
        order = range(len(self.keys) - 1, -1, -1) if reverse else range(len(self.keys))
        for i in order:
            key = self.keys[i]
            if key is not None and key not in self.first:
                self.first[key] = i

    def find(self, value) -> int:
        """The 0-based position of `value`, or -1."""
        if self.mode >= BINARY_ASCENDING:
            key = _TOP if value is None else sort_key(value)
            if key is None:
                return -1
            return self._binary(key, self.mode % 10, self.mode >= BINARY_DESCENDING)
        if value is None and self.mode in (NEXT_SMALLER, NEXT_LARGER):
            return self._nearest(_TOP, larger=self.mode == NEXT_LARGER)
        if value is None and self.mode not in (EXACT, WILDCARD):
            value = 0.0  # a blank key is 0 to MATCH's approximate match
        key = sort_key(value)
        if key is None:
            return -1
        if self.mode in (EXACT, WILDCARD):
            if self.mode == WILDCARD and key[0] == 1:
                # Wildcard matching compares the text itself (no case folding: "ß" is not "ss")
                pattern = wildcard_pattern(str(value)) or re.compile(
                    re.escape(str(value)), re.IGNORECASE
                )
                return self._scan_pattern(pattern)
            return self.first.get(key, -1)
        if self.mode == APPROX_ASCENDING:
            return self._ascending(key)
        if self.mode == APPROX_DESCENDING:
            return self._descending(key)
        exact = self.first.get(key, -1)
        if exact >= 0:
            return exact
        return self._nearest(key, larger=self.mode == NEXT_LARGER)

    def _scan_pattern(self, pattern: re.Pattern) -> int:
        order = range(len(self.keys) - 1, -1, -1) if self.reverse else range(len(self.keys))
        for i in order:
            text = self.texts[i]
            if text is not None and pattern.fullmatch(text):
                return i
        return -1

    def _binary(self, key, mode: int, descending: bool) -> int:
        """XMATCH's binary search (search modes 2 and -2): halve towards the key, comparing across
        types in Excel's order; an equal probe answers at once, else the last probe beyond the
        key on the side `mode` asks for (none for an exact match). Unsorted data gives what the
        halving meets, as in Excel."""
        lo, hi, found = 0, len(self.keys) - 1, -1
        while lo <= hi:
            mid = (lo + hi) // 2
            probe = self._probe(mid, lo, hi)
            if probe is None:
                break
            value = self.keys[probe]
            if value == key:
                return probe
            if value < key:
                found = probe if mode == NEXT_SMALLER else found
                lo, hi = (lo, min(probe, mid) - 1) if descending else (max(probe, mid) + 1, hi)
            else:
                found = probe if mode == NEXT_LARGER else found
                lo, hi = (max(probe, mid) + 1, hi) if descending else (lo, min(probe, mid) - 1)
        return found

    def _ascending(self, key) -> int:
        """The last value <= the key among the values of the key's type, scanning until one
        equals it or one is larger (the first position never stops the scan). On sorted data
        this is Excel's binary search's answer; on unsorted data it is what Excel answers in
        the conformance workbooks (``LOOKUP(20,{"a",2.1,"b",4.1})`` is 4.1,
        ``LOOKUP(4.1,{"b",4.1,"a",1.1})`` 4.1 too)."""
        found = -1
        for i, k in enumerate(self.keys):
            if k is None or k[0] != key[0]:
                continue
            if k <= key:
                found = i
                if k == key and i > 0:
                    break
            elif i > 0:
                break
        return found

    def _probe(self, mid: int, lo: int, hi: int) -> int | None:
        """`mid`, or the nearest position within [lo, hi] holding a value (left first)."""
        if self.keys[mid] is not None:
            return mid
        for i in range(mid - 1, lo - 1, -1):
            if self.keys[i] is not None:
                return i
        for i in range(mid + 1, hi + 1):
            if self.keys[i] is not None:
                return i
        return None

    def _descending(self, key) -> int:
        """The first value equal to the key, else the last value >= the key, scanning until a
        smaller one (``MATCH(0,{0,1,2},-1)`` is 1, ``MATCH(-1,{0,1,2},-1)`` 3, as Excel)."""
        found = -1
        for i, k in enumerate(self.keys):
            if k is None or k[0] != key[0]:
                continue
            if k == key:
                return i
            if k < key:
                break
            found = i
        return found

    def _nearest(self, key, larger: bool) -> int:
        """The closest value beyond the key, across types in Excel's order (a text key's next
        smaller is the largest number when no smaller text is there)."""
        best, best_i = None, -1
        order = range(len(self.keys) - 1, -1, -1) if self.reverse else range(len(self.keys))
        for i in order:
            k = self.keys[i]
            if k is None:
                continue
            beyond = (k > key) if larger else (k < key)
            closer = best is None or ((k < best) if larger else (k > best))
            if beyond and closer:
                best, best_i = k, i
        return best_i
