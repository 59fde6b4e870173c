"""Text functions: CONCAT, CONCATENATE, TEXTJOIN, LEFT, RIGHT, MID, LEN, UPPER, LOWER, PROPER,
TRIM, CLEAN, SUBSTITUTE, REPLACE, FIND, SEARCH, REPT, EXACT, CHAR, CODE, UNICHAR, UNICODE
(TEXT, VALUE, NUMBERVALUE and FIXED are in `conversion`).

Text is numpy data beside the tensors, so these work cell by cell in Python (`cellwise`), one
call per run. Arguments are read as ``&`` reads them: numbers in General format (``LEN(1.5)``
is 3), TRUE as "TRUE", blank as "". Counts and positions are truncated to integers. CHAR and
CODE use Windows-1252, Excel's character set on Windows (``CHAR(128)`` is "€"; Mac Roman
for workbooks of Excel for Mac, see `character_set_scope`); UNICHAR and
UNICODE use Unicode code points. None is differentiable; text of the changing cells can be
evaluated but not compiled (`cellwise`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from xl_lesson3.formula.functions.core.cellwise import (
    Cell,
    as_number,
    as_text,
    block_from_cells,
    cell_values,
    first_error_of,
    map_cells,
    value_error,
)
from xl_lesson3.formula.functions.core.registry import register_cellwise
from xl_lesson3.formula.functions.math.criteria import wildcard_regex
from xl_lesson3.formula.values import Block, ExcelError

CATEGORY = "Text"
MAX_TEXT = 32767  # Excel's longest cell text


_reg = functools.partial(register_cellwise, category=CATEGORY)


def _texts_and_numbers(spec: str, *values: Cell) -> list | ExcelError:
    """Arguments converted by `spec` ("t" text, "n" number), or the first error."""
    out = []
    for kind, value in zip(spec, values):
        converted = as_text(value) if kind == "t" else as_number(value)
        if isinstance(converted, ExcelError):
            return converted
        out.append(converted)
    return out


def _text_fn(spec: str, fn):
    """A cellwise function of Python text/number arguments; errors and bad numbers handled."""

    def one(*values: Cell) -> Cell:
        args = _texts_and_numbers(spec, *values)
        if isinstance(args, ExcelError):
            return args
        return fn(*args)

    return one


def _fixed_text(result: str) -> Cell:
    return value_error() if len(result) > MAX_TEXT else result


# -- joining ----------------------------------------------------------------------------------


def _joined_cells(args: tuple[Block, ...]) -> tuple[np.ndarray, int]:
    """Each run cell's argument values flattened in order: an object array (run, K)."""
    arrays = [cell_values(arg) for arg in args]
    run = max(a.shape[0] for a in arrays)
    flat = [np.broadcast_to(a, (run, *a.shape[1:])).reshape(run, -1) for a in arrays]
    return np.concatenate(flat, axis=1), run


def _join(args: tuple[Block, ...], delimiter: Block | None, ignore_empty: Block | None) -> Block:
    cells, run = _joined_cells(args)
    delims = (
        None if delimiter is None else cell_values(delimiter).reshape(delimiter.num.shape[1], -1)
    )
    skip = None if ignore_empty is None else cell_values(ignore_empty)
    out = np.empty((run, 1, 1), dtype=object)
    for r in range(run):
        row = list(cells[r])
        error = first_error_of(tuple(row))
        if delims is not None:
            d_row = delims[min(r, len(delims) - 1)]
            flags = skip[min(r, skip.shape[0] - 1)].flat[0]
            error = error or first_error_of((*d_row, flags))
        if error is not None:
            out[r, 0, 0] = error
            continue
        texts = [as_text(v) for v in row]
        if delims is None:
            out[r, 0, 0] = _fixed_text("".join(texts))
            continue
        flag = as_number(flags)
        if isinstance(flag, ExcelError):
            out[r, 0, 0] = flag
            continue
        if flag:
            texts = [t for t in texts if t != ""]
        seps = [as_text(d) for d in d_row] or [""]
        joined = texts[0] if texts else ""
        for i, text in enumerate(texts[1:]):
            joined += seps[i % len(seps)] + text
        out[r, 0, 0] = _fixed_text(joined)
    return block_from_cells(out, args[0].num)


@_reg("CONCAT", 1, 254, array_result=False)
def concat(*texts: Block) -> Block:
    """CONCAT(text1, ...): every value of every argument (ranges too) joined."""
    return _join(texts, None, None)


@_reg("TEXTJOIN", 3, 255, array_result=False)
def textjoin(delimiter: Block, ignore_empty: Block, *texts: Block) -> Block:
    """TEXTJOIN(delimiter, ignore_empty, text1, ...): joined with `delimiter` (a range of
    delimiters is used in turn); TRUE skips empty values.
    """
    return _join(texts, delimiter, ignore_empty)


