"""Many parameters: an MMULT network with over 100,000 changing cells, trained from the workbook.

Excel's Solver refuses models with more than 200 changing cells. This builds a sheet (in memory, as
a `WorkbookModel`; the same cells could be saved as .xlsx) holding a two-hidden-layer network written
as legacy array formulas, `=RELU(MMULT(inputs, W1))`, `=RELU(MMULT(hidden1, W2))`,
`=MMULT(hidden2, w3)`, and a loss cell `=TORCH_MSE(predictions, targets)`; its targets come from a
random "teacher" network of the same shape so the loss can fall. The weight blocks are the changing
cells. We report compile time, time per Adam step and the loss along the way.
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
    weights = [
        rng.normal(size=w.shape) * math.sqrt(2.0 / w.shape[0]) for w in teacher
    ]

    col = 1
    blocks: dict[str, RangeAddress] = {}

    def place(name: str, rows: int, cols: int) -> RangeAddress:
        nonlocal col
        blocks[name] = RangeAddress(SHEET, 2, col, 1 + rows, col + cols - 1)
        col += cols + 1  # one empty column between blocks
        return blocks[name]

    cells: dict[CellAddress, float] = {}
    for name, values in (("X", x), ("y", y), ("W1", weights[0]), ("W2", weights[1]),
                         ("w3", weights[2])):
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
    steps = 5 if config.tiny else (30 if config.quick else 200)
    section = Section("many_params", "Many parameters: an MMULT network trained from the sheet")
    start = time.perf_counter()
    model, objective, changing = build_network_model(shape)
    build_s = time.perf_counter() - start
    rows, data = [], {"shape": shape.__dict__, "n_params": shape.n_params, "runs": []}
    for device in config.devices:
        run_data = _train(model, objective, changing, device, steps)
        data["runs"].append(run_data)
        curve = run_data["curve"]
        rows.append([
            device, shape.n_params, fmt_seconds(run_data["compile_s"]),
            fmt_seconds(run_data["step_s"]), curve[0][1], curve[-1][1], steps,
        ])
        section.tables.append(
            Table(
                f"Loss curve on {device} (step, loss):",
                ["step", "loss", "seconds"],
                [[s, loss, fmt_seconds(t)] for s, loss, t in curve],
            )
        )
    section.tables.insert(
        0,
        Table(
            f"{shape.rows} data rows × {shape.inputs} inputs → {shape.hidden1} → {shape.hidden2} "
            f"→ 1, written as array formulas `RELU(MMULT(...))`; Adam, lr 1e-3, float32. "
            f"Building the workbook model in memory took {fmt_seconds(build_s)}.",
            ["device", "parameter cells", "compile", "time per step", "loss at start",
             "loss at end", "steps"],
            rows,
        ),
    )
    first = data["runs"][0]
    section.headlines.append(
        f"{shape.n_params:,} changing cells (Excel's Solver allows 200): "
        f"{fmt_seconds(first['step_s'])} per Adam step on {first['device']}, loss "
        f"{first['curve'][0][1]:.4g} → {first['curve'][-1][1]:.4g} in {steps} steps."
    )
    section.data = data
    return section


def _train(model, objective, changing, device: str, steps: int) -> dict:
    """Compile, then `steps` Adam steps; the loss at a few steps and the mean time per step."""
    import torch

    from xl_lesson3.formula.compile import compile_program

    variables = [cell for rng in changing for cell in rng.cells()]
    start = time.perf_counter()
    program = compile_program(model, objective, variables, device=device, dtype=torch.float32)
    _sync(device)
    compile_s = time.perf_counter() - start
    params = program.initial.detach().clone().to(device).unsqueeze(0).requires_grad_(True)
    optimizer = torch.optim.Adam([params], lr=1e-3)
    record = {0, steps} | {round(steps * f) for f in (0.1, 0.25, 0.5, 0.75)}
    curve = []
    start = time.perf_counter()
    for step in range(steps + 1):
        optimizer.zero_grad()
        loss = program(params).sum()
        if step in record:
            curve.append((step, float(loss.detach()), time.perf_counter() - start))
        if step == steps:
            break
        loss.backward()
        optimizer.step()
    _sync(device)
    elapsed = time.perf_counter() - start
    return {
        "device": device,
        "compile_s": compile_s,
        "step_s": elapsed / max(steps, 1),
        "curve": curve,
    }


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
