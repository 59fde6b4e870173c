"""Many parameters: an MMULT network with over 100,000 changing cells, trained from the workbook.

Excel's Solver refuses models with more than 200 changing cells. This builds a sheet (in memory, as
a `WorkbookModel`; the same cells could be saved as .xlsx) holding a two-hidden-layer network written
as legacy array formulas, `=RELU(MMULT(inputs, W1))`, `=RELU(MMULT(hidden1, W2))`,
`=MMULT(hidden2, w3)`, and a loss cell `=TORCH_MSE(predictions, targets)`; its targets come from a
random "teacher" network of the same shape so the loss can fall. The weight blocks are the changing
cells, trained by `xl_lesson3.solver.solve` (Adam). We report the time to the first step (compile
included), the time per step and the loss along the way.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from benchmarks.common import BenchConfig
from benchmarks.report import Section, Table, fmt_seconds
from xl_lesson3.workbook.address import CellAddress, RangeAddress


@dataclass(frozen=True)
class NetShape:
    rows: int  # data rows
    inputs: int
    hidden1: int
    hidden2: int

    @property
    def n_params(self) -> int:
        return self.inputs * self.hidden1 + self.hidden1 * self.hidden2 + self.hidden2


FULL = NetShape(rows=512, inputs=64, hidden1=1024, hidden2=40)  # 106,536 parameter cells
TINY = NetShape(rows=16, inputs=4, hidden1=8, hidden2=3)
SHEET = "net"
LR = 1e-3  # Adam's learning rate (the solver's default, 0.05, is meant for the Titanic sheets)


def build_network_model(shape: NetShape, seed: int = 0):
    """The network sheet as a WorkbookModel; returns (model, objective cell, weight ranges).

    Layout on sheet `net` (row 1 is free, blocks start at row 2):
    X at A2 (rows × inputs), y in the next column; W1, W2, w3 to the right; the hidden blocks and
    predictions further right; the loss in the first free column, row 2.
    """
    from xl_lesson3.workbook.model import ArrayFormula, WorkbookModel

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(shape.rows, shape.inputs))
    teacher = [
        rng.normal(size=(shape.inputs, shape.hidden1)) / math.sqrt(shape.inputs),
        rng.normal(size=(shape.hidden1, shape.hidden2)) / math.sqrt(shape.hidden1),
        rng.normal(size=(shape.hidden2, 1)) / math.sqrt(shape.hidden2),
    ]
    y = np.maximum(np.maximum(x @ teacher[0], 0) @ teacher[1], 0) @ teacher[2]
    # Student starts from He-style random weights (what a user would paste into the sheet).
    weights = [rng.normal(size=w.shape) * math.sqrt(2.0 / w.shape[0]) for w in teacher]

    col = 1
    blocks: dict[str, RangeAddress] = {}

    def place(name: str, rows: int, cols: int) -> RangeAddress:
        nonlocal col
        blocks[name] = RangeAddress(SHEET, 2, col, 1 + rows, col + cols - 1)
        col += cols + 1  # one empty column between blocks
        return blocks[name]

    cells: dict[CellAddress, float] = {}
    for name, values in (
        ("X", x),
        ("y", y),
        ("W1", weights[0]),
        ("W2", weights[1]),
        ("w3", weights[2]),
    ):
        target = place(name, *values.shape)
        for i, row in enumerate(values.tolist()):
            for j, v in enumerate(row):
                cells[CellAddress(SHEET, target.min_row + i, target.min_col + j)] = v
    h1 = place("H1", shape.rows, shape.hidden1)
    h2 = place("H2", shape.rows, shape.hidden2)
    pred = place("pred", shape.rows, 1)
    loss = CellAddress(SHEET, 2, col)
    arrays = [
        ArrayFormula(h1, f"=RELU(MMULT({blocks['X'].coordinate},{blocks['W1'].coordinate}))"),
        ArrayFormula(h2, f"=RELU(MMULT({h1.coordinate},{blocks['W2'].coordinate}))"),
        ArrayFormula(pred, f"=MMULT({h2.coordinate},{blocks['w3'].coordinate})"),
    ]
    cells[loss] = f"=TORCH_MSE({pred.coordinate},{blocks['y'].coordinate})"
    model = WorkbookModel.from_cells(cells, sheet_names=[SHEET], array_formulas=arrays)
    return model, loss, (blocks["W1"], blocks["W2"], blocks["w3"])


def run(config: BenchConfig) -> Section:
    shape = TINY if config.tiny else FULL
    steps = 5 if config.tiny else (20 if config.quick else 200)
    section = Section("many_params", "Many parameters: an MMULT network trained from the sheet")
    start = time.perf_counter()
    model, objective, changing = build_network_model(shape)
    build_s = time.perf_counter() - start
    rows, data = [], {"shape": shape.__dict__, "n_params": shape.n_params, "runs": []}
    # Warm-up (not timed): one-time imports (torch.optim pulls in torch._dynamo, seconds).
    _train(*build_network_model(TINY), "cpu", 2)
    for device in config.devices:
        run_data = _train(model, objective, changing, device, steps)
        data["runs"].append(run_data)
        curve = run_data["curve"]
        rows.append(
            [
                device,
                shape.n_params,
                fmt_seconds(run_data["first_step_s"]),
                fmt_seconds(run_data["step_s"]),
                run_data["initial"],
                run_data["final"],
                steps,
                fmt_seconds(run_data["total_s"]),
            ]
        )
        section.tables.append(
            Table(
                f"Loss curve on {device} (best loss so far; seconds since `solve` was called):",
                ["step", "loss", "seconds"],
                [[s, loss, fmt_seconds(t)] for s, loss, t in curve],
            )
        )
    section.tables.insert(
        0,
        Table(
            f"{shape.rows} data rows × {shape.inputs} inputs → {shape.hidden1} → {shape.hidden2} "
            f"→ 1, written as array formulas `RELU(MMULT(...))`, trained by "
            f'`xl_lesson3.solver.solve(method="adam", lr={LR:g}, dtype=float32)`. Building '
            f"the workbook model in memory took {fmt_seconds(build_s)}; 'first step' includes "
            "compiling the sheet.",
            [
                "device",
                "parameter cells",
                "first step",
                "time per step",
                "loss at start",
                "loss at end",
                "steps",
                "total",
            ],
            rows,
        ),
    )
    first = data["runs"][0]
    section.headlines.append(
        f"{shape.n_params:,} changing cells (Excel's Solver allows 200): "
        f"{fmt_seconds(first['step_s'])} per Adam step on {first['device']} after "
        f"{fmt_seconds(first['first_step_s'])} to compile and take the first step, loss "
        f"{first['initial']:.4g} → {first['final']:.4g} in {steps} steps."
    )
    section.data = data
    return section


def _train(model, objective, changing, device: str, steps: int) -> dict:
    """`solve` with Adam for `steps` steps, float32; the loss at a few steps and time per step."""
    import torch

    from xl_lesson3.solver import solve

    timeline: list[tuple[int, float, float]] = []  # (step, best loss so far, seconds)

    def record(progress) -> None:
        timeline.append((progress.step, progress.objective, time.perf_counter() - start))

    start = time.perf_counter()
    result = solve(
        model,
        objective=objective,
        changing=list(changing),
        goal="min",
        method="adam",
        lr=LR,
        steps=steps,
        tol=0.0,
        device=device,
        dtype=torch.float32,
        callback=record,
    )
    _sync(device)
    total = time.perf_counter() - start
    first_s = timeline[0][2]  # compile, the starting loss and the first step
    step_s = (timeline[-1][2] - first_s) / max(len(timeline) - 1, 1)
    record_at = {1, steps} | {round(steps * f) for f in (0.1, 0.25, 0.5, 0.75)}
    curve = [(0, result.initial, None)]
    curve += [(step, loss, t) for step, loss, t in timeline if step in record_at]
    return {
        "device": device,
        "first_step_s": first_s,
        "step_s": step_s,
        "total_s": total,
        "initial": result.initial,
        "final": result.final,
        "status": result.status,
        "curve": curve,
    }


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
