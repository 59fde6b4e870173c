"""The ribbon's macros: Python functions that take the calling `xlwings.Book`.

Each one reads the workbook into the engine's model (`xl_lesson3.workbook.load_xlwings`), calls
the core (`xl_lesson3.addin.workflow`, the engine, the solver) and writes results back through
xlwings. With xlwings Server the writes are recorded as actions that the add-in applies in
Excel when the script returns; with desktop Excel they happen at once.

`formulas` is the formula payload the Lesson 3 ribbon sends (xlwings Server's own payload has
values only); with desktop Excel leave it out and the formulas are read from the book.

The buttons: Solve, Reset parameters, Evaluate, Build Titanic sheets, Loss chart. From desktop
Excel's VBA: ``RunPython "import udfs.macros; udfs.macros.run('solve')"``.

Every macro goes through `udfs.excel.excel_call`: the project's errors reach Excel as their
message (HTTP 400 on xlwings Server, shown by the ribbon), and on the server the work runs in the
worker pool. Solve runs as a job (`xl_lesson3.addin.jobs`): the task pane polls its progress by
the `job_id` the ribbon sends, Cancel stops it within a step, and a time limit (the Solver
model's Max Time, else five minutes) keeps the best point found so far.
"""

from __future__ import annotations

import secrets

import xlwings as xw

from udfs.excel import excel_call
from xl_lesson3.addin import workflow
from xl_lesson3.addin.jobs import JOBS, current_job
from xl_lesson3.errors import BadInputError, SolverError, located
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load_xlwings import load_book

HISTORY_SHEET = "Loss history"
SOLVE_TITLE = "xl-lesson3: last Solve"
EVALUATE_TITLE = "xl-lesson3: Evaluate"
RESET_TITLE = "xl-lesson3: last Reset"
LOSS_CHART = "Lesson 3 loss"  # the one chart the Loss chart button keeps up to date


@xw.script
@excel_call
def solve(
    book: xw.Book,
    formulas: list | None = None,
    job_id: str | None = None,
    steps: int | None = None,
    lr: float | None = None,
):
    """Train the active sheet's Solver model (or the selected cells) and write the result back.

    `job_id`: the name the task pane polls for progress and cancels by. `steps`, `lr`: the
    solver's step budget and learning rate; the ribbon leaves them to the Solver options and
    the solver's defaults for its method.
    """
    job = current_job() or JOBS.start(job_id)
    model = load_book(book, formulas)
    sheet = book.sheets.active
    target = workflow.find_target(model, sheet.name, _selection(book))
    status = _StatusBar(book)
    status.show(f"Lesson 3: solving {target.sheet} ({len(target.variables)} parameters)...")
    result = workflow.train(
        model,
        target,
        steps=None if steps is None else int(steps),
        lr=None if lr is None else float(lr),
        progress=status.show,
        job=job,
    )
    if result.failed:
        raise SolverError(located(str(target.objective), f"Solve failed: {result.status}"))
    _write_values(book, result.values, target.areas)
    _write_block(
        book,
        model,
        target.sheet,
        SOLVE_TITLE,
        [
            ("Objective", str(target.objective)),
            ("Parameters", f"{len(target.variables)} ({target.source})"),
            ("Loss before", result.initial),
            ("Loss after", result.final),
            ("Steps", result.iterations),
            ("Method", f"{result.method}, {result.restarts} starts"),
            ("Status", result.status),
            ("Device", result.device),
            ("Seconds", round(result.seconds, 2)),
        ],
    )
    _write_history(book, result.history)
    sheet.activate()  # desktop Excel activates a newly added history sheet
    status.show(
        f"Lesson 3: loss {result.initial:.6g} -> {result.final:.6g} "
        f"in {result.iterations} steps ({result.seconds:.1f} s)"
    )
    return book


@xw.script
@excel_call
def reset_parameters(book: xw.Book, formulas: list | None = None, seed: int | None = None):
    """Set the changing cells to RAND()-0.5 values, as the lesson does, and show the seed.

    `seed`: None (the ribbon's default) draws a new seed each click; the seed used is written
    beside the parameters, so a start can be repeated by passing it.
    """
    model = load_book(book, formulas)
    target = workflow.find_target(model, book.sheets.active.name, _selection(book))
    seed = secrets.randbelow(2**31) if seed is None or seed == "" else _whole(seed, "seed")
    _write_values(book, workflow.reset_values(target, seed), target.areas)
    _write_block(book, model, target.sheet, RESET_TITLE, [("Seed", seed)])
    return book


