"""The Excel add-in: TORCH_SOLVE's numeric core, the xlwings Server app and its packaging.

Only `xl_lesson3.addin.server` and the files under `xl_lesson3/addin/project/` (the xlwings Server
project: custom functions, custom scripts, manifest, ribbon script) import xlwings; `fit` is plain
torch, so the formula engine can use it for workbooks that call TORCH_SOLVE.
"""
