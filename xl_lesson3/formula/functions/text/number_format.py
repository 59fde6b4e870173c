"""TEXT's number formats: the common codes Excel users write, applied in Python.

Supported: sections ``positive;negative;zero;text``; digit placeholders ``0 # ?`` with a
decimal point, thousands separators (``#,##0``) and trailing commas that scale by 1000;
percent; scientific ``0.00E+00``; quoted literals, ``\\x`` escapes and plain literal
characters (``$``, spaces, units); ``@`` for the text itself; ``General``; and dates and times
``yyyy yy mmmm mmm mm m dddd ddd dd d hh h mm ss AM/PM [h]``. Colours, conditions
(``[>100]``) and locale codes are not interpreted: the bracketed part is dropped.
Rounding is half away from zero on the decimal value, as Excel shows numbers.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal

from xl_lesson3.formula.functions.core.comparison import format_number
from xl_lesson3.formula.functions.dates.serials import date_from_serial, ymd_from_serial

_DATE_CODES = re.compile(
    r"\[h+\]|\[m+\]|\[s+\]|y+|m+|d+|h+|s+|am/pm|a/p"
    r"|\.0+",
    re.IGNORECASE,
)


def _sections(fmt: str) -> list[str]:
    out, current, quoted, i = [], "", False, 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == '"':
            quoted = not quoted
        if ch == "\\" and i + 1 < len(fmt):
            current += fmt[i : i + 2]
            i += 2
            continue
        if ch == ";" and not quoted:
            out.append(current)
            current = ""
        else:
            current += ch
        i += 1
    out.append(current)
    return out


def _unquoted(fmt: str) -> str:
    """The format with quoted text, escapes and brackets removed (for detecting its type)."""
    return re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", fmt)


def is_date_format(fmt: str) -> bool:
    if re.search(r"\[[hms]+\]", fmt, re.IGNORECASE):
        return True
    bare = _unquoted(fmt).lower()
    return bool(re.search(r"[ymdhs]", bare)) and not re.search(r"[0#?]", bare.replace(".0", ""))


def format_value(value: float | str, fmt: str) -> str | None:
    """`value` formatted with `fmt`, or None when the format is not understood."""
    sections = _sections(fmt)
    if not isinstance(value, str) and _CONDITION.match(sections[0]):
        return _conditional(value, sections)
    if isinstance(value, str):
        if len(sections) >= 4:
            return (
                _literal(sections[3]).replace("@", value)
                if "@" in sections[3]
                else (_literal(sections[3]))
            )
        return _literal(sections[0]).replace("@", value) if "@" in sections[0] else value
    if len(sections) >= 2 and value < 0:
        section, value, sign = sections[1], -value, ""
    elif len(sections) >= 3 and value == 0:
        section, sign = sections[2], ""
    else:
        section, sign = sections[0], "-" if value < 0 else ""
        value = abs(value)
    section = re.sub(r"\[(?![hms]+\])[^\]]*\]", "", section, flags=re.IGNORECASE)
    if section.strip().lower() in ("general", ""):
        return sign + format_number(value) if section.strip() else ""
    if is_date_format(section):
        if re.search(r"\[[hms]+\]", section, re.IGNORECASE):  # elapsed time may be negative
            text = _format_date(value, section)
            return None if text is None else sign + text
        return _format_date(-value if sign else value, section)
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
        if ch == '"':
            end = section.find('"', i + 1)
            end = len(section) if end < 0 else end
            out.append(section[i + 1 : end])
            i = end + 1
            continue
        if ch == "\\" and i + 1 < len(section):
            out.append(section[i + 1])
            i += 2
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
        if ch == '"':
            end = section.find('"', i + 1)
            end = len(section) if end < 0 else end
            tokens.append(("lit", section[i + 1 : end]))
            i = end + 1
            continue
        if ch == "\\" and i + 1 < len(section):
            tokens.append(("lit", section[i + 1]))
            i += 2
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


def _positional(value: float, section: str) -> str:
    """Digits placed into the placeholders with literal text kept where it stands
    (``#,##0ZZ0.0YY00`` shows 1234567.89 as ``1,234,56ZZ7.8YY90``), as Excel does.

    Integer digits fill the integer placeholders from the right, the leftmost taking any
    digits left over; a comma between integer placeholders groups the digits by thousands; a
    comma right after the last integer placeholder divides by 1000; decimals fill the
    decimal placeholders from the left, ``#`` dropping trailing zeros and ``?`` showing a space.
    """
    tokens = _tokens(section)
    point = next((k for k, (kind, _) in enumerate(tokens) if kind == "point"), len(tokens))
    int_digits = [k for k in range(point) if tokens[k][0] == "digit"]
    dec_digits = [k for k in range(point, len(tokens)) if tokens[k][0] == "digit"]
    last_int = int_digits[-1] if int_digits else -1
    grouping, scale = False, 0
    for k in range(point):
        if tokens[k][0] != "comma":
            continue
        if int_digits and int_digits[0] < k < last_int:
            grouping = True
            tokens[k] = ("lit", "")
        elif k > last_int >= 0 and all(t[0] in ("comma", "lit") for t in tokens[last_int + 1 : k]):
            scale += 1
            tokens[k] = ("lit", "")
        else:
            tokens[k] = ("lit", ",")
    for k in range(point, len(tokens)):
        if tokens[k][0] == "comma":
            tokens[k] = ("lit", ",")
    value = value * 100 ** sum(t == ("lit", "%") for t in tokens) / 1000**scale
    rounded = _round(value, len(dec_digits))
    whole, _, fraction = f"{rounded:f}".partition(".")
    whole = whole.lstrip("0")
    fraction = (fraction + "0" * len(dec_digits))[: len(dec_digits)]
    out = [text if kind in ("lit", "point") else "" for kind, text in tokens]
    # integer part, right to left
    remaining = whole
    for position, k in enumerate(reversed(int_digits)):
        placeholder = tokens[k][1]
        if position == len(int_digits) - 1:
            chunk = remaining if remaining else ("0" if placeholder == "0" else "")
            chunk = chunk if remaining or placeholder != "?" else " "
        elif remaining:
            chunk, remaining = remaining[-1], remaining[:-1]
        else:
            chunk = {"0": "0", "?": " ", "#": ""}[placeholder]
        out[k] = chunk
        if position == len(int_digits) - 1:
            remaining = ""
    if not int_digits and whole:  # no integer placeholder: the digits go before the point
        if point < len(out):
            out[point] = whole + out[point]
        else:
            out.append(whole)
    if grouping:
        _group(out, [k for k in int_digits])
    # decimal part, left to right; trailing optional zeros dropped
    keep = len(fraction)
    while keep and fraction[keep - 1] == "0" and tokens[dec_digits[keep - 1]][1] != "0":
        keep -= 1
    for j, k in enumerate(dec_digits):
        if j < keep:
            out[k] = fraction[j]
        else:
            out[k] = " " if tokens[k][1] == "?" else ""
    return "".join(out)


def _group(out: list[str], int_digits: list[int]) -> None:
    """Thousands separators into the integer digits already placed, counting from the right."""
    count = 0
    for k in reversed(int_digits):
        chunk = out[k]
        grouped = ""
        for ch in reversed(chunk):
            if ch.isdigit():
                if count and count % 3 == 0:
                    grouped = ch + "," + grouped
                else:
                    grouped = ch + grouped
                count += 1
            else:
                grouped = ch + grouped
        out[k] = grouped


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


_MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _format_date(serial: float, section: str) -> str | None:
    if serial < 0:
        return None
    ymd = ymd_from_serial(serial)
    if ymd is None:
        return None
    year, month, day = ymd
    real = date_from_serial(serial)
    weekday = real.weekday() if real is not None else (int(serial) + 5) % 7
    seconds_total = round((serial - int(serial)) * 86400)
    hours, rest = divmod(seconds_total, 3600)
    minutes, seconds = divmod(rest, 60)
    twelve_hour = bool(re.search(r"am/pm|a/p", _unquoted(section), re.IGNORECASE))
    tokens = _date_tokens(section)
    out = []
    for index, (kind, text) in enumerate(tokens):
        if kind == "lit":
            out.append(text)
            continue
        code = _canonical(text.lower())
        if code in ("m", "mm") and _is_minute(tokens, index):
            out.append(f"{minutes:0{len(code)}d}")
        elif code == "yyyy":
            out.append(f"{year:04d}")
        elif code == "yy":
            out.append(f"{year % 100:02d}")
        elif code.startswith("m"):
            out.append(
                {
                    1: str(month),
                    2: f"{month:02d}",
                    3: _MONTH_NAMES[month - 1][:3],
                    4: _MONTH_NAMES[month - 1],
                    5: _MONTH_NAMES[month - 1][0],
                }[len(code)]
            )
        elif code.startswith("d"):
            out.append(
                {1: str(day), 2: f"{day:02d}", 3: _DAY_NAMES[weekday][:3]}.get(
                    len(code), _DAY_NAMES[weekday]
                )
            )
        elif code.startswith("["):
            per_day = {"h": 24, "m": 1440, "s": 86400}[code[1]]
            out.append(str(int(round(serial * per_day, 6))).rjust(len(code) - 2, "0"))
        elif code.startswith("h"):
            shown = (hours % 12 or 12) if twelve_hour else hours
            out.append(f"{shown:0{len(code)}d}")
        elif code.startswith("s"):
            out.append(f"{seconds:0{len(code)}d}")
        elif code in ("am/pm", "a/p"):
            marker = "AM" if hours < 12 else "PM"
            out.append(marker if code == "am/pm" else marker[0])
        else:  # fractions of a second are not shown
            out.append("")
    return "".join(out)


def _canonical(code: str) -> str:
    """Excel's reading of over-long codes: y and yy are two-digit years, three or more y four;
    six or more m are mmmm, five or more d dddd, three or more h or s two digits.
    """
    letter, n = code[0], len(code)
    if letter == "y":
        return "yy" if n <= 2 else "yyyy"
    if letter == "m":
        return "mmmm" if n >= 6 else code
    if letter == "d":
        return code if n <= 4 else "dddd"
    if letter in "hs":
        return code if n <= 2 else letter * 2
    return code


def _date_tokens(section: str) -> list[tuple[str, str]]:
    tokens, i = [], 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            end = section.find('"', i + 1)
            end = len(section) if end < 0 else end
            tokens.append(("lit", section[i + 1 : end]))
            i = end + 1
            continue
        if ch == "\\" and i + 1 < len(section):
            tokens.append(("lit", section[i + 1]))
            i += 2
            continue
        match = _DATE_CODES.match(section, i)
        if match:
            tokens.append(("code", match.group(0)))
            i = match.end()
        else:
            tokens.append(("lit", ch))
            i += 1
    return tokens


def _is_minute(tokens: list[tuple[str, str]], index: int) -> bool:
    """``m``/``mm`` mean minutes right after an hour code or right before a seconds code."""
    codes = [(i, t.lower()) for i, (k, t) in enumerate(tokens) if k == "code"]
    position = [i for i, _ in codes].index(index)
    before = codes[position - 1][1] if position > 0 else ""
    after = codes[position + 1][1] if position + 1 < len(codes) else ""
    return before.startswith(("h", "[h")) or after.startswith(("s", "[s"))
