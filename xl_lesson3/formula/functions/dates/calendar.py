"""Dates and times: DATE, TIME, YEAR … SECOND, WEEKDAY, EDATE, EOMONTH, DAYS, DATEDIF, YEARFRAC,
NETWORKDAYS, WORKDAY, WEEKNUM, ISOWEEKNUM, DATEVALUE, TIMEVALUE, TODAY, NOW.

Dates are Excel serial numbers (see `datetext` for the 1900 leap-year bug: serial 60 is
1900-02-29). The calendar arithmetic of the common functions is done on tensors with the
civil-from-days algorithm (Howard Hinnant's), so ``YEAR(A2)`` down 700 rows is a few tensor
ops; the rarer ones (DATEDIF, YEARFRAC, NETWORKDAYS) work cell by cell in Python. All are
piecewise constant: not differentiable. Text dates are read as DATEVALUE reads them.
TODAY and NOW are volatile: they are read from the clock once per evaluation (and a compiled
program folds them once per solve).
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import torch

from xl_lesson3.formula.functions.core.cellwise import (
    as_number,
    cell_values,
    map_cells,
    num_error,
    value_error,
)
from xl_lesson3.formula.functions.core.registry import register, register_cellwise
from xl_lesson3.formula.functions.dates.serials import (
    MAX_SERIAL,
    date_from_serial,
    parse_date_text,
    serial_from_date,
    serial_from_ymd,
    ymd_from_serial,
)
from xl_lesson3.formula.functions.math.rounding import numbers
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError

CATEGORY = "Date & Time"
_UNIX = 25569.0  # serial of 1970-01-01


def _floor_div(a: torch.Tensor, b: float) -> torch.Tensor:
    return torch.floor(a / b)


def civil(serial: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(year, month, day) of whole serials as Excel shows them, elementwise (float tensors)."""
    s = torch.floor(serial)
    raw = torch.where(s < 61, s + 1, s)  # undo the fake 1900-02-29
    z = raw - _UNIX + 719468
    era = _floor_div(z, 146097)
    doe = z - era * 146097
    yoe = _floor_div(
        doe - _floor_div(doe, 1460) + _floor_div(doe, 36524) - _floor_div(doe, 146096), 365
    )
    doy = doe - (365 * yoe + _floor_div(yoe, 4) - _floor_div(yoe, 100))
    mp = _floor_div(5 * doy + 2, 153)
    day = doy - _floor_div(153 * mp + 2, 5) + 1
    month = torch.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2).to(s.dtype)
    fake = s == 60
    zero = s == 0
    year = torch.where(fake | zero, 1900.0, year)
    month = torch.where(fake, 2.0, torch.where(zero, 1.0, month))
    day = torch.where(fake, 29.0, torch.where(zero, 0.0, day))
    return year, month, day


def serial_of(year: torch.Tensor, month: torch.Tensor, day: torch.Tensor) -> torch.Tensor:
    """DATE's arithmetic on tensors: the serial of the first of (year, month), plus day - 1."""
    year = year + _floor_div(month - 1, 12)
    month = torch.remainder(month - 1, 12) + 1
    y = year - (month <= 2).to(year.dtype)
    era = _floor_div(y, 400)
    yoe = y - era * 400
    doy = _floor_div(153 * torch.where(month > 2, month - 3, month + 9) + 2, 5)
    doe = yoe * 365 + _floor_div(yoe, 4) - _floor_div(yoe, 100) + doy
    first = era * 146097 + doe - 719468 + _UNIX
    first = torch.where(first < 61, first - 1, first)  # the fake leap day before March 1900
    return first + day - 1


def _bad_serial(serial: torch.Tensor) -> torch.Tensor:
    return (serial < 0) | (serial >= MAX_SERIAL + 1)  # 9999-12-31 23:59:59 is the last


def _result(values: torch.Tensor, err, bad: torch.Tensor) -> Block:
    from xl_lesson3.formula.functions.math.rounding import _with_errors

    return _with_errors(values, err, (bad, ErrorCode.NUM))


_reg = functools.partial(register_cellwise, category=CATEGORY)


