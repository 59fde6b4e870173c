"""REGEXTEST, REGEXEXTRACT and REGEXREPLACE: Excel 365's regular expressions.

Excel matches with PCRE2. The `regex` package reads PCRE's syntax (named groups
``(?<name>...)``, possessive quantifiers, atomic groups, ``\\p{L}`` classes) where Python's
`re` does not, so patterns are compiled with it, unchanged. A pattern that does not compile is
#VALUE!, as in Excel. ``case_sensitivity`` is 0 (case-sensitive, the default) or 1; any other
value is #VALUE! (after truncation: Excel's saved ``REGEXTEST(10, "^\\d+$", 1.9)`` is TRUE).
Every argument is read one value at a time (a range gives an array of results), numbers as
``&`` shows them. REGEXEXTRACT's modes 1 (every match) and 2 (the first match's capture
groups) return a row, which spills.
"""

from __future__ import annotations

import functools

import regex

from xl_lesson3.formula.functions.core.cellwise import (
    Cell,
    as_text,
    first_error_of,
    na_error,
    value_error,
)
from xl_lesson3.formula.functions.core.registry import register_cellwise
from xl_lesson3.formula.functions.text.array_args import as_choice, map_mixed, or_default
from xl_lesson3.formula.values import Block, ExcelError

CATEGORY = "Text"


_reg = functools.partial(register_cellwise, category=CATEGORY)


@functools.lru_cache(maxsize=256)
def _compile(pattern: str, ignore_case: bool) -> regex.Pattern | None:
    try:
        return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except regex.error:
        return None


def _prepare(text: Cell, pattern: Cell, case: Cell) -> tuple[str, regex.Pattern] | ExcelError:
    """The subject text and compiled pattern, or the error Excel shows (leftmost first)."""
    error = first_error_of((text, pattern, case))
    if error is not None:
        return error
    ignore_case = as_choice(case, range(2))
    if isinstance(ignore_case, ExcelError):
        return ignore_case
    compiled = _compile(as_text(pattern), bool(ignore_case))
    return value_error() if compiled is None else (as_text(text), compiled)


def _test(text: Cell, pattern: Cell, case: Cell) -> Cell:
    prepared = _prepare(text, pattern, case)
    if isinstance(prepared, ExcelError):
        return prepared
    subject, compiled = prepared
    return compiled.search(subject) is not None


@_reg("REGEXTEST", 2, 3)
def regextest(text: Block, pattern: Block, case_sensitivity: Block | None = None) -> Block:
    """REGEXTEST(text, pattern, [case_sensitivity=0]): TRUE when `pattern` matches anywhere."""
    return map_mixed(_test, (text, pattern, or_default(case_sensitivity, 0)))


def _groups(match: regex.Match) -> list[Cell]:
    """A match's capture groups as PCRE2 reports them: groups after the last one that took
    part are left out (Excel shows #N/A there), earlier ones that did not are empty text."""
    groups = list(match.groups())
    while groups and groups[-1] is None:
        groups.pop()
    return ["" if group is None else group for group in groups]


def _extract(text: Cell, pattern: Cell, mode: Cell, case: Cell) -> object:
    prepared = _prepare(text, pattern, case)
    if isinstance(prepared, ExcelError):
        return prepared
    return_mode = as_choice(mode, range(3))
    if isinstance(return_mode, ExcelError):
        return return_mode
    subject, compiled = prepared
    if return_mode == 1:
        found = [match.group(0) for match in compiled.finditer(subject)]
        return [found] if found else na_error()
    match = compiled.search(subject)
    if match is None:
        return na_error()
    if return_mode == 0:
        return match.group(0)
    if compiled.groups == 0:  # mode 2 asks for groups the pattern does not have
        return value_error()
    groups = _groups(match)
    return [groups] if groups else na_error()


@_reg("REGEXEXTRACT", 2, 4)
def regexextract(
    text: Block,
    pattern: Block,
    return_mode: Block | None = None,
    case_sensitivity: Block | None = None,
) -> Block:
    """REGEXEXTRACT(text, pattern, [return_mode=0], [case_sensitivity=0]): the first match
    (mode 0), every match (1) or the first match's capture groups (2); #N/A when none."""
    args = (text, pattern, or_default(return_mode, 0), or_default(case_sensitivity, 0))
    return map_mixed(_extract, args)


def _expand(template: str, match: regex.Match) -> str:
    """PCRE2's replacement syntax: ``$n``, ``${n}``, ``${name}``, ``$$`` for a dollar; an
    unknown group or a lone ``$`` stays as written."""

    def group(token: regex.Match) -> str:
        if token.group(0) == "$$":
            return "$"
        key = token.group(1) or token.group(2)
        try:
            value = match.group(int(key) if key.isdigit() else key)
        except (IndexError, regex.error):
            return token.group(0)
        return value or ""

    return regex.sub(r"\$\$|\$(\d+)|\$\{(\w+)\}", group, template)


def _replace(text: Cell, pattern: Cell, replacement: Cell, occurrence: Cell, case: Cell) -> Cell:
    prepared = _prepare(text, pattern, case)
    error = first_error_of((prepared, replacement, occurrence))
    if error is not None:
        return error
    subject, compiled = prepared
    which = as_choice(occurrence, range(-(2**31), 2**31))
    if isinstance(which, ExcelError):
        return which
    template = as_text(replacement)
    matches = list(compiled.finditer(subject))
    if which:
        index = which - 1 if which > 0 else len(matches) + which
        matches = [matches[index]] if 0 <= index < len(matches) else []
    pieces, last = [], 0
    for match in matches:
        pieces += [subject[last : match.start()], _expand(template, match)]
        last = match.end()
    return "".join(pieces) + subject[last:]


@_reg("REGEXREPLACE", 3, 5)
def regexreplace(
    text: Block,
    pattern: Block,
    replacement: Block,
    occurrence: Block | None = None,
    case_sensitivity: Block | None = None,
) -> Block:
    """REGEXREPLACE(text, pattern, replacement, [occurrence=0], [case_sensitivity=0]): every
    match replaced (0), or only the n-th (counted from the end when negative)."""
    args = (text, pattern, replacement, or_default(occurrence, 0), or_default(case_sensitivity, 0))
    return map_mixed(_replace, args)
