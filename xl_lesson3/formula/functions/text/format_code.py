"""Reading an Excel format code (TEXT's, a cell's number format): its sections, whether it
shows a date, and the quoted text and ``\\x`` escapes that stand for themselves.

Shared by `number_format` and `date_format`, which apply a section to a value.
"""

from __future__ import annotations

import re


def literal_at(code: str, i: int) -> tuple[str, int] | None:
    """The literal text that starts at ``code[i]`` and the index after it: a quoted string (to
    the closing quote, or the end of the code) or a ``\\x`` escape; None for anything else."""
    if code[i] == '"':
        end = code.find('"', i + 1)
        end = len(code) if end < 0 else end
        return code[i + 1 : end], end + 1
    if code[i] == "\\" and i + 1 < len(code):
        return code[i + 1], i + 2
    return None


def split_sections(fmt: str) -> list[str]:
    """The format's ``;``-separated sections (a quoted or escaped ``;`` is text)."""
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


def unquoted(fmt: str) -> str:
    """The format with quoted text, escapes and brackets removed (for detecting its type)."""
    return re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", fmt)


def is_date_format(fmt: str) -> bool:
    """True for a date/time code: date letters outside quotes and no digit placeholders."""
    if re.search(r"\[[hms]+\]", fmt, re.IGNORECASE):
        return True
    bare = unquoted(fmt).lower()
    return bool(re.search(r"[ymdhs]", bare)) and not re.search(r"[0#?]", re.sub(r"\.0+", "", bare))


def balanced(fmt: str) -> bool:
    """False when a quoted literal is never closed (Excel: #VALUE!)."""
    quoted, i = False, 0
    while i < len(fmt):
        if fmt[i] == "\\" and not quoted:
            i += 2
            continue
        quoted ^= fmt[i] == '"'
        i += 1
    return not quoted


def bare_codes(section: str) -> str:
    """The section's codes alone: no quoted text, escapes, fills (``*x``), spaces (``_x``) or
    brackets."""
    return re.sub(r'"[^"]*"|\\.|[*_].|\[[^\]]*\]', "", section)
