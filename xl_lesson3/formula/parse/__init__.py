"""Stage 1, parse: formula text → AST and reference syntax. Pure Python: no workbook, no torch."""
