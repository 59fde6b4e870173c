"""The Excel add-in: TORCH_SOLVE's numeric core, the xlwings Server app and its packaging.

Only `xl_lesson3.addin.server`, `xl_lesson3.addin.asgi` and the files under
`xl_lesson3/addin/project/` (the xlwings Server project: custom functions, custom scripts,
manifest, ribbon script) import xlwings; `fit` (plain torch), `jobs` (the worker pool and
cancellable jobs), `workflow` (what the buttons do) and `desktop` (the classic route's files)
do not, so the formula engine and the tests can use them without a licence key.
"""
