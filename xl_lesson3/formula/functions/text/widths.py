"""ASC and DBCS (JIS): full-width (double-byte) characters to half-width and back.

Japanese text mixes full-width forms of ASCII (``ＡＢＣ１２３``) and full-width katakana with their half-width forms. ASC turns full-width into half-width and
DBCS the other way; everything else is left as it is. The pairs come from Unicode's own
compatibility mappings (NFKC of each half-width form), so no table is written by hand; a
voiced katakana (ガ) becomes two half-width characters (ｶﾞ) and back. Numbers and booleans
are read as their text (ASC(65.8) is "65.8", as Excel's saved values in formulas' test.xlsx
TEXT row 5 show).
"""

from __future__ import annotations

import re
import unicodedata

from xl_lesson3.formula.functions.core.cellwise import Cell, as_text, map_cells
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.values import Block, ExcelError

# full-width ASCII U+FF01..U+FF5E is ASCII U+0021..U+007E shifted. The spaces are left alone
# (U+3000 and " "), as LibreOffice's ASC and JIS do.
_WIDE_OFFSET = 0xFF01 - 0x21
_VOICED_MARKS = {"\u3099": "\uff9e", "\u309a": "\uff9f"}  # combining (han)dakuten → half-width


def _tables() -> tuple[dict[str, str], dict[str, str]]:
    narrow = {chr(code + _WIDE_OFFSET): chr(code) for code in range(0x21, 0x7F)}
    for code in range(0xFF61, 0xFFA0):  # half-width katakana and punctuation
        half = chr(code)
        narrow.setdefault(unicodedata.normalize("NFKC", half), half)
    for code in range(0x30A0, 0x3100):  # voiced full-width katakana: base + mark
        full = chr(code)
        parts = unicodedata.normalize("NFD", full)
        if len(parts) == 2 and parts[0] in narrow and parts[1] in _VOICED_MARKS:
            narrow[full] = narrow[parts[0]] + _VOICED_MARKS[parts[1]]
    wide = {half: full for full, half in narrow.items()}
    return narrow, wide


_NARROW, _WIDE = _tables()
_WIDE_PATTERN = re.compile("|".join(sorted(map(re.escape, _WIDE), key=len, reverse=True)))


def to_half_width(text: str) -> str:
    """ASC's conversion of one text."""
    return "".join(_NARROW.get(char, char) for char in text)


def to_full_width(text: str) -> str:
    """DBCS's conversion of one text (a voiced pair ｶﾞ becomes one character)."""
    return _WIDE_PATTERN.sub(lambda match: _WIDE[match.group(0)], text)


def _converter(convert):
    def one(value: Cell) -> Cell:
        text = as_text(value)
        return text if isinstance(text, ExcelError) else convert(text)

    return one


@register("ASC", min_args=1, max_args=1, category="Text", differentiable=False,
          array_result=True)  # fmt: skip
def asc(text: Block) -> Block:
    """ASC(text): full-width (double-byte) characters changed to half-width."""
    return map_cells(_converter(to_half_width), text)


@register("DBCS", min_args=1, max_args=1, category="Text", aliases=("JIS",),
          differentiable=False, array_result=True)  # fmt: skip
def dbcs(text: Block) -> Block:
    """DBCS(text) or JIS(text): half-width characters changed to full-width."""
    return map_cells(_converter(to_full_width), text)
