"""Excel's coercion rules, declared once as data and applied by one function.

Excel treats the same cell differently depending on where it is read. A boolean is 1 in
``TRUE+1`` and in ``SUM(TRUE,2)`` but skipped in ``SUM(A1:A3)``; text ``"3"`` is 3 in ``"3"+1``
but skipped in a range; SUMPRODUCT counts every non-number as 0; MMULT refuses them with
``#VALUE!``. Rather than scatter these cases through the functions, each context is a `Rule`
below (what happens to booleans, text, blanks and error cells), and `coerce` applies a rule to a
`Block`. Numbers are always used as they are.

Where LibreOffice (our test reference) differs, it is because it stores booleans as plain
numbers and refuses text typed directly into SUM/AVERAGE/MIN/MAX/SUMSQ; we follow Excel, whose
rules these are, and the LibreOffice agreement test lists those cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

import numpy as np
import torch

from xl_lesson3.formula.functions.core.shapes import (
    error_where,
    merge_errors,
    numpy_to_tensor,
    text_array,
)
from xl_lesson3.formula.functions.dates.serials import parse_date_text
from xl_lesson3.formula.values import Block, ErrorCode, Kind


class Action(Enum):
    """What a rule does with one kind of cell."""

    KEEP = "use its number (booleans are 1/0); for error cells: propagate the error"
    ZERO = "use 0 and count the cell"
    SKIP = "leave the cell out: not summed, not counted, errors not propagated"
    VALUE_ERROR = "the cell becomes #VALUE!"
    PARSE = "text: the number it spells, else #VALUE!"
    PARSE_OR_SKIP = "text: the number it spells, else leave the cell out"
    PARSE_BOOL = "text: TRUE/FALSE (any case) as 1/0, else #VALUE!"
    PARSE_BOOL_OR_SKIP = "text: TRUE/FALSE (any case) as 1/0, else leave the cell out"


@dataclass(frozen=True)
class Rule:
    """How one context reads booleans, text, blanks and error cells (numbers are always kept)."""

    name: str
    boolean: Action
    text: Action
    blank: Action
    errors: Action = Action.KEEP


K, Z, S, V = Action.KEEP, Action.ZERO, Action.SKIP, Action.VALUE_ERROR

# Operators and elementwise functions: "3"+1 = 4, TRUE+1 = 2, blank+1 = 1, "a"+1 = #VALUE!.
ARITHMETIC = Rule("arithmetic", boolean=K, text=Action.PARSE, blank=Z)
# SUM/AVERAGE/MAX/MIN/SUMSQ over a reference or array: only numbers count.
RANGE_NUMBERS = Rule("numbers in a range", boolean=S, text=S, blank=S)
# The same functions' direct arguments: SUM(TRUE,2) = 3, SUM("3",2) = 5, SUM("a",2) = #VALUE!.
DIRECT_NUMBERS = Rule("direct argument", boolean=K, text=Action.PARSE, blank=Z)
# COUNT never fails: error cells and non-numeric text are simply not counted.
COUNT_RANGE = Rule("COUNT over a range", boolean=S, text=S, blank=S, errors=S)
COUNT_DIRECT = Rule("COUNT argument", boolean=K, text=Action.PARSE_OR_SKIP, blank=Z, errors=S)
# SUMPRODUCT: "non-numeric array entries are treated as zeros" (booleans included).
SUMPRODUCT_ENTRIES = Rule("SUMPRODUCT entry", boolean=Z, text=Z, blank=Z)
# MMULT: any non-number makes #VALUE!.
MATRIX_ENTRIES = Rule("MMULT entry", boolean=V, text=V, blank=V)
# AND/OR over a range: numbers and booleans count, text and blanks are skipped.
LOGICAL_RANGE = Rule("logical range", boolean=K, text=S, blank=S)
# AND/OR/XOR direct arguments: "TRUE"/"FALSE" count, other text is left out; Excel's saved
# values say AND(TRUE,"0") is TRUE and AND(TRUE,"ciao",#REF!) is #REF! (LibreOffice: #VALUE!).
LOGICAL_DIRECT = Rule("logical argument", boolean=K, text=Action.PARSE_BOOL_OR_SKIP, blank=S)
# IF's and NOT's condition: IF("TRUE",1,2) = 1, IF(blank,1,2) = 2, IF("a",1,2) = #VALUE!.
CONDITION = Rule("condition", boolean=K, text=Action.PARSE_BOOL, blank=Z)


@dataclass(frozen=True)
class Coerced:
    """A block read through a rule.

    ``num``: ``(batch, run, rows, cols)`` numbers. ``err``: int8 codes or None. ``include``:
    bool tensor broadcastable to ``num`` saying which cells count, or None when all do.
    """

    num: torch.Tensor
    err: torch.Tensor | None
    include: torch.Tensor | None

    def filled(self, value: float) -> torch.Tensor:
        """``num`` with `value` in the cells that do not count (0 for sums, -inf for MAX)."""
        if self.include is None:
            return self.num
        return torch.where(self.include, self.num, value)

    def count(self) -> torch.Tensor:
        """How many cells count, per (batch, run): ``(b, r, 1, 1)`` in num's dtype."""
        if self.include is None:
            rows, cols = self.num.shape[-2:]
            return torch.full(
                (1, 1, 1, 1), rows * cols, dtype=self.num.dtype, device=self.num.device
            )
        return self.include.to(self.num.dtype).sum(dim=(-2, -1), keepdim=True)


