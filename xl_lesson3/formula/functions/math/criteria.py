"""Excel's criteria (COUNTIF, SUMIFS, …): parsing ``">=5"``, ``"a*"``, ``"<>"`` and matching.

A criterion is an operator (``=``, ``<>``, ``<``, ``>``, ``<=``, ``>=``; ``=`` when absent)
and an operand. The operand is a number when the rest of the text spells one (``">5"``,
``"5"``; dates as DATEVALUE reads them), a boolean for TRUE/FALSE, an error for ``#N/A``…,
else text. How Excel matches a cell:

- a number operand matches number cells only (``"=5"`` does not match the text "5"); with
  ``<>`` every other cell matches, blanks and text included;
- a text operand matches text cells case-insensitively, with ``*`` (any run), ``?`` (one
  character) and ``~`` escaping them in ``=``/``<>``; ``<``/``>`` compare text in order;
- ``""`` (and ``"="``) match blank cells and empty text; ``"<>"`` matches every non-blank cell;
- an error cell matches only an error operand, or ``<>`` with any operand.

Matching is vectorised over a run: criteria that are numbers are compared in one set of
tensor ops for all cells of the run, text without wildcards through integer ids of the
distinct texts; only wildcards, booleans, errors and text order loop, over distinct criteria.
The result is a mask; it carries no gradient (a condition is piecewise constant), but the
values it selects in SUMIF etc. keep theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from xl_lesson3.formula.functions.core.cellwise import cell_values
from xl_lesson3.formula.functions.core.coercion import parse_number
from xl_lesson3.formula.functions.core.shapes import numpy_to_tensor, text_array
from xl_lesson3.formula.values import Block, ErrorCode, ExcelError, Kind

_OPERATORS = ("<=", ">=", "<>", "=", "<", ">")
_OP_CODE = {"=": 0, "<>": 1, "<": 2, ">": 3, "<=": 4, ">=": 5}


@dataclass(frozen=True)
class Criterion:
    """One parsed criterion: `op` and exactly one kind of operand (None for an empty one)."""

    op: str
    number: float | None = None
    boolean: bool | None = None
    error: int | None = None
    text: str | None = None  # casefolded

    @property
    def is_empty(self) -> bool:
        return (
            self.number is None
            and self.boolean is None
            and self.error is None
            and (self.text is None)
        )

    @property
    def has_wildcards(self) -> bool:
        return self.text is not None and any(ch in self.text for ch in "*?~")


def parse_criterion(value: object) -> Criterion:
    """The criterion a cell value spells (a number cell is ``=number``, blank is ``=0``)."""
    if isinstance(value, ExcelError):
        return Criterion("=", error=int(value.code))
    if value is None:
        return Criterion("=", number=0.0)
    if isinstance(value, bool):
        return Criterion("=", boolean=value)
    if not isinstance(value, str):
        return Criterion("=", number=float(value))
    op = next((o for o in _OPERATORS if value.startswith(o)), "")
    operand = value[len(op) :]
    op = op or "="
    if operand == "":
        return Criterion(op)
    number = operand_number(operand)
    if number is not None:
        return Criterion(op, number=number)
    if operand.upper() in ("TRUE", "FALSE"):
        return Criterion(op, boolean=operand.upper() == "TRUE")
    try:
        return Criterion(op, error=int(ErrorCode.from_text(operand)))
    except KeyError:
        return Criterion(op, text=operand.casefold())


def operand_number(text: str) -> float | None:
    """The number a criterion's operand spells: a number, a percentage, a date or a time."""
    return parse_number(text)