@_reg("DATE", 3, 3)
def date(year: Block, month: Block, day: Block) -> Block:
    """DATE(year, month, day): the serial; months and days overflow into the next ones."""
    (y, m, d), err = numbers(year, month, day)
    y, m, d = torch.trunc(y.detach()), torch.trunc(m.detach()), torch.trunc(d.detach())
    y = torch.where((y >= 0) & (y < 1900), y + 1900, y)
    bad_year = (y < 1900) | (y > 9999)
    serial = serial_of(torch.where(bad_year, 1900.0, y), m, d)
    return _result(serial, err, bad_year | _bad_serial(serial))


@_reg("TIME", 3, 3)
def time(hour: Block, minute: Block, second: Block) -> Block:
    """TIME(hour, minute, second): the fraction of a day (wrapping past 24 hours)."""
    (h, m, s), err = numbers(hour, minute, second)
    total = torch.trunc(h.detach()) * 3600 + torch.trunc(m.detach()) * 60 + torch.trunc(s.detach())
    return _result(torch.remainder(total, 86400) / 86400, err, total < 0)


def _part(serial: Block, index: int) -> Block:
    (s,), err = numbers(serial)
    s = s.detach()
    return _result(civil(s)[index], err, _bad_serial(s))


@_reg("YEAR", 1, 1)
def year(serial_number: Block) -> Block:
    """YEAR(serial_number)."""
    return _part(serial_number, 0)


@_reg("MONTH", 1, 1)
def month(serial_number: Block) -> Block:
    """MONTH(serial_number)."""
    return _part(serial_number, 1)


@_reg("DAY", 1, 1)
def day(serial_number: Block) -> Block:
    """DAY(serial_number)."""
    return _part(serial_number, 2)


def _clock(serial: Block, unit: int) -> Block:
    """HOUR/MINUTE/SECOND: the time of day rounded to the nearest second, as Excel reads it."""
    (s,), err = numbers(serial)
    s = s.detach()
    seconds = torch.round((s - torch.floor(s)) * 86400)
    seconds = torch.remainder(seconds, 86400)
    values = {
        0: torch.floor(seconds / 3600),
        1: torch.floor(torch.remainder(seconds, 3600) / 60),
        2: torch.remainder(seconds, 60),
    }[unit]
    return _result(values, err, _bad_serial(s))


@_reg("HOUR", 1, 1)
def hour(serial_number: Block) -> Block:
    """HOUR(serial_number): 0-23."""
    return _clock(serial_number, 0)


@_reg("MINUTE", 1, 1)
def minute(serial_number: Block) -> Block:
    """MINUTE(serial_number): 0-59."""
    return _clock(serial_number, 1)


@_reg("SECOND", 1, 1)
def second(serial_number: Block) -> Block:
    """SECOND(serial_number): 0-59."""
    return _clock(serial_number, 2)


# WEEKDAY's return types: the weekday (Sunday = 0) that counts as 1, and whether it counts from 0.
_WEEK_STARTS = {
    1: (0, 1),
    2: (1, 1),
    3: (1, 0),
    11: (1, 1),
    12: (2, 1),
    13: (3, 1),
    14: (4, 1),
    15: (5, 1),
    16: (6, 1),
    17: (0, 1),
}


@_reg("WEEKDAY", 1, 2)
def weekday(serial_number: Block, return_type: Block | None = None) -> Block:
    """WEEKDAY(serial_number, [return_type=1]): 1 = Sunday … 7 = Saturday by default.

    Excel's serial 1 (1900-01-01) is a Sunday in its calendar (the fake leap day shifts
    everything before March 1900), so the weekday is simply the serial modulo 7.
    """
    (s, t), err = numbers(serial_number, return_type, defaults=(1,))
    s, t = torch.floor(s.detach()), torch.trunc(t.detach())
    sunday_zero = torch.remainder(s + 6, 7)
    values = torch.zeros_like(s)
    known = torch.zeros_like(s, dtype=torch.bool)
    for code, (start, base) in _WEEK_STARTS.items():
        hit = t == code
        values = torch.where(hit, torch.remainder(sunday_zero - start, 7) + base, values)
        known = known | hit
    return _result(values, err, ~known | _bad_serial(s))


