"""The where-users-wait benchmarks at their smallest sizes: they run, and both sides of each
comparison did the same work (timings are never asserted)."""

from __future__ import annotations

import math

import openpyxl
import pytest
import torch

from benchmarks import big_xlsx, end_to_end
from benchmarks.common import BenchConfig
from benchmarks.hand_nnet import nnet_objective, read_sheet
from benchmarks.workbooks import replicated_nnet_model, titanic_path, write_nnet_xlsx
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.solver.problem import build_problem
from xl_lesson3.workbook import load_aside
from xl_lesson3.workbook.address import CellAddress

TINY = BenchConfig(tiny=True)


def test_hand_objective_matches_the_compiled_sheet():
    """The floor computes the sheet's own loss, value and gradient, at random weights."""
    path = titanic_path(TINY)
    problem = build_problem(path, sheet="nnet")
    program = compile_program(problem.workbook, problem.model.objective, problem.variables)
    inputs, targets, initial = read_sheet(path)
    assert torch.allclose(initial, program.initial)
    hand = nnet_objective(inputs, targets)
    params = (
        torch.rand(5, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64) - 0.5
    ).requires_grad_(True)
    ours_loss, hand_loss = program(params), hand(params)
    assert torch.allclose(ours_loss, hand_loss, rtol=1e-12, atol=0)
    (ours_grad,) = torch.autograd.grad(ours_loss.sum(), params)
    (hand_grad,) = torch.autograd.grad(hand_loss.sum(), params)
    assert torch.allclose(ours_grad, hand_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.slow
def test_end_to_end_compares_like_with_like():
    section = end_to_end.run(TINY)
    assert section.status == "ok"
    process = section.data["process"]
    assert process["ours_steps"] == process["hand_steps"]
    assert process["ours_loss"] == pytest.approx(process["hand_loss"], rel=1e-6)
    for loop in section.data["loops"]:
        assert loop["ours"]["loss"] == pytest.approx(loop["hand"]["loss"], rel=1e-6)
        assert math.isfinite(loop["ratio"]) and loop["ratio"] > 0


def test_written_xlsx_holds_the_sheet_and_its_table(tmp_path):
    model, objective, _ = replicated_nnet_model(40)
    path = write_nnet_xlsx(tmp_path / "nnet.xlsx", 40)
    ws = openpyxl.load_workbook(path)["nnet"]
    assert ws["B2"].value == model.cell(objective).formula
    assert ws["Q45"].value == model.cell(CellAddress("nnet", 45, 17)).formula
    (table,) = ws.tables.values()
    assert table.ref == "A5:V45"
    assert [c.name for c in table.tableColumns][:3] == ["Survived", "Embarked", "Pclass"]


@pytest.mark.slow
def test_big_xlsx_stages_run_on_a_tiny_file():
    section = big_xlsx.run(TINY)
    assert section.status == "ok"
    (run,) = section.data["runs"]
    assert run["rows"] == big_xlsx.SIZES["tiny"][0]
    assert run["steps_done"] == big_xlsx.STEPS and math.isfinite(run["loss"])
    stages = ("read", "compile", "steps", "recalc", "verify", "startup", "startup_read", "command")
    assert all(run[stage] > 0 for stage in stages)
    # the benchmark's own process has torch imported; its start-up-and-read process must not
    assert run["read_aside"] is (load_aside.usable_cores() >= 2)
    assert run["spliced"]  # the write-back took the path the command takes on such a book
    # the write-back changes the 20 parameters, B2, both hidden units of every row (their
    # "Ones" input moves them) and, where a ReLU is active, the cells that follow (6 per row)
    rows = big_xlsx.SIZES["tiny"][0]
    assert 21 + 2 * rows <= run["cells_written"] <= 21 + 6 * rows