def _whole(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise BadInputError(f"{name}: expected a whole number, got {value!r}")
    return int(value)


@xw.script
@excel_call
def evaluate(book: xw.Book, formulas: list | None = None):
    """Write the total loss and the accuracy at a 0.5 threshold into a labelled block."""
    model = load_book(book, formulas)
    target = workflow.find_target(model, book.sheets.active.name, _selection(book))
    result = workflow.evaluate_target(model, target)
    accuracy = "n/a (no Pred/Survived columns)" if result.accuracy is None else result.accuracy
    _write_block(
        book,
        model,
        target.sheet,
        EVALUATE_TITLE,
        [
            ("Total loss", result.loss),
            ("Accuracy (pred >= 0.5)", accuracy),
            ("Rows", result.n_rows),
        ],
    )
    return book


@xw.script
@excel_call
def build_titanic_sheets(book: xw.Book, formulas: list | None = None):
    """Add the lesson's Titanic sheets (data, linear, nnet, mmult, About) to this workbook."""
    from xl_lesson3.addin.titanic_sheets import titanic_sheet_contents
    from xl_lesson3.titanic.layout import SHEETS

    existing = {sheet.name for sheet in book.sheets}
    clashes = [name for name in SHEETS if name in existing]
    if clashes:
        raise BadInputError(
            f"{', '.join(clashes)}: sheet(s) already in this workbook; "
            "rename or delete them first, or use a new workbook"
        )
    contents = titanic_sheet_contents()
    last = book.sheets[len(book.sheets) - 1]
    for name in contents.sheet_names:
        last = book.sheets.add(name=name, after=last)
    for name in contents.sheet_names:
        sheet = book.sheets[name]
        for area, rows in contents.values[name]:
            sheet.range(area.coordinate).value = rows
        for table in contents.tables[name]:
            sheet.tables.add(source=sheet.range(table.ref.coordinate), name=table.name)
        for area, rows in contents.formulas[name]:
            # formula2: dynamic-array Excel would otherwise add "@" (=@MMULT(...), one cell)
            sheet.range(area.coordinate).formula2 = rows
    for scope, name, text in contents.names:
        owner = book if scope is None else book.sheets[scope]
        _hide_solver_name(owner.names.add(name, "=" + text))
    book.sheets[contents.sheet_names[0]].activate()
    return book


@xw.script
@excel_call
def loss_chart(book: xw.Book, formulas: list | None = None):
    """Chart the loss history of the last Solve ("Loss history" sheet) in its one chart.

    The chart is named `LOSS_CHART`: a second click points it at the current history instead
    of adding another chart.
    """
    names = [sheet.name for sheet in book.sheets]
    if HISTORY_SHEET not in names:
        raise BadInputError(f"{HISTORY_SHEET}: no such sheet; press Solve first")
    sheet = book.sheets[HISTORY_SHEET]
    used = sheet.used_range
    source = sheet.range((1, 1), (used.row + used.shape[0] - 1, 2))
    existing = [chart for chart in sheet.charts if chart.name == LOSS_CHART]
    if existing:
        existing[0].set_source_data(source)
    else:
        chart = sheet.charts.add(left=200, top=10, width=480, height=300, name=LOSS_CHART)
        chart.chart_type = "line"
        chart.set_source_data(source)
    sheet.activate()
    return book


def run(name: str) -> None:
    """Run macro `name` on the workbook that called Python (desktop Excel's RunPython)."""
    macros = {
        "solve": solve,
        "reset_parameters": reset_parameters,
        "evaluate": evaluate,
        "build_titanic_sheets": build_titanic_sheets,
        "loss_chart": loss_chart,
    }
    if name not in macros:
        raise xw.XlwingsError(f"{name}: no such macro (macros: {', '.join(macros)})")
    macros[name](xw.Book.caller())


def _hide_solver_name(name) -> None:
    """Hide a ``solver_*`` name as Excel's Solver does (desktop Excel; on Office.js the ribbon
    script hides them after the script's actions are applied)."""
    if not name.name.split("!")[-1].lower().startswith("solver_"):
        return
    try:
        name.api.Visible = False
    except (NotImplementedError, AttributeError):
        pass


class _StatusBar:
    """Progress in Excel's status bar where the connection has one (desktop Excel)."""

    def __init__(self, book) -> None:
        self.book = book
        self.enabled = True

    def show(self, message: str) -> None:
        if not self.enabled:
            return
        try:
            self.book.app.status_bar = message
        except NotImplementedError:  # xlwings Server: Office.js has no status bar
            self.enabled = False


def _selection(book) -> RangeAddress | None:
    rng = book.selection
    if rng is None:
        return None
    rows, cols = rng.shape
    return RangeAddress(
        rng.sheet.name, rng.row, rng.column, rng.row + rows - 1, rng.column + cols - 1
    )


def _write_values(book, values: dict[CellAddress, float], areas) -> None:
    for area, rows in workflow.areas_of(values, areas):
        book.sheets[area.sheet].range(area.coordinate).value = rows


def _write_block(book, model, sheet: str, title: str, rows: list[tuple[str, object]]) -> None:
    block = workflow.result_block(model, sheet, title, len(rows) + 1)
    content = [[title, None], *[[label, value] for label, value in rows]]
    book.sheets[sheet].range(block.coordinate).value = content


def _write_history(book, history) -> None:
    names = [sheet.name for sheet in book.sheets]
    if HISTORY_SHEET in names:
        sheet = book.sheets[HISTORY_SHEET]
        sheet.clear_contents()
    else:
        sheet = book.sheets.add(name=HISTORY_SHEET, after=book.sheets[len(names) - 1])
    rows = [["Step", "Loss"], *[[step, loss] for step, loss in enumerate(history)]]
    sheet.range((1, 1), (len(rows), 2)).value = rows
