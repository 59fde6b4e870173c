"""TEXT's number formats: the codes Excel users write, applied in Python as Excel reads them.

Supported: sections ``positive;negative;zero;text`` (a last section holding ``@`` is the text
section, ``@`` anywhere else is #VALUE!) and conditions (``[<=1]a;[=2]b;c``); digit
placeholders ``0 # ?`` with a decimal point; commas (`_commas`: thousands grouping placed by
placeholder position, powers of 1000 after the last digit, literal text after other text);
percent; scientific ``0.00E+00``; quoted literals, ``\\x`` escapes, ``_x`` and ``*x``, plain
literal characters; ``General``; dates and times (`date_format`). Colours and locale codes are
dropped. An unclosed quote, or date letters among digit placeholders, is #VALUE!. Rounding is
half away from zero on the decimal value, as Excel shows numbers.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal

from xl_lesson3.formula.functions.core.comparison import format_number
from xl_lesson3.formula.functions.text.date_format import format_date
from xl_lesson3.formula.functions.text.format_code import (
    balanced,
    bare_codes,
    is_date_format,
    literal_at,
    split_sections,
)


def _split_text_section(sections: list[str]) -> tuple[list[str], str | None] | None:
    """(the number sections, the text section or None); None for a layout Excel refuses.

    The text section is the fourth, or the last one when it holds ``@`` (``w;x@``: -1 shows
    as ``-w``). ``@`` anywhere else, or beside digit placeholders, is #VALUE!.
    """
    with_at = [i for i, section in enumerate(sections) if "@" in bare_codes(section)]
    if with_at:
        last = len(sections) - 1
        if with_at != [last] or last > 3 or re.search(r"[0#?]", bare_codes(sections[last])):
            return None
        return sections[:last], sections[last]
    if len(sections) >= 4:
        return sections[:3], sections[3]
    return sections, None


def format_value(value: float | str, fmt: str) -> str | None:
    """`value` formatted with `fmt`, or None when the format is not understood."""
    if not balanced(fmt):
        return None
    sections = split_sections(fmt)
    if not isinstance(value, str) and _CONDITION.match(sections[0]):
        return _conditional(value, sections)
    layout = _split_text_section(sections)
    if layout is None:
        return None
    numeric, text_section = layout
    if isinstance(value, str):
        if text_section is not None:
            return _literal(text_section).replace("@", value)
        return value
    if not numeric:  # only a text section: numbers in General
        return format_number(value)
    if len(numeric) >= 2 and value < 0:
        section, value, sign = numeric[1], -value, ""
    elif len(numeric) >= 3 and value == 0:
        section, sign = numeric[2], ""
    else:
        section, sign = numeric[0], "-" if value < 0 else ""
        value = abs(value)
    section = re.sub(r"\[(?![hms]+\])[^\]]*\]", "", section, flags=re.IGNORECASE)
    if section.strip().lower() in ("general", ""):
        return sign + (format_number(value) if section.strip() else "")
    if is_date_format(section):
        text = format_date(value, section, negative=bool(sign))
        return None if text is None else sign + text
    text = _format_number(value, section)
    return None if text is None else sign + text


_CONDITION = re.compile(r"\[(<=|>=|<>|<|>|=)(-?[\d.]+)\]")


def _conditional(value: float, sections: list[str]) -> str | None:
    """Sections with conditions (``[<=1]a;[=2]b;c``): the first whose condition holds, else the
    last one; the number is shown without a sign (the section says how)."""
    value = float(value)
    tests = {
        "<": value.__lt__,
        ">": value.__gt__,
        "=": value.__eq__,
        "<=": value.__le__,
        ">=": value.__ge__,
        "<>": value.__ne__,
    }
    for section in sections:
        match = _CONDITION.match(section)
        if match is None or tests[match.group(1)](float(match.group(2))):
            chosen = section[match.end() :] if match else section
            return format_value(abs(value), chosen)
    return format_value(abs(value), sections[-1])


def _literal(section: str) -> str:
    out, i = [], 0
    while i < len(section):
        ch = section[i]
        literal = literal_at(section, i)
        if literal is not None:
            out.append(literal[0])
            i = literal[1]
            continue
        if ch not in "_*":
            out.append(ch)
        else:
            i += 1  # _x (a space as wide as x) and *x (fill): skip the next character
            out.append(" " if ch == "_" else "")
        i += 1
    return "".join(out)


def _round(value: float, decimals: int) -> Decimal:
    exact = Decimal(repr(value))
    exact = Decimal(f"{exact:.15g}") if exact else exact
    # enough precision for 1e308 shown with 127 decimals (FIXED's limit): the default 28 digits
    # would make quantize raise InvalidOperation
    wide = Context(prec=500)
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP, context=wide)


def _format_number(value: float, section: str) -> str | None:
    original = value
    bare = re.sub(r'"[^"]*"|\\.', lambda m: "x" * len(m.group(0)), section)
    e_mark = re.search(r"[eE][+-][0#]+", bare)
    codes = bare_codes(section)
    if re.search(r"[ymdhs]", codes, re.IGNORECASE):  # date codes among digits: #VALUE!
        return None
    if re.search(r"[eE][+-]", codes) and (
        e_mark is None or re.search(r"[0#?]", bare[e_mark.end() :])
    ):  # an exponent without digits, or digit placeholders after it
        return None
    mantissa_end = e_mark.start() if e_mark else len(bare)
    digits = [i for i, ch in enumerate(bare[:mantissa_end]) if ch in "0#?"]
    if not digits:
        return _literal(section)
    start, end = digits[0], digits[-1] + 1
    while end < mantissa_end and bare[end] in ",.":
        end += 1
    exponent = re.match(r"[eE][+-][0#]+", bare[end:])
    pattern = bare[start:end]
    prefix, suffix = section[:start], section[end + (exponent.end() if exponent else 0) :]
    value *= 100 ** bare.count("%")
    scaled_by_commas = len(pattern) - len(pattern.rstrip(","))
    pattern = pattern.rstrip(",")
    value /= 1000**scaled_by_commas
    integer_part, _, decimal_part = pattern.partition(".")
    min_int = integer_part.count("0")
    decimals = sum(ch in "0#?" for ch in decimal_part)
    if exponent:
        body = _scientific(value, min_int, decimals, exponent.group(0))
        return _literal(prefix) + body + _literal(suffix)
    return _positional(abs(original), section)


def _tokens(section: str) -> list[tuple[str, str]]:
    """A number format as tokens: ("digit", 0/#/?), ("point", "."), ("comma", ","), ("lit", x).

    The first ``.`` is the decimal point, later ones are literal text, as in Excel.
    """
    tokens, i, seen_point = [], 0, False
    while i < len(section):
        ch = section[i]
        literal = literal_at(section, i)
        if literal is not None:
            tokens.append(("lit", literal[0]))
            i = literal[1]
            continue
        if ch in "_*" and i + 1 < len(section):
            tokens.append(("lit", " " if ch == "_" else ""))
            i += 2
            continue
        if ch in "0#?":
            tokens.append(("digit", ch))
        elif ch == "." and not seen_point:
            tokens.append(("point", "."))
            seen_point = True
        elif ch == ",":
            tokens.append(("comma", ","))
        else:
            tokens.append(("lit", ch))
        i += 1
    return tokens


def _commas(tokens: list[tuple[str, str]]) -> tuple[bool, int]:
    """Read the commas of a number section in place: (thousands grouping, powers of 1000).

    As Excel reads them (its saved values for ``0,x#``, ``#x,0,#``, ``#.###,x,##``): a comma
    right after a digit placeholder (or after such a comma) is a code, shown as nothing; it
    turns grouping on when a digit placeholder of the integer part follows at once, and
    divides by 1000 when no digit placeholder follows at all. Any other comma is literal text.
    """
    digits = [k for k, (kind, _) in enumerate(tokens) if kind == "digit"]
    point = next((k for k, (kind, _) in enumerate(tokens) if kind == "point"), len(tokens))
    grouping, scale = False, 0
    for k, (kind, _) in enumerate(tokens):
        if kind != "comma":
            continue
        previous = tokens[k - 1][0] if k else ""
        if previous not in ("digit", "code"):
            tokens[k] = ("lit", ",")
            continue
        tokens[k] = ("code", "")
        following = tokens[k + 1][0] if k + 1 < len(tokens) else ""
        if not digits or k > digits[-1]:
            scale += 1
        elif k < point and following == "digit":
            grouping = True
    return grouping, scale


def _integer_slots(whole: str, placeholders: list[str]) -> list[str]:
    """What each integer placeholder shows (left to right): digits fill them from the right, the
    leftmost taking any left over; an unused ``0`` shows 0, ``?`` a space, ``#`` nothing."""
    shown, remaining = [], whole
    for position, placeholder in enumerate(reversed(placeholders)):
        if position == len(placeholders) - 1 and remaining:
            chunk, remaining = remaining, ""
        elif remaining:
            chunk, remaining = remaining[-1], remaining[:-1]
        else:
            chunk = {"0": "0", "?": " ", "#": ""}[placeholder]
        shown.append(chunk)
    return shown[::-1]


def _grouped(slots: list[str]) -> list[str]:
    """Thousands separators by placeholder position, as Excel places them: counting places
    from the right (an unused ``#`` still takes one, a leftmost placeholder holding several
    digits one per digit), a comma follows the digit in place 4, 7, 10...
    (``#,##000######## `` shows 1234567 as ``00,01,234,567``)."""
    place, out = 0, []
    for chunk in reversed(slots):
        if chunk == "":
            place += 1
            out.append("")
            continue
        text = ""
        for ch in reversed(chunk):
            place += 1
            text = ch + ("," if place > 1 and place % 3 == 1 and ch.isdigit() else "") + text
        out.append(text)
    return out[::-1]


def _positional(value: float, section: str) -> str:
    """Digits placed into the placeholders with literal text kept where it stands
    (``#,##0ZZ0.0YY00`` shows 1234567.89 as ``1,234,56ZZ7.8YY90``), as Excel does.

    Decimals fill the decimal placeholders from the left; a ``#`` or ``?`` whose digit and all
    later digits are zero shows nothing (a space), even before a ``0`` placeholder.
    """
    tokens = _tokens(section)
    grouping, scale = _commas(tokens)
    point = next((k for k, (kind, _) in enumerate(tokens) if kind == "point"), len(tokens))
    int_digits = [k for k in range(point) if tokens[k][0] == "digit"]
    dec_digits = [k for k in range(point, len(tokens)) if tokens[k][0] == "digit"]
    value = value * 100 ** sum(t == ("lit", "%") for t in tokens) / 1000**scale
    rounded = _round(value, len(dec_digits))
    whole, _, fraction = f"{rounded:f}".partition(".")
    whole = whole.lstrip("0")
    fraction = (fraction + "0" * len(dec_digits))[: len(dec_digits)]
    out = [text if kind in ("lit", "point") else "" for kind, text in tokens]
    slots = _integer_slots(whole, [tokens[k][1] for k in int_digits])
    for k, chunk in zip(int_digits, _grouped(slots) if grouping else slots):
        out[k] = chunk
    if not int_digits and whole:  # no integer placeholder: the digits go before the point
        if point < len(out):
            out[point] = whole + out[point]
        else:
            out.append(whole)
    last_nonzero = max((j for j, digit in enumerate(fraction) if digit != "0"), default=-1)
    for j, k in enumerate(dec_digits):
        if j <= last_nonzero:
            out[k] = fraction[j]
        else:
            out[k] = {"0": "0", "?": " ", "#": ""}[tokens[k][1]]
    return "".join(out)


def _scientific(value: float, min_int: int, decimals: int, exponent_code: str) -> str:
    if value == 0:
        power = 0
    else:
        power = int(Decimal(repr(value)).adjusted()) - (max(min_int, 1) - 1)
    mantissa = _round(value / 10**power, decimals) if value else Decimal(0)
    if value and abs(mantissa) >= 10 ** max(min_int, 1):
        power += 1
        mantissa = _round(value / 10**power, decimals)
    sign = "-" if power < 0 else ("+" if exponent_code[1] == "+" else "")
    width = exponent_code.count("0")
    return f"{mantissa:.{decimals}f}" + "E" + sign + str(abs(power)).rjust(width, "0")
