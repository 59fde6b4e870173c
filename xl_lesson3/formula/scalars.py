"""Excel's error values and value kinds as plain Python, importable without torch.

`xl_lesson3.formula.values` re-exports everything here; the workbook model and the parse/plan
stages import from this module so that they never pull in torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ErrorCode(IntEnum):
    """Excel's error values; the int is what ``Block.err`` stores."""

    NONE = 0
    NULL = 1
    DIV0 = 2
    VALUE = 3
    REF = 4
    NAME = 5
    NUM = 6
    NA = 7
    GETTING_DATA = 8  # Excel's "still computing" (also marks a circular reference's cells)

    @property
    def text(self) -> str:
        return ERROR_TEXT[self]

    @classmethod
    def from_text(cls, text: str) -> ErrorCode:
        return _TEXT_TO_ERROR[text.upper()]


ERROR_TEXT = {
    ErrorCode.NONE: "",
    ErrorCode.NULL: "#NULL!",
    ErrorCode.DIV0: "#DIV/0!",
    ErrorCode.VALUE: "#VALUE!",
    ErrorCode.REF: "#REF!",
    ErrorCode.NAME: "#NAME?",
    ErrorCode.NUM: "#NUM!",
    ErrorCode.NA: "#N/A",
    ErrorCode.GETTING_DATA: "#GETTING_DATA",
}
_TEXT_TO_ERROR = {text: code for code, text in ERROR_TEXT.items() if text}


def is_error_text(text: str) -> bool:
    """True for ``#DIV/0!``, ``#N/A`` ... (any case), the texts of Excel's error values."""
    return text.upper() in _TEXT_TO_ERROR


class Kind(IntEnum):
    """What a cell holds, for Excel's coercion rules; the int is what ``Block.kind`` stores."""

    NUMBER = 0
    BOOL = 1
    TEXT = 2
    BLANK = 3


@dataclass(frozen=True)
class ExcelError:
    """An error value as a Python scalar (what `evaluate` returns for a cell holding one)."""

    code: ErrorCode

    def __str__(self) -> str:
        return self.code.text

    @classmethod
    def from_text(cls, text: str) -> ExcelError:
        return cls(ErrorCode.from_text(text))