@_reg("EDATE", 2, 2)
def edate(start_date: Block, months: Block) -> Block:
    """EDATE(start_date, months): the same day `months` later, clipped to the month's end."""
    return _shift_months(start_date, months, end_of_month=False)


@_reg("EOMONTH", 2, 2)
def eomonth(start_date: Block, months: Block) -> Block:
    """EOMONTH(start_date, months): the last day of the month `months` later."""
    return _shift_months(start_date, months, end_of_month=True)


def _shift_months(start: Block, months: Block, end_of_month: bool) -> Block:
    (s, m), err = numbers(start, months, reject_bools=True)
    s, m = torch.floor(s.detach()), torch.trunc(m.detach())
    y, mo, d = civil(s)
    target = mo + m
    last = serial_of(y, target + 1, torch.ones_like(d)) - 1
    if end_of_month:
        values = last
    else:
        first = serial_of(y, target, torch.ones_like(d))
        values = torch.minimum(first + d - 1, last)
    return _result(values, err, _bad_serial(s) | _bad_serial(values))


@_reg("DAYS", 2, 2)
def days(end_date: Block, start_date: Block) -> Block:
    """DAYS(end_date, start_date): whole days between them."""
    (e, s), err = numbers(end_date, start_date)
    e, s = torch.floor(e.detach()), torch.floor(s.detach())
    return _result(e - s, err, _bad_serial(e) | _bad_serial(s))


