"""TEXT's date and time codes: ``yyyy yy mmmm mmm mm m dddd ddd dd d hh h mm ss AM/PM A/P``,
elapsed ``[h] [m] [s]`` and fractions of a second ``.0 .00 .000``.

Excel reads over-long codes its own way (`_canonical`); ``m``/``mm`` are minutes right after an
hour or right before a seconds code. A serial outside Excel's dates (before 0, after
9999-12-31) is #VALUE! unless the only codes are elapsed ones (``[h]`` of 71003160 is
1704075840); a negative serial is shown only by a lone elapsed code (``[h]`` of -1 is -24,
``[h]:m`` is #VALUE!).
"""

from __future__ import annotations

import re

from xl_lesson3.formula.functions.dates.serials import date_from_serial, ymd_from_serial
from xl_lesson3.formula.functions.text.format_code import literal_at, unquoted

_DATE_CODES = re.compile(
    r"\[h+\]|\[m+\]|\[s+\]|y+|m+|d+|h+|s+|am/pm|a/p"
    r"|\.0+",
    re.IGNORECASE,
)


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


def format_date(serial: float, section: str, negative: bool = False) -> str | None:
    """`serial` (days, not negative) shown with a date/time `section`; `negative` says the
    value was below zero. None where Excel says #VALUE!."""
    tokens = _date_tokens(section)
    codes = [text.lower() for kind, text in tokens if kind == "code"]
    elapsed_only = all(code.startswith(("[", ".")) for code in codes)
    if negative and not (len(codes) == 1 and codes[0].startswith("[")):
        return None
    ymd = ymd_from_serial(serial) if serial >= 0 else None
    if ymd is None and not elapsed_only:
        return None
    year, month, day = ymd or (1900, 1, 0)
    real = date_from_serial(serial) if ymd else None
    weekday = real.weekday() if real is not None else (int(serial) + 5) % 7
    # seconds, rounded at the finest fraction of a second the format shows
    places = max((len(code) - 1 for code in codes if code.startswith(".")), default=0)
    places = min(places, 3)
    units = round(serial * 86400 * 10**places)
    seconds_total, fraction = divmod(units, 10**places)
    day_seconds = seconds_total - int(serial) * 86400
    hours, rest = divmod(day_seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    twelve_hour = bool(re.search(r"am/pm|a/p", unquoted(section), re.IGNORECASE))
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
            per_unit = {"h": 3600, "m": 60, "s": 1}[code[1]]
            out.append(str(seconds_total // per_unit).rjust(len(code) - 2, "0"))
        elif code.startswith("h"):
            shown = (hours % 12 or 12) if twelve_hour else hours
            out.append(f"{shown:0{len(code)}d}")
        elif code.startswith("s"):
            out.append(f"{seconds:0{len(code)}d}")
        elif code in ("am/pm", "a/p"):
            marker = "AM" if hours < 12 else "PM"
            out.append(marker if code == "am/pm" else marker[0])
        else:  # .0, .00, .000: fractions of a second
            out.append("." + f"{fraction:0{places}d}"[: len(code) - 1] if places else ".")
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
        literal = literal_at(section, i)
        if literal is not None:
            tokens.append(("lit", literal[0]))
            i = literal[1]
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