def wildcard_regex(pattern: str) -> re.Pattern:
    """Excel's ``*``/``?`` pattern (``~`` escapes) as a full-match regex, case-folded input."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "~" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


@dataclass
class _RangeCells:
    """What matching needs of a range block: per-cell kind, error, detached numbers, texts."""

    num: torch.Tensor  # (b, r, R, C)
    kind: torch.Tensor  # (1, r, R, C) int8, broadcast
    err: torch.Tensor  # (1 or b, r, R, C) int8
    texts: np.ndarray  # (r, R, C) casefolded str, "" where not text

    @classmethod
    def of(cls, block: Block) -> _RangeCells:
        num = block.num.detach()
        kind = torch.zeros_like(num, dtype=torch.int8) if block.kind is None else block.kind
        err = torch.zeros_like(num, dtype=torch.int8) if block.err is None else block.err
        kind, err = kind.expand_as(num), err.expand_as(num)
        raw = text_array(block)
        texts = np.array([t.casefold() if isinstance(t, str) else "" for t in raw.flat], object)
        return cls(num, kind, err, texts.reshape(raw.shape))

    def is_kind(self, kind: Kind) -> torch.Tensor:
        return (self.kind == int(kind)) & (self.err == 0)


def _mask_one(cells: _RangeCells, crit: Criterion) -> torch.Tensor:
    """The (b, r, R, C) mask of cells that `crit` matches (the general, looping path)."""
    like = cells.num
    if crit.is_empty:
        empty_text = numpy_to_tensor(cells.texts == "", like, torch.bool)
        blank = cells.is_kind(Kind.BLANK) | (cells.is_kind(Kind.TEXT) & empty_text)
        return ~cells.is_kind(Kind.BLANK) if crit.op == "<>" else blank
    if crit.error is not None:
        equal = cells.err == crit.error
    elif crit.number is not None:
        number = torch.tensor(crit.number, dtype=torch.float64)
        return _numeric(cells, number, torch.tensor(_OP_CODE[crit.op]))
    elif crit.boolean is not None:
        return _ordered(cells, Kind.BOOL, cells.num - float(crit.boolean), crit.op)
    elif crit.op in ("=", "<>"):
        regex = wildcard_regex(crit.text)
        hits = np.array([bool(regex.fullmatch(t)) for t in cells.texts.flat], dtype=bool)
        equal = cells.is_kind(Kind.TEXT) & numpy_to_tensor(
            hits.reshape(cells.texts.shape), like, torch.bool
        )
    else:
        order = (cells.texts > crit.text).astype(np.int8) - (cells.texts < crit.text)
        diff = numpy_to_tensor(order.astype(np.float64), like)
        return _ordered(cells, Kind.TEXT, diff, crit.op)
    return ~equal if crit.op == "<>" else equal


def _ordered(cells: _RangeCells, kind: Kind, diff: torch.Tensor, op: str) -> torch.Tensor:
    """Cells of `kind` whose difference to the operand satisfies `op` (others: only ``<>``)."""
    same_kind = cells.is_kind(kind)
    tests = {"=": diff == 0, "<>": diff != 0, "<": diff < 0, ">": diff > 0}
    tests.update({"<=": diff <= 0, ">=": diff >= 0})
    test = same_kind & tests[op]
    return (test | ~same_kind) if op == "<>" else test


def _numeric(cells: _RangeCells, numbers: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Numbers against numeric criteria, one per run cell: numbers/codes broadcast ``(n,1,1)``."""
    numbers = numbers.to(cells.num)
    codes = codes.to(cells.num.device)
    is_number = cells.is_kind(Kind.NUMBER)
    x = cells.num
    equal = is_number & (x == numbers)
    masks = (equal, ~equal, is_number & (x < numbers), is_number & (x > numbers))
    masks += (is_number & (x <= numbers), is_number & (x >= numbers))
    out = masks[0] & (codes == 0)
    for code, mask in enumerate(masks[1:], start=1):
        out = out | (mask & (codes == code))
    return out


def criteria_mask(range_block: Block, criteria_block: Block) -> torch.Tensor:
    """Which cells of `range_block` each run cell's criterion matches: ``(b, n, R, C)`` bool.

    `criteria_block` is ``(·, n, 1, 1)``: one criterion per cell of the run (or one for all).
    """
    cells = _RangeCells.of(range_block)
    values = cell_values(criteria_block, "a criterion")[:, 0, 0]  # (n,)
    parsed = [parse_criterion(v) for v in values]
    n = len(parsed)
    like = cells.num
    numeric = [c.number is not None and c.error is None for c in parsed]
    plain_text = [
        c.text is not None and not c.has_wildcards and c.op in ("=", "<>") for c in parsed
    ]
    mask = None
    if any(numeric):
        numbers = torch.tensor(  # float64: a float32 2.3 would not equal the cell's 2.3
            [c.number if f else 0.0 for c, f in zip(parsed, numeric)], dtype=torch.float64
        )
        codes = torch.tensor([_OP_CODE[c.op] if f else -1 for c, f in zip(parsed, numeric)])
        mask = _numeric(cells, numbers.view(1, n, 1, 1), codes.view(1, n, 1, 1))
    if any(plain_text):
        mask = _merge(mask, _text_ids(cells, parsed, plain_text), plain_text, like)
    for crit in dict.fromkeys(c for c, f, t in zip(parsed, numeric, plain_text) if not (f or t)):
        rows = [c == crit for c in parsed]
        mask = _merge(mask, _mask_one(cells, crit), rows, like)
    return mask


def _merge(mask, new: torch.Tensor, rows: list[bool], like: torch.Tensor) -> torch.Tensor:
    """`new` in the run cells `rows` marks, `mask` elsewhere (the criteria's own rows)."""
    if all(rows) or mask is None:
        if all(rows):
            return new
        mask = torch.zeros_like(new)
    chosen = torch.tensor(rows, device=like.device).view(1, len(rows), 1, 1)
    return torch.where(chosen, new, mask)


def _text_ids(cells: _RangeCells, parsed: list[Criterion], rows: list[bool]) -> torch.Tensor:
    """Text equality for many criteria at once, through integer ids of the distinct texts."""
    ids: dict[str, int] = {}
    range_ids = np.array([ids.setdefault(t, len(ids)) for t in cells.texts.flat], np.int64)
    range_ids = numpy_to_tensor(range_ids.reshape(cells.texts.shape), cells.num, torch.int64)
    wanted = [ids.get(c.text, -1) if r else -1 for c, r in zip(parsed, rows)]
    wanted_ids = torch.tensor(wanted, device=cells.num.device).view(1, len(rows), 1, 1)
    equal = cells.is_kind(Kind.TEXT) & (range_ids == wanted_ids)
    negate = torch.tensor([c.op == "<>" for c in parsed], device=cells.num.device)
    return torch.where(negate.view(1, len(rows), 1, 1), ~equal, equal)
