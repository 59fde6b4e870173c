"""Excel's complex numbers as text: reading ``"3+4i"`` and writing results the way Excel does.

Excel has no complex type: COMPLEX and the IM* functions take and return text such as
``"3+4i"``, ``"-2.5j"``, ``"i"`` or ``"7"``. The suffix is ``i`` or ``j`` (lower case only);
a result keeps the suffix of its inputs, and inputs written with different suffixes cannot be
combined. A number is a complex number with no imaginary part, a blank reads as 0, a boolean is
#VALUE! and text that is not a complex number is #NUM!. Results print each part with 15
significant digits as Excel's General format does (``"27142327967.109-23653126953.379j"``,
``"1.82483860060804E-11+2.1E-11j"``), dropping a zero part and writing a unit imaginary part
as the bare suffix (``"7-j"``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from xl_lesson3.formula.functions.core.cellwise import Cell, num_error, value_error
from xl_lesson3.formula.values import ExcelError

# one real number as Excel's complex parser reads it: no spaces, no thousands separators
_REAL = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_PLAIN = re.compile(rf"[+-]?{_REAL}")
# a real part and a signed imaginary part, or an imaginary part alone; the coefficient of the
# imaginary part may be left out ("3+i", "-j")
_BOTH_PARTS = re.compile(rf"(?P<real>[+-]?{_REAL})(?P<imag>[+-](?:{_REAL})?)(?P<suffix>[ij])")
_IMAGINARY = re.compile(rf"(?P<real>)(?P<imag>[+-]?(?:{_REAL})?)(?P<suffix>[ij])")
SUFFIXES = ("i", "j")


@dataclass(frozen=True)
class Parsed:
    """A complex value read from a cell, and the suffix it was written with (None for a number)."""

    value: complex
    suffix: str | None


def parse_complex(cell: Cell) -> Parsed | ExcelError:
    """A cell as a complex number: errors pass, a boolean is #VALUE!, bad text is #NUM!."""
    if isinstance(cell, ExcelError):
        return cell
    if isinstance(cell, bool):
        return value_error()
    if cell is None:
        return Parsed(0j, None)
    if isinstance(cell, float):
        return Parsed(complex(cell, 0.0), None)
    text = str(cell)
    if text == "":
        return Parsed(0j, None)
    if _PLAIN.fullmatch(text):
        return Parsed(complex(float(text), 0.0), None)
    match = _BOTH_PARTS.fullmatch(text) or _IMAGINARY.fullmatch(text)
    if match is None:
        return num_error()
    real_text, imag_text = match.group("real"), match.group("imag")
    if imag_text in ("", "+", "-"):
        imag = -1.0 if imag_text == "-" else 1.0
    else:
        imag = float(imag_text)
    real = float(real_text) if real_text else 0.0
    return Parsed(complex(real, imag), match.group("suffix"))


def common_suffix(parsed: list[Parsed]) -> str | None | ExcelError:
    """The suffix shared by the inputs written with one (None when none was); mixed is #VALUE!.

    Callers that Excel answers with #NUM! for mixed suffixes (IMDIV, IMSUB) convert the error.
    """
    suffixes = {p.suffix for p in parsed if p.suffix is not None}
    if len(suffixes) > 1:
        return value_error()
    return suffixes.pop() if suffixes else None


def format_part(value: float) -> str:
    """One part with 15 significant digits: plain between 1E-5 and 1E15, else scientific."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.14e}".split("e")
    power = int(exponent)
    if -5 <= power < 15:
        text = f"{value:.{max(0, 14 - power)}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E{'-' if power < 0 else '+'}{abs(power):02d}"


def format_complex(value: complex, suffix: str | None) -> str | ExcelError:
    """Excel's text for `value` with `suffix` (``i`` when None); #NUM! when not finite."""
    if not (math.isfinite(value.real) and math.isfinite(value.imag)):
        return num_error()
    suffix = suffix or "i"
    real, imag = format_part(value.real), format_part(value.imag)
    if imag == "0":
        return real
    if imag in ("1", "-1"):
        imag = imag[:-1]
    imag += suffix
    if real == "0":
        return imag
    return f"{real}{'' if imag.startswith('-') else '+'}{imag}"


def suffix_argument(cell: Cell) -> str | ExcelError:
    """COMPLEX's suffix: "i", "j" or empty (meaning "i"); anything else is #VALUE!."""
    if isinstance(cell, ExcelError):
        return cell
    if cell is None or cell == "":
        return "i"
    if isinstance(cell, str) and cell in SUFFIXES:
        return cell
    return value_error()
