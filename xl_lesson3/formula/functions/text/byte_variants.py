"""The byte-counting text functions FINDB, LEFTB, LENB, MIDB, REPLACEB, RIGHTB, SEARCHB.

Excel counts bytes instead of characters in these only when a double-byte language (Japanese,
Chinese, Korean) is set as the default editing language; with any other default, the one this
engine assumes, each character counts as one byte and every *B function equals its plain
counterpart (Microsoft's LEFTB/LENB documentation; Excel's saved ``FINDB("ia", "山田太郎ciao")``
is 6, a count of characters). So each is the plain function under a second name.
"""

from __future__ import annotations

import functools

from xl_lesson3.formula.functions.core.registry import register_cellwise
from xl_lesson3.formula.functions.text import strings
from xl_lesson3.formula.values import Block

CATEGORY = "Text"


_reg = functools.partial(register_cellwise, category=CATEGORY)


@_reg("FINDB", 2, 3)
def findb(find_text: Block, within_text: Block, start_num: Block | None = None) -> Block:
    """FINDB(find_text, within_text, [start_num]): FIND with one byte per character."""
    return strings.find(find_text, within_text, start_num)


@_reg("SEARCHB", 2, 3)
def searchb(find_text: Block, within_text: Block, start_num: Block | None = None) -> Block:
    """SEARCHB(find_text, within_text, [start_num]): SEARCH with one byte per character."""
    return strings.search(find_text, within_text, start_num)


@_reg("LEFTB", 1, 2)
def leftb(text: Block, num_bytes: Block | None = None) -> Block:
    """LEFTB(text, [num_bytes=1]): LEFT with one byte per character."""
    return strings.left(text, num_bytes)


@_reg("RIGHTB", 1, 2)
def rightb(text: Block, num_bytes: Block | None = None) -> Block:
    """RIGHTB(text, [num_bytes=1]): RIGHT with one byte per character."""
    return strings.right(text, num_bytes)


@_reg("MIDB", 3, 3)
def midb(text: Block, start_num: Block, num_bytes: Block) -> Block:
    """MIDB(text, start_num, num_bytes): MID with one byte per character."""
    return strings.mid(text, start_num, num_bytes)


@_reg("LENB", 1, 1)
def lenb(text: Block) -> Block:
    """LENB(text): LEN with one byte per character."""
    return strings.len_(text)


@_reg("REPLACEB", 4, 4)
def replaceb(old_text: Block, start_num: Block, num_bytes: Block, new_text: Block) -> Block:
    """REPLACEB(old_text, start_num, num_bytes, new_text): REPLACE with one byte per character."""
    return strings.replace(old_text, start_num, num_bytes, new_text)
