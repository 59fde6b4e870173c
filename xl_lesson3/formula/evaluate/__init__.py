"""Stage 4, evaluate: recalculate a workbook, tolerate what cannot be computed, compare with Excel."""
