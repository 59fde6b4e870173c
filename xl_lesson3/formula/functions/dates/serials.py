"""Excel date serials in Python: conversions, and reading dates and times written as text.

Excel (1900 date system) counts days from serial 1 = 1900-01-01 and, for compatibility with
Lotus 1-2-3, believes 1900 was a leap year: serial 60 is the non-existent 1900-02-29 and every
serial from 61 (1900-03-01) on is one more than the true day count. Serial 0 shows as
1900-01-00. Times are fractions of a day. Text such as ``"2020-01-15"``, ``"1/15/2020"``,
``"15-Jan-2020"``, ``"Jan 15, 2020"``, ``"12:30"`` or ``"1:30 PM"`` reads as its serial where
Excel (US English: month first, but ``"29/02/1900"``, impossible so, is read day first) would: arithmetic, DATEVALUE, criteria, direct AVERAGE/MAX arguments.
"""

from __future__ import annotations

import datetime as dt
import re

_EPOCH = dt.date(1899, 12, 30)
FAKE_LEAP_DAY = 60
MAX_SERIAL = 2958465  # 9999-12-31

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}


def serial_from_date(day: dt.date) -> int:
    """The serial of a real calendar day (1900-01-01 is 1, 1900-03-01 is 61)."""
    raw = (day - _EPOCH).days
    return raw - 1 if raw < 61 else raw


def date_from_serial(serial: float) -> dt.date | None:
    """The calendar day of a serial, or None for serials without one (< 1, 60, too large).

    Callers that need 1900-01-00 or 1900-02-29 handle 0 and 60 themselves (`ymd_from_serial`).
    """
    whole = int(serial // 1)
    if whole < 1 or whole == FAKE_LEAP_DAY or whole > MAX_SERIAL:
        return None
    return _EPOCH + dt.timedelta(days=whole + (1 if whole < 61 else 0))


def ymd_from_serial(serial: float) -> tuple[int, int, int] | None:
    """(year, month, day) as Excel shows a serial, with 1900-01-00 and 1900-02-29."""
    whole = int(serial // 1)
    if whole == 0:
        return (1900, 1, 0)
    if whole == FAKE_LEAP_DAY:
        return (1900, 2, 29)
    day = date_from_serial(serial)
    return None if day is None else (day.year, day.month, day.day)


def serial_from_ymd(year: int, month: int, day: int) -> int | None:
    """DATE's arithmetic: months and days may overflow; years 0-1899 mean 1900-3799."""
    if 0 <= year < 1900:
        year += 1900
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    if not 1900 <= year <= 9999:
        return None
    serial = serial_from_date(dt.date(year, month, 1)) + day - 1
    return serial if 0 <= serial <= MAX_SERIAL else None


_TIME = r"(\d{1,2}):(\d{1,4})(?::(\d{1,4}))?(\.\d*)?\s*([ap]m?)?"
_PATTERNS = [
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), ("y", "m", "d")),
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), ("y", "m", "d")),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2,4})"), ("m", "d", "y")),
    (re.compile(r"(\d{1,2})-(\d{1,2})-(\d{2,4})"), ("m", "d", "y")),
    (re.compile(r"(\d{1,2})[- ]([a-z]+)[- ,]*(\d{2,4})"), ("d", "b", "y")),
    (re.compile(r"([a-z]+)[- ](\d{1,2}),?[- ]*(\d{2,4})"), ("b", "d", "y")),
    (re.compile(r"(\d{1,2})[- ]([a-z]+)"), ("d", "b")),
    (re.compile(r"([a-z]+)[- ](\d{1,2})"), ("b", "d")),
    (re.compile(r"(\d{1,2})/(\d{1,2})"), ("m", "d")),
]


def _date_part(text: str) -> int | None:
    for pattern, fields in _PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        parts = dict(zip(fields, match.groups()))
        if "m" in parts and "d" in parts and int(parts["m"]) > 12 >= int(parts["d"]):
            parts["m"], parts["d"] = parts["d"], parts["m"]  # 29/02/1900: day first
        month = _MONTHS.get(parts["b"]) if "b" in parts else int(parts["m"])
        if month is None or not 1 <= month <= 12:
            return None
        year = int(parts.get("y", dt.date.today().year))
        if "y" in parts and len(parts["y"]) <= 2:
            year += 2000 if year < 30 else 1900
        day = int(parts["d"])
        try:
            return serial_from_date(dt.date(year, month, day))
        except ValueError:
            return FAKE_LEAP_DAY if (year, month, day) == (1900, 2, 29) else None
    return None


def _time_part(text: str) -> float | None:
    """A time of day as Excel reads it (its saved values in pycel's text.xlsx): ``h:m`` (a
    trailing "." allowed), ``h:m:s[.f]`` or ``m:s.f``; the last field may run to 9999
    (``0:0:9999``, ``23:9999``), the middle one of three, and the minutes of ``m:s.f``, stop at
    59, and ``h:m`` from 24 hours on takes minutes up to 59 only."""
    match = re.fullmatch(_TIME, text)
    if match is None:
        return None
    first, second = int(match.group(1)), int(match.group(2))
    third, fraction, suffix = match.group(3), match.group(4) or "", match.group(5)
    if third is None and len(fraction) > 1:  # m:s.f
        if first > 59 or suffix:
            return None
        return (first * 60 + float(f"{second}{fraction}")) / 86400
    hours, minutes = first, second
    seconds = float(f"{third}{fraction}") if third is not None else 0.0
    if third is None and fraction and suffix:
        return None
    if suffix:
        if not 1 <= hours <= 12 or minutes > 59 or seconds >= 60:
            return None
        hours = hours % 12 + (12 if suffix.startswith("p") else 0)
    if (third is not None or hours >= 24) and minutes > 59:
        return None
    return (hours * 3600 + minutes * 60 + seconds) / 86400


def parse_date_text(text: object) -> float | None:
    """The serial (with a time fraction) a text spells as a date and/or time, or None."""
    if not isinstance(text, str):
        return None
    cleaned = " ".join(text.strip().lower().split())
    if not cleaned or not any(ch.isdigit() for ch in cleaned):
        return None
    time_match = re.search(_TIME + r"$", cleaned)
    if time_match is not None:
        time = _time_part(time_match.group(0))
        rest = cleaned[: time_match.start()].strip().rstrip("t").strip()
        if time is None:
            return None
        if not rest:
            return time
        day = _date_part(rest)
        return None if day is None else day + time
    day = _date_part(cleaned)
    return None if day is None else float(day)
