"""BAHTTEXT: a number as Thai words for an amount of baht and satang.

The amount is rounded to satang (two decimals); whole baht are read in blocks of six digits
joined by ล้าน (million), each block with the Thai place words (สิบ ten, ร้อย hundred, พัน,
หมื่น, แสน), where a tens digit 1 is just สิบ, a tens digit 2 is ยี่สิบ and a units 1 after
tens is เอ็ด. Then บาท, and either ถ้วน (exactly) or the satang in words and สตางค์. The algorithm
is LibreOffice's (sc/source/core/tool/interpr2.cxx, written to match Excel); Excel's saved
values in formulas' test.xlsx (TEXT row 6) agree with it. Cell by cell, text out.
"""

from __future__ import annotations

from xl_lesson3.formula.functions.core.cellwise import Cell, as_number, map_cells
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.values import Block, ExcelError

DIGITS = ("ศูนย์", "หนึ่ง", "สอง", "สาม", "สี่", "ห้า", "หก", "เจ็ด", "แปด", "เก้า")
PLACES = ((100000, "แสน"), (10000, "หมื่น"), (1000, "พัน"), (100, "ร้อย"))
TEN, TWENTY, ONE_AFTER_TEN = "สิบ", "ยี่", "เอ็ด"
MILLION, BAHT, SATANG, EXACT, MINUS = "ล้าน", "บาท", "สตางค์", "ถ้วน", "ลบ"


def _block(value: int) -> str:
    """Words for 0 < value < 1,000,000 (empty for 0)."""
    out = []
    for place, word in PLACES:
        if value >= place:
            out.append(DIGITS[value // place] + word)
            value %= place
    tens, ones = divmod(value, 10)
    if tens >= 1:
        out.append((DIGITS[tens] if tens >= 3 else TWENTY if tens == 2 else "") + TEN)
    if tens > 0 and ones == 1:
        out.append(ONE_AFTER_TEN)
    elif ones > 0:
        out.append(DIGITS[ones])
    return "".join(out)


def bahttext(number: float) -> str:
    """The Thai words for `number` baht (see the module docstring)."""
    minus = number < 0
    cents = round(abs(number) * 100)
    baht, satang = divmod(cents, 100)
    words = ""
    if baht == 0:
        words = DIGITS[0] if satang == 0 else ""
    while baht > 0:
        baht, block = divmod(baht, 1_000_000)
        words = (MILLION if baht > 0 else "") + _block(block) + words
    if words:
        words += BAHT
    words += EXACT if satang == 0 else _block(satang) + SATANG
    return MINUS + words if minus else words


def _cell(value: Cell) -> Cell:
    number = as_number(value)
    return number if isinstance(number, ExcelError) else bahttext(number)


@register("BAHTTEXT", min_args=1, max_args=1, category="Text", differentiable=False,
          array_result=True)  # fmt: skip
def bahttext_(number: Block) -> Block:
    """BAHTTEXT(number): the amount in Thai words (baht and satang)."""
    return map_cells(_cell, number)
