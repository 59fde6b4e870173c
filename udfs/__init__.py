"""The Excel-facing layer: xlwings UDFs (`udfs.functions`) and ribbon macros (`udfs.macros`).

Thin on purpose: convert arguments, call the core (`xl_lesson3`), turn results and exceptions
into cell values or messages. Importing it needs no Excel; nothing here touches an xlwings
interactive object (App, Book.caller) at import time.
"""

__all__ = ["functions", "macros"]
