"""The text of the workbook's About sheet: what each sheet is and how to train it."""

from __future__ import annotations

from xl_lesson3.titanic.layout import (
    DATA_TABLE,
    INPUT_COLUMNS,
    LINEAR,
    LOSS_ROW,
    MMULT,
    NNET,
    ModelSheet,
)


def _params(layout: ModelSheet) -> str:
    return f"{layout.name}!{layout.params.coordinate}"


def about_lines(*, seed: int, n_raw: int, n_rows: int, csv_name: str) -> list[str]:
    """Title first, then one paragraph per row.

    "" is a blank row; a short line ending in ":" is a heading.
    """
    inputs = ", ".join(INPUT_COLUMNS)
    return [
        "Titanic survival in a spreadsheet (fast.ai Practical Deep Learning, lesson 3)",
        "",
        "Sheets:",
        (
            f"data: Kaggle's Titanic {csv_name}, unchanged ({n_raw} passengers), as the Excel "
            f"table '{DATA_TABLE}'."
        ),
        (
            f"linear, nnet, mmult: the {n_rows} passengers that have every column the models use "
            "(rows missing Age or Embarked removed), as an Excel table per sheet. "
            "Age_N = Age / MAX(Age) and log_Fare = LOG10(Fare+1) scale the numbers; Pclass_1, "
            "Pclass_2, Embark_S, Embark_C and Male are 0/1 dummy columns (one fewer than the "
            "categories: the left-out category is what a row of zeros means); Ones is the "
            "constant 1 that gives each unit its intercept. These are live formulas: change a "
            "value and Excel recomputes them."
        ),
        f"The model inputs are the 10 columns {inputs} (columns G:P).",
        (
            f"linear: prediction = SUMPRODUCT(inputs, params) with the params in {_params(LINEAR)} "
            "(each above the input it multiplies); loss = (prediction − Survived)^2 per row; "
            f"Total loss (B{LOSS_ROW}) = the average loss."
        ),
        (
            f"nnet: two rows of params ({_params(NNET)}) give two SUMPRODUCTs per passenger; "
            "ReLU = IF(x<0,0,x) of each; prediction = ReLU1 + ReLU2; same loss."
        ),
        (
            "mmult: the same network computed with ONE array formula, MMULT(inputs, params), "
            f"over all rows at once, with the params as a 10×2 block ({_params(MMULT)}: nnet's "
            "two rows as columns, so it starts with the same loss as nnet); then ReLU, sum and "
            "loss as in nnet."
        ),
        "",
        "Parameters:",
        (
            f"The parameters start as =RAND()-0.5 values, frozen so the file is reproducible: "
            f"drawn by numpy with seed {seed} (xl-lesson3 build titanic --seed {seed}). Light "
            f"yellow cells are parameters; the orange cell B{LOSS_ROW} is the total loss."
        ),
        "",
        "How to train:",
        (
            "In Excel: Data ▸ Solver (enable it once under File ▸ Options ▸ Add-ins ▸ Solver "
            "Add-in). Each model sheet stores its Solver model, so the dialog opens filled in: "
            f"minimise $B${LOSS_ROW} by changing the parameter cells, GRG Nonlinear, 'Make "
            "Unconstrained Variables Non-Negative' unticked. Press Solve, as in the lesson."
        ),
        (
            "With this project (PyTorch, gradient descent, CPU or GPU): "
            "xl-lesson3 solve workbooks/titanic.xlsx --sheet nnet  (or --sheet linear / mmult). "
            "It reads the same Solver model and writes the trained parameters back into this file."
        ),
    ]
