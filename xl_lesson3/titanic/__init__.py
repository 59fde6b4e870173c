"""The lesson's Titanic workbook: Kaggle's passengers, a linear model and a small neural net.

`xl_lesson3.titanic.builder.build_titanic_workbook` writes it; `layout` says where every cell
is; `data` reads and cleans the CSV; `models` computes the cached values with numpy. This
``__init__`` stays free of heavy imports so ``xl-lesson3 --help`` stays fast.
"""

DEFAULT_SEED = 42  # the seed of the committed workbooks/titanic.xlsx

__all__ = ["DEFAULT_SEED"]