@_reg("CONCATENATE", 1, 255)
def concatenate(*texts: Block) -> Block:
    """CONCATENATE(text1, ...): the arguments joined, cell by cell (as ``&``)."""
    return map_cells(lambda *values: _fixed_text("".join(as_text(v) for v in values)), *texts)


# -- pieces -----------------------------------------------------------------------------------


def _count(n: float) -> int | None:
    return None if n < 0 else int(n)


def _left(text: str, n: float) -> Cell:
    count = _count(n)
    return value_error() if count is None else text[:count]


def _right(text: str, n: float) -> Cell:
    count = _count(n)
    return value_error() if count is None else (text[len(text) - count :] if count else "")


def _mid(text: str, start: float, n: float) -> Cell:
    if start < 1 or n < 0:
        return value_error()
    begin = int(start) - 1
    return text[begin : begin + int(n)]


@_reg("LEFT", 1, 2)
def left(text: Block, num_chars: Block | None = None) -> Block:
    """LEFT(text, [num_chars=1]): the first characters."""
    return map_cells(_text_fn("tn", _left), text, num_chars or Block.scalar(1))


@_reg("RIGHT", 1, 2)
def right(text: Block, num_chars: Block | None = None) -> Block:
    """RIGHT(text, [num_chars=1]): the last characters."""
    return map_cells(_text_fn("tn", _right), text, num_chars or Block.scalar(1))


@_reg("MID", 3, 3)
def mid(text: Block, start_num: Block, num_chars: Block) -> Block:
    """MID(text, start_num, num_chars): characters from position `start_num` (1-based)."""
    return map_cells(_text_fn("tnn", _mid), text, start_num, num_chars)


@_reg("LEN", 1, 1)
def len_(text: Block) -> Block:
    """LEN(text): the number of characters."""
    return map_cells(_text_fn("t", lambda t: float(len(t))), text)


@_reg("UPPER", 1, 1)
def upper(text: Block) -> Block:
    """UPPER(text)."""
    return map_cells(_text_fn("t", str.upper), text)


@_reg("LOWER", 1, 1)
def lower(text: Block) -> Block:
    """LOWER(text)."""
    return map_cells(_text_fn("t", str.lower), text)


def _proper(text: str) -> str:
    # Excel capitalises every letter that follows a non-letter (so "o'neil" -> "O'Neil").
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0)[0].upper() + m.group(0)[1:].lower(), text)


@_reg("PROPER", 1, 1)
def proper(text: Block) -> Block:
    """PROPER(text): the first letter of each word upper-case, the rest lower-case."""
    return map_cells(_text_fn("t", _proper), text)


@_reg("TRIM", 1, 1)
def trim(text: Block) -> Block:
    """TRIM(text): spaces removed from both ends and runs of spaces inside cut to one."""
    return map_cells(_text_fn("t", lambda t: re.sub(" +", " ", t.strip(" "))), text)


@_reg("CLEAN", 1, 1)
def clean(text: Block) -> Block:
    """CLEAN(text): the non-printing characters 0-31 removed."""
    return map_cells(_text_fn("t", lambda t: re.sub(r"[\x00-\x1f]", "", t)), text)


def _substitute(text: str, old: str, new: str, instance: float | None = None) -> Cell:
    if old == "":
        return text
    if instance is None:
        return _fixed_text(text.replace(old, new))
    if instance < 1:
        return value_error()
    position = -1
    for _ in range(int(instance)):
        position = text.find(old, position + 1)
        if position < 0:
            return text
    return _fixed_text(text[:position] + new + text[position + len(old) :])


@_reg("SUBSTITUTE", 3, 4)
def substitute(text: Block, old_text: Block, new_text: Block, instance_num=None) -> Block:
    """SUBSTITUTE(text, old_text, new_text, [instance_num]): replace all, or the n-th."""
    if instance_num is None:
        return map_cells(_text_fn("ttt", _substitute), text, old_text, new_text)
    return map_cells(_substitute_nth, text, old_text, new_text, instance_num)


def _substitute_nth(text: Cell, old: Cell, new: Cell, instance: Cell) -> Cell:
    # instance_num takes no TRUE/FALSE (Excel's saved SUBSTITUTE(..., TRUE) is #VALUE!)
    if isinstance(instance, bool):
        return value_error()
    return _text_fn("tttn", _substitute)(text, old, new, instance)


def _replace(text: str, start: float, n: float, new: str) -> Cell:
    if start < 1 or n < 0:
        return value_error()
    begin = int(start) - 1
    return _fixed_text(text[:begin] + new + text[begin + int(n) :])


