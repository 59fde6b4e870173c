"""The formula engine, one folder per stage: parse → plan → compile → evaluate.

`parse` and `plan` never import torch; `compile` turns a plan into torch calls; `evaluate` and the
solver run the compiled program. `functions/` holds the spreadsheet functions by Excel category;
`values` and `scalars` are the data types every stage shares. Reading workbooks lives in
`xl_lesson3.workbook`.
"""
