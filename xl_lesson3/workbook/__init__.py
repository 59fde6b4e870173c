"""The workbook model: addresses, a read-only snapshot of cells, tables and names, and file I/O."""

from xl_lesson3.workbook.address import CellAddress, RangeAddress

__all__ = ["CellAddress", "RangeAddress"]
