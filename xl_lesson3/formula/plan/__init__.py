"""Stage 2, plan: bind references to the workbook, find the cells a target needs, group them into units."""