@_reg("REPLACE", 4, 4)
def replace(old_text: Block, start_num: Block, num_chars: Block, new_text: Block) -> Block:
    """REPLACE(old_text, start_num, num_chars, new_text): characters replaced by position."""
    return map_cells(_text_fn("tnnt", _replace), old_text, start_num, num_chars, new_text)


def _find(needle: str, haystack: str, start: float, *, fold: bool) -> Cell:
    if start < 1 or start > len(haystack) + 1:
        return value_error()
    begin = int(start) - 1
    if not fold:
        position = haystack.find(needle, begin)
        return value_error() if position < 0 else float(position + 1)
    regex = wildcard_regex(needle.casefold()) if needle else None
    text = haystack.casefold()
    if regex is None:
        return float(begin + 1)
    for position in range(begin, len(text) + 1):
        if regex.match(text, position):
            return float(position + 1)
    return value_error()


@_reg("FIND", 2, 3)
def find(find_text: Block, within_text: Block, start_num: Block | None = None) -> Block:
    """FIND(find_text, within_text, [start_num=1]): position, case-sensitive; #VALUE! if absent."""
    fn = _text_fn("ttn", lambda a, b, s: _find(a, b, s, fold=False))
    return map_cells(fn, find_text, within_text, start_num or Block.scalar(1))


@_reg("SEARCH", 2, 3)
def search(find_text: Block, within_text: Block, start_num: Block | None = None) -> Block:
    """SEARCH(find_text, within_text, [start_num=1]): as FIND, case-insensitive, ``*``/``?``."""
    fn = _text_fn("ttn", lambda a, b, s: _find(a, b, s, fold=True))
    return map_cells(fn, find_text, within_text, start_num or Block.scalar(1))


def _rept(text_: str, times: float) -> Cell:
    if times < 0:
        return value_error()
    return _fixed_text(text_ * int(times))


@_reg("REPT", 2, 2)
def rept(text_: Block, number_times: Block) -> Block:
    """REPT(text, number_times): the text repeated."""
    return map_cells(_text_fn("tn", _rept), text_, number_times)


@_reg("EXACT", 2, 2)
def exact(text1: Block, text2: Block) -> Block:
    """EXACT(text1, text2): TRUE when equal, case included."""
    return map_cells(_text_fn("tt", lambda a, b: a == b), text1, text2)


# CHAR and CODE use the character set of the machine Excel runs on: Windows-1252 on Windows,
# Mac Roman in Excel for Mac (Microsoft's CHAR documentation). A workbook saved by Excel for
# Mac says so in docProps/app.xml (`WorkbookModel.character_set`); evaluation runs inside
# `character_set_scope(model.character_set)`, so two workbooks never share a setting.
_CHARACTER_SET: ContextVar[str] = ContextVar("xl_lesson3_character_set", default="cp1252")


@contextmanager
def character_set_scope(name: str) -> Iterator[None]:
    """CHAR/CODE's character set inside the block: "cp1252" (Excel for Windows) or
    "mac_roman" (Excel for Mac)."""
    "".encode(name)  # an unknown codec raises LookupError here, not in a formula
    token = _CHARACTER_SET.set(name)
    try:
        yield
    finally:
        _CHARACTER_SET.reset(token)


def _char(code: float) -> Cell:
    if not 1 <= code < 256:
        return value_error()
    raw = bytes([int(code)])
    return raw.decode(_CHARACTER_SET.get(), errors="replace").replace("\ufffd", chr(int(code)))


def _code(text_: str) -> Cell:
    if text_ == "":
        return value_error()
    encoded = text_[0].encode(_CHARACTER_SET.get(), errors="replace")
    return float(encoded[0]) if len(encoded) == 1 else 63.0


@_reg("CHAR", 1, 1)
def char(number: Block) -> Block:
    """CHAR(number): the character with code 1-255 (Windows-1252, or Mac Roman on a Mac)."""
    return map_cells(_text_fn("n", _char), number)


@_reg("CODE", 1, 1)
def code(text_: Block) -> Block:
    """CODE(text): the code of the first character (Windows-1252, or Mac Roman on a Mac)."""
    return map_cells(_text_fn("t", _code), text_)


def _unichar(code_point: float) -> Cell:
    point = int(code_point)
    if point < 1 or point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
        return value_error()
    return chr(point)


@_reg("UNICHAR", 1, 1)
def unichar(number: Block) -> Block:
    """UNICHAR(number): the character with that Unicode code point."""
    return map_cells(_text_fn("n", _unichar), number)


@_reg("UNICODE", 1, 1)
def unicode(text_: Block) -> Block:
    """UNICODE(text): the code point of the first character."""
    return map_cells(_text_fn("t", lambda t: value_error() if not t else float(ord(t[0]))), text_)