def coerce(block: Block, rule: Rule) -> Coerced:
    """Read `block` through `rule` (see `Action`); cheap when the block is all numbers."""
    num, err, include = block.num, block.err, None
    if block.kind is not None:
        for kind, action in (
            (Kind.BOOL, rule.boolean),
            (Kind.TEXT, rule.text),
            (Kind.BLANK, rule.blank),
        ):
            if action is Action.KEEP or _absent_or_zero(block, kind, action):
                continue
            mask = block.kind == int(kind)
            if action is Action.ZERO:
                num = torch.where(mask, 0.0, num)
            elif action is Action.SKIP:
                include = _and(include, ~mask)
            elif action is Action.VALUE_ERROR:
                err = merge_errors(err, error_where(mask, ErrorCode.VALUE))
            else:
                values, ok = _parse_text(block, action)
                num = torch.where(mask, values, num)
                bad = mask & ~ok
                if action in (Action.PARSE_OR_SKIP, Action.PARSE_BOOL_OR_SKIP):
                    include = _and(include, ~bad)
                else:
                    err = merge_errors(err, error_where(bad, ErrorCode.VALUE))
    if rule.errors is Action.SKIP and err is not None:
        include = _and(include, err == 0)
        err = None
    return Coerced(num, err, include)


def to_number(block: Block) -> Block:
    """The block as plain numbers for arithmetic (ARITHMETIC rule); errors kept."""
    if block.kind is None:
        return Block(block.num, err=block.err)
    coerced = coerce(block, ARITHMETIC)
    return Block(coerced.num, err=coerced.err)


def as_result(block: Block) -> Block:
    """A block as a formula's result: a blank cell passed through (``=IF(1,A9)``) reads as 0."""
    if block.kind is None:
        return block.with_(from_reference=False) if block.from_reference else block
    kind = torch.where(block.kind == int(Kind.BLANK), int(Kind.NUMBER), block.kind)
    return block.with_(kind=kind.to(block.kind.dtype), from_reference=False)


def _absent_or_zero(block: Block, kind: Kind, action: Action) -> bool:
    """True when `action` cannot change anything, known without looking at the tensors.

    Blanks and text already hold 0 in ``num``, so ZERO leaves them as they are, and a block
    without ``text`` has no text cell at all. This keeps ``IF(Q6<0,0,Q6)`` mask-free: the
    comparison's result is all booleans, and the condition rule keeps booleans.
    """
    if kind is Kind.TEXT and block.text is None:
        return True
    return action is Action.ZERO and kind is not Kind.BOOL


def _and(a: torch.Tensor | None, b: torch.Tensor) -> torch.Tensor:
    return b if a is None else a & b


# Text that Excel reads as a number: optional sign, digits with an optional decimal point and
# exponent, an optional trailing percent; surrounding spaces allowed. Dates and times written
# as text read as their serials (`datetext`); currency and thousands separators are not
# recognised (they give #VALUE! here).
_NUMBER_TEXT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*(%?)\s*$")


def parse_number(text: object) -> float | None:
    """The number a text spells the way Excel's arithmetic reads it, or None."""
    if not isinstance(text, str):
        return None
    match = _NUMBER_TEXT.match(text)
    if match is None:
        return parse_date_text(text)
    value = float(text.strip().rstrip("%").strip())
    return value / 100 if match.group(3) else value


def parse_bool(text: object) -> float | None:
    """1.0 / 0.0 for the text TRUE / FALSE in any case, else None."""
    if isinstance(text, str) and text.strip().upper() in ("TRUE", "FALSE"):
        return 1.0 if text.strip().upper() == "TRUE" else 0.0
    return None


_PARSE_NUMBER = np.frompyfunc(parse_number, 1, 1)
_PARSE_BOOL = np.frompyfunc(parse_bool, 1, 1)


def _parse_text(block: Block, action: Action) -> tuple[torch.Tensor, torch.Tensor]:
    """Parsed values and a parsed-ok mask, both ``(1, run, rows, cols)``, from the block's text.

    Text never depends on the solver's variables, so this numpy work happens on constants.
    """
    parser = (
        _PARSE_BOOL if action in (Action.PARSE_BOOL, Action.PARSE_BOOL_OR_SKIP) else _PARSE_NUMBER
    )
    parsed = parser(text_array(block))
    ok = np.not_equal(parsed, None).astype(bool)
    values = np.where(ok, parsed, 0.0).astype(np.float64)
    num = block.num
    return numpy_to_tensor(values, num), numpy_to_tensor(ok, num, torch.bool)