@_reg("DATEVALUE", 1, 1)
def datevalue(date_text: Block) -> Block:
    """DATEVALUE(date_text): the serial of a date written as text (the time part dropped)."""

    def one(text):
        serial = parse_date_text(text) if isinstance(text, str) else None
        return value_error() if serial is None else float(int(serial // 1))

    return map_cells(one, date_text)


@_reg("TIMEVALUE", 1, 1)
def timevalue(time_text: Block) -> Block:
    """TIMEVALUE(time_text): the fraction of a day a time written as text stands for."""

    def one(text):
        serial = parse_date_text(text) if isinstance(text, str) else None
        return value_error() if serial is None else serial - int(serial // 1)

    return map_cells(one, time_text)


def _dates(*values, booleans: bool = False) -> list | ExcelError:
    """Cell values as whole serials (text dates read), or the first error; booleans are
    #VALUE! here, as in Excel's former Analysis ToolPak date functions, unless `booleans`
    (DATEDIF and ISOWEEKNUM read TRUE as 1: Excel's saved values in formulas' test.xlsx).
    """
    out = []
    for value in values:
        refused = isinstance(value, bool) and not booleans
        number = value_error() if refused else as_number(value)
        if isinstance(number, ExcelError):
            return number
        if number < 0 or number > MAX_SERIAL:
            return num_error()
        out.append(int(number // 1))
    return out


def _datedif(start, end, unit) -> object:
    serials = _dates(start, end, booleans=True)
    if isinstance(serials, ExcelError):
        return serials
    s, e = serials
    if not isinstance(unit, str) or s > e:
        return num_error() if s > e else value_error()
    (y1, m1, d1), (y2, m2, d2) = ymd_from_serial(s), ymd_from_serial(e)
    months = (y2 - y1) * 12 + (m2 - m1) - (1 if d2 < d1 else 0)
    unit = unit.upper()
    if unit == "D":
        return float(e - s)
    if unit == "M":
        return float(months)
    if unit == "Y":
        return float(months // 12)
    if unit == "YM":
        return float(months % 12)
    if unit == "MD":
        prev = date_from_serial(e)
        if prev is None:
            return num_error()
        anchor_month = prev.replace(day=1) - dt.timedelta(days=1) if d2 < d1 else prev
        anchor = anchor_month.replace(day=min(d1, _month_length(anchor_month)))
        return float((prev - anchor).days) if d2 < d1 else float(d2 - d1)
    if unit == "YD":
        # Excel moves the end into the start's year (the next one if it falls before the
        # start) and subtracts serials, fake 1900-02-29 included.
        moved = serial_from_ymd(y1, m2, d2)
        if moved is None or moved < s:
            moved = serial_from_ymd(y1 + 1, m2, d2)
        return num_error() if moved is None else float(moved - s)
    return num_error()


def _month_length(day: dt.date) -> int:
    nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return (nxt - dt.timedelta(days=1)).day


@_reg("DATEDIF", 3, 3)
def datedif(start_date: Block, end_date: Block, unit: Block) -> Block:
    """DATEDIF(start_date, end_date, unit): complete "Y", "M", "D", or "MD", "YM", "YD"."""
    return map_cells(_datedif, start_date, end_date, unit)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _yearfrac(start, end, basis) -> object:
    # Excel checks the basis before the dates (YEARFRAC(1/0, 2, 5) is #NUM!), and refuses
    # booleans anywhere (#VALUE!).
    basis = value_error() if isinstance(basis, bool) else as_number(basis)
    if isinstance(basis, ExcelError):
        return basis
    basis = int(basis)
    if basis not in (0, 1, 2, 3, 4):
        return num_error()
    if isinstance(start, bool) or isinstance(end, bool):
        return value_error()
    serials = _dates(start, end)
    if isinstance(serials, ExcelError):
        return serials
    s, e = sorted(serials)
    if s == e:
        return 0.0
    (y1, m1, d1), (y2, m2, d2) = ymd_from_serial(s), ymd_from_serial(e)
    if basis == 0:
        start_eom = m1 == 2 and d1 == _feb_length(y1)
        if start_eom and m2 == 2 and d2 == _feb_length(y2):
            d2 = 30
        if start_eom:
            d1 = 30
        if d2 == 31 and d1 >= 30:
            d2 = 30
        d1 = 30 if d1 == 31 else d1
        return ((y2 - y1) * 360 + (m2 - m1) * 30 + (d2 - d1)) / 360
    if basis == 4:
        d1, d2 = min(d1, 30), min(d2, 30)
        return ((y2 - y1) * 360 + (m2 - m1) * 30 + (d2 - d1)) / 360
    if basis == 2:
        return (e - s) / 360
    if basis == 3:
        return (e - s) / 365
    return (e - s) / _actual_year_length(y1, m1, d1, y2, m2, d2)


def _feb_length(year: int) -> int:
    return 29 if _is_leap(year) else 28


def _actual_year_length(y1, m1, d1, y2, m2, d2) -> float:
    """The denominator of YEARFRAC's actual/actual basis, as Excel computes it."""
    within_a_year = y1 == y2 or (y2 == y1 + 1 and (m1 > m2 or (m1 == m2 and d1 >= d2)))
    if within_a_year:
        if y1 == y2:
            return 366.0 if _is_leap(y1) else 365.0
        spans_leap_day = (_is_leap(y1) and (m1, d1) <= (2, 29)) or (
            _is_leap(y2) and (m2, d2) >= (2, 29)
        )
        return 366.0 if spans_leap_day else 365.0
    total = sum(366 if _is_leap(y) else 365 for y in range(y1, y2 + 1))
    return total / (y2 - y1 + 1)


@_reg("YEARFRAC", 2, 3)
def yearfrac(start_date: Block, end_date: Block, basis: Block | None = None) -> Block:
    """YEARFRAC(start_date, end_date, [basis=0]): the fraction of a year between two dates.

    Bases: 0 US 30/360, 1 actual/actual, 2 actual/360, 3 actual/365, 4 European 30/360.
    """
    basis = basis if basis is not None else Block.scalar(0)
    return map_cells(_yearfrac, start_date, end_date, basis, errors_in=True)


def _holidays(block: Block | None) -> list[np.datetime64]:
    if block is None:
        return []
    out = []
    for value in cell_values(block, "a holiday list")[0].flat:
        serials = _dates(value)
        if isinstance(serials, list) and value is not None:
            day = date_from_serial(serials[0])
            if day is not None:
                out.append(np.datetime64(day))
    return out


def _as_day(serial: int) -> np.datetime64:
    """A serial as a numpy day (serials 0 and 60, which have none, read as 1900-02-28)."""
    return np.datetime64(date_from_serial(serial) or dt.date(1900, 2, 28))


@register("NETWORKDAYS", min_args=2, max_args=3, category=CATEGORY, differentiable=False)
def networkdays(start_date: Block, end_date: Block, holidays: Block | None = None) -> Block:
    """NETWORKDAYS(start_date, end_date, [holidays]): Monday-Friday days in between, inclusive,
    less the holidays; negative when the end comes first. Holidays are taken from the first
    cell of a run (they are usually one fixed range).
    """
    off = _holidays(holidays)

    def one(start, end):
        serials = _dates(start, end)
        if isinstance(serials, ExcelError):
            return serials
        s, e = (_as_day(v) for v in serials)
        if s <= e:
            return float(np.busday_count(s, e + 1, holidays=off))
        return -float(np.busday_count(e, s + 1, holidays=off))

    return map_cells(one, start_date, end_date)


@register("WORKDAY", min_args=2, max_args=3, category=CATEGORY, differentiable=False)
def workday(start_date: Block, days_: Block, holidays: Block | None = None) -> Block:
    """WORKDAY(start_date, days, [holidays]): the working day `days` working days away."""
    off = _holidays(holidays)

    def one(start, count):
        serials = _dates(start)
        count = as_number(count)
        if isinstance(serials, ExcelError) or isinstance(count, ExcelError):
            return serials if isinstance(serials, ExcelError) else count
        if int(count) == 0:
            return float(serials[0])
        # A start on a weekend counts from the working day before it (after it, going back).
        roll = "backward" if count > 0 else "forward"
        day = np.busday_offset(_as_day(serials[0]), int(count), roll=roll, holidays=off)
        return float(serial_from_date(day.astype(dt.date)))

    return map_cells(one, start_date, days_)


@_reg("ISOWEEKNUM", 1, 1)
def isoweeknum(date_: Block) -> Block:
    """ISOWEEKNUM(date): the ISO 8601 week number."""

    def one(value):
        serials = _dates(value, booleans=True)
        if isinstance(serials, ExcelError):
            return serials
        return float(_excel_day(serials[0]).isocalendar()[1])

    return map_cells(one, date_)


def _excel_day(serial: int) -> dt.date:
    """A real date with the weekday Excel gives `serial`: before March 1900 Excel's calendar
    runs a day ahead (it believes 1900-01-01 was a Sunday), so take the day before.
    """
    if serial < 61:
        return dt.date(1899, 12, 31) + dt.timedelta(days=serial - 1)
    return date_from_serial(serial)


@_reg("WEEKNUM", 1, 2)
def weeknum(serial_number: Block, return_type: Block | None = None) -> Block:
    """WEEKNUM(serial_number, [return_type=1]): week of the year, weeks starting Sunday (1)
    or Monday (2, 11); type 21 is the ISO week.
    """

    def one(value, kind):
        serials = _dates(value)
        kind = as_number(kind)
        if isinstance(serials, ExcelError) or isinstance(kind, ExcelError):
            return serials if isinstance(serials, ExcelError) else kind
        if serials[0] == 0:
            return 0.0  # 1900-01-00
        day = _excel_day(serials[0])
        kind = int(kind)
        if kind == 21:
            return float(day.isocalendar()[1])
        starts = {1: 6, 17: 6, 2: 0, 11: 0, 12: 1, 13: 2, 14: 3, 15: 4, 16: 5}
        if kind not in starts:
            return num_error()
        # January 1st of Excel's year (serial 1 is 1900-01-01, which Excel takes for a Sunday)
        jan1 = serial_from_ymd(ymd_from_serial(serials[0])[0], 1, 1)
        offset = (_excel_day(jan1).weekday() - starts[kind]) % 7
        return float(serials[0] - jan1 + offset) // 7 + 1

    return map_cells(one, serial_number, return_type or Block.scalar(1))


@register("TODAY", min_args=0, max_args=0, category=CATEGORY, differentiable=False)
def today() -> Block:
    """TODAY(): today's serial (volatile: read once per evaluation)."""
    return Block.scalar(float(serial_from_date(dt.date.today())))


@register("NOW", min_args=0, max_args=0, category=CATEGORY, differentiable=False)
def now() -> Block:
    """NOW(): the serial of this moment, local time (volatile: read once per evaluation)."""
    moment = dt.datetime.now()
    fraction = moment - moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return Block.scalar(serial_from_date(moment.date()) + fraction.total_seconds() / 86400)
